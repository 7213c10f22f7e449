// Standalone exclusive scan for larger bs: one block, Blelloch over the slots, then each slot is expanded back into
// its kChunk offsets. Every inclusive prefix is checked: with non-negative lengths below 2^31 the first prefix that
// passes INT32_MAX is negative as an int32, so a set sign bit anywhere means the total overflowed.
extern "C" __global__ void __launch_bounds__(kThreads)
    draftjit_scan(const int* __restrict__ ext, const int* __restrict__ seq, int bs, long long capacity,
                  int* __restrict__ offsets, int* __restrict__ d_total, int* __restrict__ d_status) {
  __shared__ unsigned s_scan[kSlots];
  __shared__ unsigned s_total;
  __shared__ int s_status;
  if (threadIdx.x == 0) s_status = 0;
  int bits = block_scan_to_shared(ext, seq, bs, s_scan, &s_total, nullptr);

  int wrapped = 0;
  for (int j = threadIdx.x; j < kSlots; j += kThreads) {
    unsigned running = s_scan[slot_index(j)];
#pragma unroll
    for (int k = 0; k < kChunk; ++k) {
      const int i = j * kChunk + k;
      if (i < bs) {
        offsets[i] = static_cast<int>(running);
        running += ext[i];
        wrapped |= static_cast<int>(running);
      }
    }
  }
  if (wrapped < 0) bits |= kStatusTotalOverflow;
  if (bits != 0) atomicOr(&s_status, bits);
  __syncthreads();
  if (threadIdx.x == 0) {
    offsets[bs] = static_cast<int>(s_total);
    if (d_total != nullptr) *d_total = static_cast<int>(s_total);
    if (d_status != nullptr) *d_status = finalize_status(s_status, s_total, capacity);
  }
}
