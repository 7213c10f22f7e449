// Block-level scan for small bs: thread 0 runs the generated, fully unrolled unrolled_scan (all loads issued before
// the first add, no loop), the other threads wait at the barrier. Cheaper than a tree scan's barriers for small bs.
__device__ __forceinline__ int block_scan_to_shared(const int* __restrict__ ext, const int* __restrict__ seq, int,
                                                    unsigned* s_scan, unsigned* s_total, int* s_fill_base) {
  int bits = 0;
  if (threadIdx.x == 0) bits = unrolled_scan(ext, seq, s_scan, s_total, s_fill_base);
  __syncthreads();
  return bits;
}
