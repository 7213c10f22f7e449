// Fill for the two-kernel path (bs too large for one block's shared memory): offsets come from draftjit_scan in
// global memory, and each token finds its request by binary search over them.
__device__ __forceinline__ void fill_from_global(const int* __restrict__ ext, const int* __restrict__ seq, int bs,
                                                 int topk, int* __restrict__ out_expanded, int* __restrict__ out_cache,
                                                 const int* __restrict__ offsets) {
  const unsigned total = static_cast<unsigned>(__ldg(&offsets[bs]));
  const unsigned stride = gridDim.x * kThreads;
  for (unsigned t = blockIdx.x * kThreads + threadIdx.x; t < total; t += stride) {
    int lo = 0;
    int hi = bs;  // offsets[lo] <= t < offsets[hi]
    while (hi - lo > 1) {
      const int mid = (lo + hi) / 2;
      if (static_cast<unsigned>(__ldg(&offsets[mid])) <= t) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    const unsigned base = static_cast<unsigned>(__ldg(&offsets[lo]));
    write_token(__ldg(&seq[lo]) - __ldg(&ext[lo]) + 1, static_cast<int>(t - base), topk, t, out_expanded, out_cache);
  }
}

extern "C" __global__ void __launch_bounds__(kThreads) draftjit_fill(const draftjit_kernels::FillParams p) {
  if (__ldg(p.status) != 0) return;
  fill_from_global(p.ext, p.seq, p.bs, p.topk, p.out_expanded, p.out_cache, p.offsets);
}
