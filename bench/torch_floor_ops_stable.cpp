// The signature floors of bench/torch_floor_ops.cpp (floor_sync_sig, floor_async_sig) on torch's stable ABI, as
// draftjit's own operators are (python/src/torch_ops.cpp): torch.ops.draftjit_bench_stable.*. Over the
// TORCH_LIBRARY pair they show what the stable ABI's boxing costs; draftjit's operators over them show what
// draftjit's own checks and launch cost.
#ifndef USE_CUDA
#define USE_CUDA  // declares aoti_torch_get_current_cuda_stream
#endif
#include <torch/csrc/inductor/aoti_torch/c/shim.h>
#include <torch/csrc/stable/library.h>
#include <torch/csrc/stable/tensor.h>
#include <torch/headeronly/util/shim_utils.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include <cuda_runtime_api.h>

namespace draftjit_bench_floor {

cudaError_t launch_empty(cudaStream_t stream);  // torch_floor_ops_kernel.cu
int32_t* pinned_word();                          // torch_floor_ops_kernel.cu

namespace {

using torch::stable::Tensor;

void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) {
    throw std::runtime_error(std::string("draftjit_bench_stable: ") + what + " failed: " + cudaGetErrorString(err));
  }
}

cudaStream_t current_stream(const Tensor& t) {
  void* stream = nullptr;
  TORCH_ERROR_CODE_CHECK(aoti_torch_get_current_cuda_stream(t.get_device_index(), &stream));
  return static_cast<cudaStream_t>(stream);
}

Tensor floor_sync_sig(Tensor extend_seq_lens, Tensor /*seq_lens*/, int64_t /*topk*/,
                      Tensor /*out_seqlens_expanded*/, Tensor /*out_nsa_cache_seqlens*/) {
  const cudaStream_t stream = current_stream(extend_seq_lens);
  check(launch_empty(stream), "empty kernel launch");
  int32_t* word = pinned_word();
  check(cudaMemcpyAsync(word, extend_seq_lens.data_ptr(), sizeof(int32_t), cudaMemcpyDeviceToHost, stream),
        "cudaMemcpyAsync");
  check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  AtenTensorHandle handle = nullptr;
  TORCH_ERROR_CODE_CHECK(aoti_torch_empty_strided(0, nullptr, nullptr, aoti_torch_dtype_int32(),
                                                  aoti_torch_device_type_cpu(), 0, &handle));
  Tensor result(handle);
  *static_cast<int32_t*>(result.data_ptr()) = *word;
  return result;
}

void floor_async_sig(Tensor extend_seq_lens, Tensor /*seq_lens*/, int64_t /*topk*/, Tensor /*out_seqlens_expanded*/,
                     Tensor /*out_nsa_cache_seqlens*/, Tensor /*total*/, Tensor /*status*/,
                     std::optional<Tensor> /*offsets*/) {
  check(launch_empty(current_stream(extend_seq_lens)), "empty kernel launch");
}

// One empty kernel behind each DSA operator's exact schema (python/src/torch_ops.cpp): what the dispatcher and the
// stable ABI cost for those arguments, the floor draftjit's DSA operators are compared with.
using OptTensor = std::optional<Tensor>;

void floor_dsa_decode_sig(Tensor seq_lens, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, OptTensor, int64_t,
                          int64_t, int64_t, int64_t, int64_t, OptTensor) {
  check(launch_empty(current_stream(seq_lens)), "empty kernel launch");
}

void floor_dsa_target_verify_sig(Tensor seq_lens, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor,
                                 OptTensor, int64_t, int64_t, int64_t, int64_t, int64_t, OptTensor, int64_t,
                                 OptTensor) {
  check(launch_empty(current_stream(seq_lens)), "empty kernel launch");
}

void floor_dsa_draft_extend_sig(Tensor seq_lens, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor,
                                Tensor, OptTensor, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, OptTensor) {
  check(launch_empty(current_stream(seq_lens)), "empty kernel launch");
}

}  // namespace
}  // namespace draftjit_bench_floor

STABLE_TORCH_LIBRARY(draftjit_bench_stable, m) {
  m.def("floor_sync_sig(Tensor extend_seq_lens, Tensor seq_lens, int nsa_index_topk, "
        "Tensor(a!) out_seqlens_expanded, Tensor(b!) out_nsa_cache_seqlens) -> Tensor");
  m.def("floor_async_sig(Tensor extend_seq_lens, Tensor seq_lens, int nsa_index_topk, "
        "Tensor(a!) out_seqlens_expanded, Tensor(b!) out_nsa_cache_seqlens, Tensor(c!) total, Tensor(d!) status, "
        "Tensor(e!)? offsets) -> ()");
  m.def("floor_dsa_decode_sig(Tensor seq_lens, Tensor req_pool_indices, Tensor req_to_token, "
        "Tensor(a!) cache_seqlens, Tensor(b!) cu_seqlens_k, Tensor(c!) page_table_1, Tensor(d!) dsa_cache_seqlens, "
        "Tensor(e!) dsa_cu_seqlens_k, Tensor(f!)? real_page_table, int bs, int max_len, int dsa_index_topk, "
        "int real_page_size, int index_kpool, Tensor(g!)? status) -> ()");
  m.def("floor_dsa_target_verify_sig(Tensor seq_lens, Tensor req_pool_indices, Tensor req_to_token, "
        "Tensor(a!) cache_seqlens, Tensor(b!) cu_seqlens_k, Tensor(c!) page_table_1, Tensor(d!) seqlens_expanded, "
        "Tensor(e!) dsa_cache_seqlens, Tensor(f!) dsa_cu_seqlens_k, Tensor(g!)? real_page_table, int bs, "
        "int max_seqlen_k, int dsa_index_topk, int real_page_size, int next_n, Tensor(h!)? paged_mqa_ctx_lens_2d, "
        "int index_kpool, Tensor(i!)? status) -> ()");
  m.def("floor_dsa_draft_extend_sig(Tensor seq_lens, Tensor extend_seq_lens, Tensor req_pool_indices, "
        "Tensor req_to_token, Tensor(a!) cache_seqlens, Tensor(b!) cu_seqlens_k, Tensor(c!) page_table_1, "
        "Tensor(d!) seqlens_expanded, Tensor(e!) dsa_cache_seqlens, Tensor(f!) dsa_cu_seqlens_k, "
        "Tensor(g!)? real_page_table, int bs, int total_len, int max_seqlen_k, int dsa_index_topk, "
        "int real_page_size, int index_kpool, Tensor(h!)? status) -> ()");
}

STABLE_TORCH_LIBRARY_IMPL(draftjit_bench_stable, CUDA, m) {
  m.impl("floor_sync_sig", TORCH_BOX(&draftjit_bench_floor::floor_sync_sig));
  m.impl("floor_async_sig", TORCH_BOX(&draftjit_bench_floor::floor_async_sig));
  m.impl("floor_dsa_decode_sig", TORCH_BOX(&draftjit_bench_floor::floor_dsa_decode_sig));
  m.impl("floor_dsa_target_verify_sig", TORCH_BOX(&draftjit_bench_floor::floor_dsa_target_verify_sig));
  m.impl("floor_dsa_draft_extend_sig", TORCH_BOX(&draftjit_bench_floor::floor_dsa_draft_extend_sig));
}
