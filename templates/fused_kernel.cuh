// The draft-extend step's scan and fill in one launch, over any scan type of unrolled_scan.cuh or blelloch_scan.cuh.
// Every block scans the (small) request arrays into its own shared memory, so no block waits on another; block 0
// publishes total, status and the optional offsets. Outputs are written only when the status is clean, and never at
// or past `capacity`.
//
// The rules of the draft-extend kernels, which scan_kernel.cuh and fill_kernel.cuh (the two-kernel path) follow too,
// through the helpers of common.cuh, over the bits of kernel_params.cuh:
// - request b earns kStatusNegativeExtendLen for extend_seq_lens[b] < 0 and kStatusSeqLenBelowExtend for
//   seq_lens[b] < extend_seq_lens[b];
// - kStatusTotalOverflow when the int32 total wraps, dropped when a length is negative (the sum then proves nothing);
// - kStatusCapacityExceeded when the total passes `capacity`, only over a trustworthy total (no negative length, no
//   overflow);
// - the fill: token t, number l of request b's tokens, gets out_expanded[t] = seq_lens[b] - extend_seq_lens[b] + 1 + l
//   and out_cache[t] = min(out_expanded[t], topk).
#ifndef DRAFTJIT_FUSED_KERNEL_CUH
#define DRAFTJIT_FUSED_KERNEL_CUH

#include "common.cuh"

namespace draftjit_kernels {

template <class Scan>
__device__ __forceinline__ void fused_kernel(const FusedParams& p) {
  static_assert(Scan::kChunk == 1, "the fused kernel keeps one slot per request");
  __shared__ unsigned s_slots[Scan::kSlots];
  __shared__ int s_fill_base[Scan::kSlots];  // seq_lens[b] - extend_seq_lens[b] + 1, at Scan::slot(b)
  __shared__ unsigned s_total;
  __shared__ int s_status;
  if (threadIdx.x == 0) s_status = 0;
  int bits = 0;
  Scan::block_exclusive(p.ext, p.bs, s_slots, &s_total, [&](int i, int ext) {
    const int seq = __ldg(&p.seq[i]);
    bits |= request_bits(ext, seq);
    s_fill_base[Scan::slot(i)] = seq - ext + 1;
  });
  __syncthreads();
  const unsigned total = s_total;

  // Slots hold every inclusive prefix (slot j + 1 is request j's, the total covers the last), so a sign bit in any
  // of them means the int32 total overflowed. Order does not matter here, so the physical layout is read as is.
  int wrapped = static_cast<int>(total);
  for (int j = threadIdx.x; j < Scan::kSlots; j += Scan::kThreads) wrapped |= static_cast<int>(s_slots[j]);
  if (wrapped < 0) bits |= kStatusTotalOverflow;
  if (bits != 0) atomicOr(&s_status, bits);
  __syncthreads();
  const int status = check_capacity(finalize_status(s_status), total, p.capacity);

  if (blockIdx.x == 0) {
    if (threadIdx.x == 0) {
      *p.total = static_cast<int>(total);
      *p.status = status;
    }
    if (p.offsets != nullptr) {
      for (int j = threadIdx.x; j <= p.bs; j += Scan::kThreads) {
        p.offsets[j] = static_cast<int>(j < p.bs ? s_slots[Scan::slot(j)] : total);
      }
    }
  }
  if (status != 0) return;
  // One thread per token; its request comes from the search over the block's own scan.
  const unsigned stride = gridDim.x * Scan::kThreads;
  for (unsigned t = blockIdx.x * Scan::kThreads + threadIdx.x; t < total; t += stride) {
    const int b = find_slot<Scan>(s_slots, t);
    write_token(s_fill_base[Scan::slot(b)], static_cast<int>(t - s_slots[Scan::slot(b)]), p.topk, t,
                p.out_expanded, p.out_cache);
  }
}

}  // namespace draftjit_kernels

#endif  // DRAFTJIT_FUSED_KERNEL_CUH
