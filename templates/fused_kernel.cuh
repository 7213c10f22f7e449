// Scan and fill in one launch. Every block scans the (small) request arrays into its own shared memory, so no block
// waits on another; block 0 publishes total, status and the optional offsets. Outputs are written only when the
// status is clean, and never at or past `capacity`.
extern "C" __global__ void __launch_bounds__(kThreads)
    draftjit_fused(const int* __restrict__ ext, const int* __restrict__ seq, int bs, int topk,
                   int* __restrict__ out_expanded, int* __restrict__ out_cache, long long capacity,
                   int* __restrict__ d_total, int* __restrict__ d_status, int* __restrict__ d_offsets) {
  static_assert(kChunk == 1, "the fused kernel keeps one slot per request");
  __shared__ unsigned s_scan[kSlots];
  __shared__ int s_first[kSlots];  // seq_lens[b] - extend_seq_lens[b] + 1
  __shared__ unsigned s_total;
  __shared__ int s_status;
  if (threadIdx.x == 0) s_status = 0;
  int bits = block_scan_to_shared(ext, seq, bs, s_scan, &s_total, s_first);
  const unsigned total = s_total;

  // Slots hold every inclusive prefix (slot j + 1 is request j's, the total covers the last), so a sign bit in any
  // of them means the int32 total overflowed. Order does not matter here, so the physical layout is read as is.
  int wrapped = static_cast<int>(total);
  for (int j = threadIdx.x; j < kSlots; j += kThreads) wrapped |= static_cast<int>(s_scan[j]);
  if (wrapped < 0) bits |= kStatusTotalOverflow;
  if (bits != 0) atomicOr(&s_status, bits);
  __syncthreads();
  const int status = finalize_status(s_status, total, capacity);

  if (blockIdx.x == 0) {
    if (threadIdx.x == 0) {
      *d_total = static_cast<int>(total);
      *d_status = status;
    }
    if (d_offsets != nullptr) {
      for (int j = threadIdx.x; j <= bs; j += kThreads) {
        d_offsets[j] = static_cast<int>(j < bs ? s_scan[slot_index(j)] : total);
      }
    }
  }
  if (status != 0) return;

  const unsigned stride = gridDim.x * kThreads;
  for (unsigned t = blockIdx.x * kThreads + threadIdx.x; t < total; t += stride) {
    const int b = find_slot(s_scan, t);
    write_token(s_first[b], static_cast<int>(t - s_scan[slot_index(b)]), topk, t, out_expanded, out_cache);
  }
}
