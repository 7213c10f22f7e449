// SGLang's current path: three generic ATen calls for the offsets, a blocking .item() for the total, then the fill.
#include "baselines.hpp"

#ifdef DRAFTJIT_BENCH_WITH_TORCH
#include <ATen/ATen.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAGuard.h>

namespace bench {

bool aten_available() { return true; }

int aten_path(const Problem& p, cudaStream_t stream) {
  c10::cuda::CUDAStreamGuard guard(c10::cuda::getStreamFromExternal(stream, 0));
  const auto options = at::TensorOptions().dtype(at::kInt).device(at::kCUDA, 0);
  const at::Tensor ext = at::from_blob(const_cast<int*>(p.ext), {p.bs}, options);
  at::Tensor offsets = at::zeros({p.bs + 1}, options);
  offsets.slice(0, 1).copy_(at::cumsum(ext, 0, at::kInt));
  const int total = offsets[p.bs].item<int>();
  launch_fill(p, offsets.data_ptr<int>(), total, stream);
  return total;
}

}  // namespace bench
#else
namespace bench {
bool aten_available() { return false; }
int aten_path(const Problem&, cudaStream_t) { return -1; }
}  // namespace bench
#endif
