// The C++-op floor of bench/python_bench.py: two TORCH_LIBRARY ops that do the least a blocking or an asynchronous
// CUDA op called from Python can do, so that draftjit's Python paths are measured against what any C++ op (the
// SGLang fork's sgl_kernel op included) pays for the dispatcher, the launch and the read-back:
//
//   draftjit_bench::floor_sync(Tensor x, Tensor pinned) -> int
//       one empty kernel on torch's current stream, a 4-byte device-to-host cudaMemcpyAsync of x[0] into pinned
//       (page-locked CPU memory), cudaStreamSynchronize, and the int read back
//   draftjit_bench::floor_async(Tensor x) -> ()
//       one empty kernel on torch's current stream, no synchronisation
//   draftjit_bench::floor_sync_sig, draftjit_bench::floor_async_sig
//       the same work behind the schemas of draftjit's blocking and async operators (floor_sync_sig reads
//       extend_seq_lens[0] into a pinned word and returns it as a 0-dim CPU int32 tensor, as draftjit returns its
//       total), so that the rows over them split what the operators' signatures cost (eight tensors through the
//       dispatcher, a tensor result) from what draftjit itself does; bench/torch_floor_ops_stable.cpp has both on
//       torch's stable ABI, as draftjit's operators are. Neither checks its arguments.
//
// Built by the benchmark itself with torch.utils.cpp_extension.load (this file by the host compiler, the kernel in
// torch_floor_ops_kernel.cu by nvcc for the GPU's arch only) and loaded with torch.ops.load_library; Python calls
// torch.ops.draftjit_bench.floor_sync(x, pinned). Only c10's stream header is included (not ATen/cuda/
// CUDAContext.h, which pulls in cuBLAS, cuSPARSE and cuSOLVER headers), so the build is quick; c10 makes
// at::cuda an alias of c10::cuda.

#include <cstdint>

#include <optional>

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/util/Exception.h>
#include <cuda_runtime_api.h>
#include <torch/library.h>

namespace draftjit_bench_floor {

cudaError_t launch_empty(cudaStream_t stream);  // torch_floor_ops_kernel.cu
int32_t* pinned_word();                          // torch_floor_ops_kernel.cu

namespace {

void check(cudaError_t err, const char* what) {
  TORCH_CHECK(err == cudaSuccess, "draftjit_bench: ", what, " failed: ", cudaGetErrorString(err));
}

void check_word(const at::Tensor& t, const char* name, bool cuda) {
  TORCH_CHECK(t.defined() && t.numel() >= 1 && t.scalar_type() == c10::ScalarType::Int, "draftjit_bench: ", name,
              " must be an int32 tensor of at least one element");
  TORCH_CHECK(cuda ? t.is_cuda() : t.device().is_cpu(), "draftjit_bench: ", name, " must be a ",
              cuda ? "CUDA" : "CPU (pinned)", " tensor");
}

int64_t floor_sync(const at::Tensor& x, const at::Tensor& pinned) {
  check_word(x, "x", true);
  check_word(pinned, "pinned", false);
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream().stream();
  check(launch_empty(stream), "empty kernel launch");
  auto* host = static_cast<int32_t*>(pinned.data_ptr());
  check(cudaMemcpyAsync(host, x.data_ptr(), sizeof(int32_t), cudaMemcpyDeviceToHost, stream), "cudaMemcpyAsync");
  check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  return *host;
}

void floor_async(const at::Tensor& x) {
  check_word(x, "x", true);
  check(launch_empty(at::cuda::getCurrentCUDAStream().stream()), "empty kernel launch");
}

at::Tensor floor_sync_sig(const at::Tensor& extend_seq_lens, const at::Tensor& /*seq_lens*/, int64_t /*topk*/,
                          const at::Tensor& /*out_seqlens_expanded*/, const at::Tensor& /*out_nsa_cache_seqlens*/) {
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream().stream();
  check(launch_empty(stream), "empty kernel launch");
  int32_t* word = pinned_word();
  check(cudaMemcpyAsync(word, extend_seq_lens.data_ptr(), sizeof(int32_t), cudaMemcpyDeviceToHost, stream),
        "cudaMemcpyAsync");
  check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  at::Tensor result = at::empty({}, at::TensorOptions().dtype(at::kInt));
  *result.data_ptr<int32_t>() = *word;
  return result;
}

void floor_async_sig(const at::Tensor& extend_seq_lens, const at::Tensor& /*seq_lens*/, int64_t /*topk*/,
                     const at::Tensor& /*out_seqlens_expanded*/, const at::Tensor& /*out_nsa_cache_seqlens*/,
                     const at::Tensor& /*total*/, const at::Tensor& /*status*/,
                     const std::optional<at::Tensor>& /*offsets*/) {
  check(launch_empty(at::cuda::getCurrentCUDAStream().stream()), "empty kernel launch");
}

}  // namespace
}  // namespace draftjit_bench_floor

TORCH_LIBRARY(draftjit_bench, m) {
  m.def("floor_sync(Tensor x, Tensor pinned) -> int");
  m.def("floor_async(Tensor x) -> ()");
  m.def("floor_sync_sig(Tensor extend_seq_lens, Tensor seq_lens, int nsa_index_topk, "
        "Tensor(a!) out_seqlens_expanded, Tensor(b!) out_nsa_cache_seqlens) -> Tensor");
  m.def("floor_async_sig(Tensor extend_seq_lens, Tensor seq_lens, int nsa_index_topk, "
        "Tensor(a!) out_seqlens_expanded, Tensor(b!) out_nsa_cache_seqlens, Tensor(c!) total, Tensor(d!) status, "
        "Tensor(e!)? offsets) -> ()");
}

TORCH_LIBRARY_IMPL(draftjit_bench, CUDA, m) {
  m.impl("floor_sync", TORCH_FN(draftjit_bench_floor::floor_sync));
  m.impl("floor_async", TORCH_FN(draftjit_bench_floor::floor_async));
  m.impl("floor_sync_sig", TORCH_FN(draftjit_bench_floor::floor_sync_sig));
  m.impl("floor_async_sig", TORCH_FN(draftjit_bench_floor::floor_async_sig));
}
