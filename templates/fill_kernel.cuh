// The fill of the two-kernel path (bs too large for one block's shared memory): offsets come from the scan kernel in
// global memory, and each token finds its request by binary search over them.
#ifndef DRAFTJIT_FILL_KERNEL_CUH
#define DRAFTJIT_FILL_KERNEL_CUH

#include "common.cuh"

namespace draftjit_kernels {

template <int THREADS>
__device__ __forceinline__ void fill_kernel(const FillParams& p) {
  if (__ldg(p.status) != 0) return;
  const unsigned total = static_cast<unsigned>(__ldg(&p.offsets[p.bs]));
  const unsigned stride = gridDim.x * THREADS;
  for (unsigned t = blockIdx.x * THREADS + threadIdx.x; t < total; t += stride) {
    int lo = 0;
    int hi = p.bs;  // offsets[lo] <= t < offsets[hi]
    while (hi - lo > 1) {
      const int mid = (lo + hi) / 2;
      if (static_cast<unsigned>(__ldg(&p.offsets[mid])) <= t) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    const unsigned base = static_cast<unsigned>(__ldg(&p.offsets[lo]));
    write_token(__ldg(&p.seq[lo]) - __ldg(&p.ext[lo]) + 1, static_cast<int>(t - base), p.topk, t, p.out_expanded,
                p.out_cache);
  }
}

}  // namespace draftjit_kernels

#endif  // DRAFTJIT_FILL_KERNEL_CUH
