// Standalone exclusive scan for larger bs: one block, Blelloch over the slots, then each slot is expanded back into
// its kChunk offsets. Every inclusive prefix is checked: with non-negative lengths below 2^31 the first prefix that
// passes INT32_MAX is negative as an int32, so a set sign bit anywhere means the total overflowed.
__device__ __forceinline__ int expand_slots(const int* __restrict__ ext, int bs, const unsigned* s_scan,
                                            int* __restrict__ offsets) {
  int wrapped = 0;
  for (int j = threadIdx.x; j < kSlots; j += kThreads) {
    unsigned running = s_scan[slot_index(j)];
#pragma unroll
    for (int k = 0; k < kChunk; ++k) {
      const int i = j * kChunk + k;
      if (i < bs) {
        offsets[i] = static_cast<int>(running);
        running += __ldg(&ext[i]);
        wrapped |= static_cast<int>(running);
      }
    }
  }
  return wrapped < 0 ? kStatusTotalOverflow : 0;
}

extern "C" __global__ void __launch_bounds__(kThreads) draftjit_scan(const draftjit_kernels::ScanParams p) {
  __shared__ unsigned s_scan[kSlots];
  __shared__ unsigned s_total;
  __shared__ int s_status;
  if (threadIdx.x == 0) s_status = 0;
  int bits = block_scan_to_shared(p.ext, p.seq, p.bs, s_scan, &s_total, nullptr);
  bits |= expand_slots(p.ext, p.bs, s_scan, p.offsets);
  if (bits != 0) atomicOr(&s_status, bits);
  __syncthreads();
  if (threadIdx.x == 0) {
    p.offsets[p.bs] = static_cast<int>(s_total);
    if (p.total != nullptr) *p.total = static_cast<int>(s_total);
    if (p.status != nullptr) *p.status = finalize_status(s_status, s_total, p.capacity);
  }
}
