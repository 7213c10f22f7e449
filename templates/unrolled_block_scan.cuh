// Block-level scan for small bs: thread 0 runs the generated, fully unrolled prefix (all loads issued before the
// first add, no loop) while every thread, thread 0 included afterwards, checks its requests and writes their fill
// bases (one request per thread up to kThreads). Only the prefix is sequential: the checks and the seq loads used
// to ride on thread 0 too, tripling its chain (docs/PERF.md, tuning step 15). Overflow is the caller's to detect,
// from the signs of the finished slots.
__device__ __forceinline__ int block_scan_to_shared(const int* __restrict__ ext, const int* __restrict__ seq, int bs,
                                                    unsigned* s_scan, unsigned* s_total, int* s_fill_base) {
  if (threadIdx.x == 0) unrolled_prefix(ext, s_scan, s_total);
  int bits = 0;
  constexpr int kPerThread = (kSlots + kThreads - 1) / kThreads;  // kSlots >= bs: a bound known at compile time
#pragma unroll
  for (int p = 0; p < kPerThread; ++p) {
    const int i = threadIdx.x + p * kThreads;
    if (i >= bs) break;
    const int e = __ldg(&ext[i]);
    const int q = __ldg(&seq[i]);
    if (e < 0) bits |= kStatusNegativeExtendLen;
    if (q < e) bits |= kStatusSeqLenBelowExtend;
    s_fill_base[i] = q - e + 1;
  }
  __syncthreads();
  return bits;
}
