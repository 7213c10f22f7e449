// Scan and fill in one launch. Every block scans the (small) request arrays into its own shared memory, so no block
// waits on another; block 0 publishes total, status and the optional offsets. Outputs are written only when the
// status is clean, and never at or past `capacity`.

// One thread per token; its request comes from the slot search over the block's own scan.
__device__ __forceinline__ void fill_from_shared(const unsigned* s_scan, const int* s_fill_base, unsigned total,
                                                 int topk, int* __restrict__ out_expanded,
                                                 int* __restrict__ out_cache) {
  const unsigned stride = gridDim.x * kThreads;
  for (unsigned t = blockIdx.x * kThreads + threadIdx.x; t < total; t += stride) {
    const int b = find_slot(s_scan, t);
    write_token(s_fill_base[b], static_cast<int>(t - s_scan[slot_index(b)]), topk, t, out_expanded, out_cache);
  }
}

extern "C" __global__ void __launch_bounds__(kThreads) draftjit_fused(const draftjit_kernels::FusedParams p) {
  static_assert(kChunk == 1, "the fused kernel keeps one slot per request");
  __shared__ unsigned s_scan[kSlots];
  __shared__ int s_fill_base[kSlots];  // seq_lens[b] - extend_seq_lens[b] + 1
  __shared__ unsigned s_total;
  __shared__ int s_status;
  if (threadIdx.x == 0) s_status = 0;
  int bits = block_scan_to_shared(p.ext, p.seq, p.bs, s_scan, &s_total, s_fill_base);
  const unsigned total = s_total;

  // Slots hold every inclusive prefix (slot j + 1 is request j's, the total covers the last), so a sign bit in any
  // of them means the int32 total overflowed. Order does not matter here, so the physical layout is read as is.
  int wrapped = static_cast<int>(total);
  for (int j = threadIdx.x; j < kSlots; j += kThreads) wrapped |= static_cast<int>(s_scan[j]);
  if (wrapped < 0) bits |= kStatusTotalOverflow;
  if (bits != 0) atomicOr(&s_status, bits);
  __syncthreads();
  const int status = finalize_status(s_status, total, p.capacity);

  if (blockIdx.x == 0) {
    if (threadIdx.x == 0) {
      *p.total = static_cast<int>(total);
      *p.status = status;
    }
    if (p.offsets != nullptr) {
      for (int j = threadIdx.x; j <= p.bs; j += kThreads) {
        p.offsets[j] = static_cast<int>(j < p.bs ? s_scan[slot_index(j)] : total);
      }
    }
  }
  if (status != 0) return;
  fill_from_shared(s_scan, s_fill_base, total, p.topk, p.out_expanded, p.out_cache);
}
