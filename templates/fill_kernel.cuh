// Fill for the two-kernel path (bs too large for one block's shared memory): offsets come from draftjit_scan in
// global memory, and each token finds its request by binary search over them.
extern "C" __global__ void __launch_bounds__(kThreads)
    draftjit_fill(const int* __restrict__ ext, const int* __restrict__ seq, int bs, int topk,
                  int* __restrict__ out_expanded, int* __restrict__ out_cache, const int* __restrict__ offsets,
                  const int* __restrict__ d_status) {
  if (*d_status != 0) return;
  const unsigned total = static_cast<unsigned>(offsets[bs]);
  const unsigned stride = gridDim.x * kThreads;
  for (unsigned t = blockIdx.x * kThreads + threadIdx.x; t < total; t += stride) {
    int lo = 0;
    int hi = bs;  // offsets[lo] <= t < offsets[hi]
    while (hi - lo > 1) {
      const int mid = (lo + hi) / 2;
      if (static_cast<unsigned>(offsets[mid]) <= t) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    write_token(seq[lo] - ext[lo] + 1, static_cast<int>(t - static_cast<unsigned>(offsets[lo])), topk, t,
                out_expanded, out_cache);
  }
}
