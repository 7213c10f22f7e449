// The exclusive scan alone, into global memory: the first kernel of the two-kernel path (seq set: the draft-extend
// checks and the capacity) and exclusive_offsets (seq null: lengths alone). A sequential scan type runs in one
// thread straight into the offsets; a block scan goes through shared memory and is expanded by every thread.
#ifndef DRAFTJIT_SCAN_KERNEL_CUH
#define DRAFTJIT_SCAN_KERNEL_CUH

#include "common.cuh"

namespace draftjit_kernels {

// The bits of request i of a scan. Without seq, ext is read in its place, which passes the seq check: every load is
// then unconditional and can be in flight with the others (a load behind a per-request null check waits for each in
// turn).
__device__ __forceinline__ int scan_request_bits(const ScanParams& p, int i, int ext) {
  const int* seq = p.seq != nullptr ? p.seq : p.ext;
  return request_bits(ext, __ldg(&seq[i]));
}

__device__ __forceinline__ void publish_scan(const ScanParams& p, int bits, unsigned total) {
  if (p.total != nullptr) *p.total = static_cast<int>(total);
  if (p.status != nullptr) {
    const int status = finalize_status(bits);
    *p.status = p.seq != nullptr ? check_capacity(status, total, p.capacity) : status;
  }
}

// Every slot's kChunk offsets from its prefix, and the overflow bit from the sign of every inclusive prefix: with
// non-negative lengths below 2^31 the first prefix that passes INT32_MAX is negative as an int32.
template <class Scan>
__device__ __forceinline__ int expand_slots(const int* __restrict__ ext, int bs, const unsigned* slots,
                                            int* __restrict__ offsets) {
  int wrapped = 0;
  for (int j = threadIdx.x; j < Scan::kSlots; j += Scan::kThreads) {
    unsigned running = slots[Scan::slot(j)];
#pragma unroll
    for (int k = 0; k < Scan::kChunk; ++k) {
      const int i = j * Scan::kChunk + k;
      if (i < bs) {
        offsets[i] = static_cast<int>(running);
        running += static_cast<unsigned>(__ldg(&ext[i]));
        wrapped |= static_cast<int>(running);
      }
    }
  }
  return wrapped < 0 ? kStatusTotalOverflow : 0;
}

template <class Scan>
__device__ __forceinline__ void scan_kernel(const ScanParams& p) {
  if constexpr (Scan::kSequential) {
    unsigned total;
    int bits = 0;
    const int wrapped = Scan::template exclusive<Scan::kBs + 1>(
        p.ext, reinterpret_cast<unsigned*>(p.offsets), &total,
        [&](int i, int ext) { bits |= scan_request_bits(p, i, ext); });
    publish_scan(p, bits | (wrapped < 0 ? kStatusTotalOverflow : 0), total);
  } else {
    __shared__ unsigned s_slots[Scan::kSlots];
    __shared__ unsigned s_total;
    __shared__ int s_status;
    if (threadIdx.x == 0) s_status = 0;
    int bits = 0;
    Scan::block_exclusive(p.ext, p.bs, s_slots, &s_total,
                          [&](int i, int ext) { bits |= scan_request_bits(p, i, ext); });
    __syncthreads();
    bits |= expand_slots<Scan>(p.ext, p.bs, s_slots, p.offsets);
    if (bits != 0) atomicOr(&s_status, bits);
    __syncthreads();
    if (threadIdx.x == 0) {
      p.offsets[p.bs] = static_cast<int>(s_total);
      publish_scan(p, s_status, s_total);
    }
  }
}

}  // namespace draftjit_kernels

#endif  // DRAFTJIT_SCAN_KERNEL_CUH
