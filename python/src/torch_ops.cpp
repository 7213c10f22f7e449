// torch.ops.draftjit.*: the calls as PyTorch operators defined and implemented in C++ on torch's stable ABI
// (torch/csrc/stable), so one build serves later torch releases. Tensors are described once
// (bindings::ArrayArg) and checked once (bindings/checked_calls.cpp, bindings/dsa_calls.cpp); the call runs in the
// tensors' device's primary context on torch's current stream for that device. Fake implementations live in Python
// (draftjit/_torch_fakes.py). Registered for CPU too, so a CPU tensor gets draftjit's error naming the argument
// rather than the dispatcher's "no kernel for CPU".
#include <torch/csrc/inductor/aoti_torch/c/shim.h>
#include <torch/csrc/stable/library.h>
#include <torch/csrc/stable/tensor.h>
#include <torch/headeronly/util/shim_utils.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "bindings/checked_calls.hpp"
#include "bindings/dsa_calls.hpp"
#include "jit/log.hpp"
#include "op_error.hpp"
#include "ops/op_description.hpp"

namespace draftjit::python {
namespace {

using torch::stable::Tensor;
using torch::headeronly::ScalarType;

thread_local std::exception_ptr last_op_error;

std::string dtype_name(ScalarType type) {
  switch (type) {
    case ScalarType::Byte: return "torch.uint8";
    case ScalarType::Char: return "torch.int8";
    case ScalarType::Short: return "torch.int16";
    case ScalarType::Int: return "torch.int32";
    case ScalarType::Long: return "torch.int64";
    case ScalarType::Half: return "torch.float16";
    case ScalarType::BFloat16: return "torch.bfloat16";
    case ScalarType::Float: return "torch.float32";
    case ScalarType::Double: return "torch.float64";
    case ScalarType::Bool: return "torch.bool";
    default: return "another dtype";
  }
}

bindings::ArrayArg describe(const Tensor& t, const char* name) {
  bindings::ArrayArg a;
  a.name = name;
  const ScalarType type = t.scalar_type();
  a.int32 = type == ScalarType::Int;
  a.int64 = type == ScalarType::Long;
  if (!a.int32) a.dtype = dtype_name(type);
  a.ndim = t.dim();
  if (a.ndim == 2) {  // the DSA calls' tables: any strides
    a.rows = t.size(0);
    a.cols = t.size(1);
    a.row_stride = t.stride(0);
    a.col_stride = t.stride(1);
    a.length = a.rows * a.cols;
  } else {
    a.length = a.ndim == 1 ? t.size(0) : t.numel();
    a.contiguous = t.is_contiguous();
  }
  a.on_cuda = t.is_cuda();
  if (a.on_cuda) {
    a.device = t.get_device_index();
  } else {
    a.place = t.is_cpu() ? "cpu" : "a device that is not CUDA";
  }
  a.ptr = reinterpret_cast<std::uintptr_t>(t.data_ptr());
  return a;
}

std::optional<bindings::ArrayArg> describe(const std::optional<Tensor>& t, const char* name) {
  if (!t) return std::nullopt;
  return describe(*t, name);
}

CUstream current_stream(int device) {
  void* stream = nullptr;
  TORCH_ERROR_CODE_CHECK(aoti_torch_get_current_cuda_stream(device, &stream));
  return static_cast<CUstream>(stream);
}

// Every op body runs through here: a failure is kept for the Python wrapper, then rethrown for PyTorch; compile
// events name the operators as their front end.
template <typename Body>
auto recording(Body&& body) {
  const jit::FrontEndScope front_end("torch op");
  last_op_error = nullptr;
  try {
    return body();
  } catch (...) {
    last_op_error = std::current_exception();
    throw;
  }
}

// A 0-dim CPU int32 tensor, like the fork's op returns: functionalizable under torch.compile, and .item() reads it
// without a device sync.
Tensor cpu_scalar(std::int32_t value) {
  AtenTensorHandle handle = nullptr;
  TORCH_ERROR_CODE_CHECK(aoti_torch_empty_strided(0, nullptr, nullptr, aoti_torch_dtype_int32(),
                                                  aoti_torch_device_type_cpu(), 0, &handle));
  Tensor scalar(handle);
  *static_cast<std::int32_t*>(scalar.data_ptr()) = value;
  return scalar;
}

Tensor fill_draft_extend_metadata(Tensor extend_seq_lens, Tensor seq_lens, std::int64_t nsa_index_topk,
                                  Tensor out_seqlens_expanded, Tensor out_nsa_cache_seqlens) {
  return recording([&] {
    const bindings::FillCall call =
        bindings::check_fill(describe(extend_seq_lens, "extend_seq_lens"), describe(seq_lens, "seq_lens"),
                             nsa_index_topk, describe(out_seqlens_expanded, "out_seqlens_expanded"),
                             describe(out_nsa_cache_seqlens, "out_nsa_cache_seqlens"));
    return cpu_scalar(bindings::run(call, call.device, current_stream(call.device)));
  });
}

void fill_draft_extend_metadata_async(Tensor extend_seq_lens, Tensor seq_lens, std::int64_t nsa_index_topk,
                                      Tensor out_seqlens_expanded, Tensor out_nsa_cache_seqlens, Tensor total,
                                      Tensor status, std::optional<Tensor> offsets) {
  recording([&] {
    const bindings::FillAsyncCall call = bindings::check_fill_async(
        describe(extend_seq_lens, "extend_seq_lens"), describe(seq_lens, "seq_lens"), nsa_index_topk,
        describe(out_seqlens_expanded, "out_seqlens_expanded"),
        describe(out_nsa_cache_seqlens, "out_nsa_cache_seqlens"), describe(total, "total"),
        describe(status, "status"), describe(offsets, "offsets"));
    bindings::run(call, call.fill.device, current_stream(call.fill.device));
  });
}

void exclusive_offsets(Tensor lens, Tensor out, std::optional<Tensor> status) {
  recording([&] {
    const bindings::OffsetsCall call =
        bindings::check_exclusive_offsets(describe(lens, "lens"), describe(out, "out"), describe(status, "status"));
    bindings::run(call, call.device, current_stream(call.device));
  });
}

// The arrays every DSA mode takes, described in upstream SGLang's order.
bindings::DsaArrays dsa_arrays(const Tensor& seq_lens, const Tensor& req_pool_indices, const Tensor& req_to_token,
                               const Tensor& cache_seqlens, const Tensor& cu_seqlens_k, const Tensor& page_table_1,
                               const Tensor& dsa_cache_seqlens, const Tensor& dsa_cu_seqlens_k,
                               const std::optional<Tensor>& real_page_table, const std::optional<Tensor>& status) {
  return {describe(seq_lens, "seq_lens"),
          describe(req_pool_indices, "req_pool_indices"),
          describe(req_to_token, "req_to_token"),
          describe(cache_seqlens, "cache_seqlens"),
          describe(cu_seqlens_k, "cu_seqlens_k"),
          describe(page_table_1, "page_table_1"),
          describe(dsa_cache_seqlens, "dsa_cache_seqlens"),
          describe(dsa_cu_seqlens_k, "dsa_cu_seqlens_k"),
          describe(real_page_table, "real_page_table"),
          describe(status, "status")};
}

void dsa_decode_metadata(Tensor seq_lens, Tensor req_pool_indices, Tensor req_to_token, Tensor cache_seqlens,
                         Tensor cu_seqlens_k, Tensor page_table_1, Tensor dsa_cache_seqlens, Tensor dsa_cu_seqlens_k,
                         std::optional<Tensor> real_page_table, std::int64_t bs, std::int64_t max_len,
                         std::int64_t dsa_index_topk, std::int64_t real_page_size, std::int64_t index_kpool,
                         std::optional<Tensor> status) {
  recording([&] {
    const bindings::DsaDecodeCall call = bindings::check_dsa_decode(
        dsa_arrays(seq_lens, req_pool_indices, req_to_token, cache_seqlens, cu_seqlens_k, page_table_1,
                   dsa_cache_seqlens, dsa_cu_seqlens_k, real_page_table, status),
        {bs, dsa_index_topk, real_page_size, index_kpool}, max_len);
    bindings::run(call, call.device, current_stream(call.device));
  });
}

void dsa_target_verify_metadata(Tensor seq_lens, Tensor req_pool_indices, Tensor req_to_token, Tensor cache_seqlens,
                                Tensor cu_seqlens_k, Tensor page_table_1, Tensor seqlens_expanded,
                                Tensor dsa_cache_seqlens, Tensor dsa_cu_seqlens_k,
                                std::optional<Tensor> real_page_table, std::int64_t bs, std::int64_t max_seqlen_k,
                                std::int64_t dsa_index_topk, std::int64_t real_page_size, std::int64_t next_n,
                                std::optional<Tensor> paged_mqa_ctx_lens_2d, std::int64_t index_kpool,
                                std::optional<Tensor> status) {
  recording([&] {
    const bindings::DsaTargetVerifyCall call = bindings::check_dsa_target_verify(
        dsa_arrays(seq_lens, req_pool_indices, req_to_token, cache_seqlens, cu_seqlens_k, page_table_1,
                   dsa_cache_seqlens, dsa_cu_seqlens_k, real_page_table, status),
        describe(seqlens_expanded, "seqlens_expanded"), describe(paged_mqa_ctx_lens_2d, "paged_mqa_ctx_lens_2d"),
        {bs, dsa_index_topk, real_page_size, index_kpool}, max_seqlen_k, next_n);
    bindings::run(call, call.device, current_stream(call.device));
  });
}

void dsa_draft_extend_metadata(Tensor seq_lens, Tensor extend_seq_lens, Tensor req_pool_indices, Tensor req_to_token,
                               Tensor cache_seqlens, Tensor cu_seqlens_k, Tensor page_table_1,
                               Tensor seqlens_expanded, Tensor dsa_cache_seqlens, Tensor dsa_cu_seqlens_k,
                               std::optional<Tensor> real_page_table, std::int64_t bs, std::int64_t total_len,
                               std::int64_t max_seqlen_k, std::int64_t dsa_index_topk, std::int64_t real_page_size,
                               std::int64_t index_kpool, std::optional<Tensor> status) {
  recording([&] {
    const bindings::DsaDraftExtendCall call = bindings::check_dsa_draft_extend(
        dsa_arrays(seq_lens, req_pool_indices, req_to_token, cache_seqlens, cu_seqlens_k, page_table_1,
                   dsa_cache_seqlens, dsa_cu_seqlens_k, real_page_table, status),
        describe(extend_seq_lens, "extend_seq_lens"), describe(seqlens_expanded, "seqlens_expanded"),
        {bs, dsa_index_topk, real_page_size, index_kpool}, total_len, max_seqlen_k);
    bindings::run(call, call.device, current_stream(call.device));
  });
}

}  // namespace

std::exception_ptr take_op_error() noexcept { return std::exchange(last_op_error, nullptr); }

}  // namespace draftjit::python

// The schemas come from the op descriptions (ops/op_description.hpp): Tensor(a!) marks what each op writes, so
// torch.compile functionalizes the calls and graph capture records them.
STABLE_TORCH_LIBRARY(draftjit, m) {
  for (const draftjit::ops::OpDescription* op : draftjit::ops::op_descriptions()) {
    m.def(draftjit::ops::torch_schema(*op).c_str());
  }
}

#define DRAFTJIT_TORCH_IMPLS(m)                                                                          \
  m.impl("fill_draft_extend_metadata", TORCH_BOX(&draftjit::python::fill_draft_extend_metadata));             \
  m.impl("fill_draft_extend_metadata_async", TORCH_BOX(&draftjit::python::fill_draft_extend_metadata_async)); \
  m.impl("exclusive_offsets", TORCH_BOX(&draftjit::python::exclusive_offsets));                               \
  m.impl("dsa_decode_metadata", TORCH_BOX(&draftjit::python::dsa_decode_metadata));                           \
  m.impl("dsa_target_verify_metadata", TORCH_BOX(&draftjit::python::dsa_target_verify_metadata));             \
  m.impl("dsa_draft_extend_metadata", TORCH_BOX(&draftjit::python::dsa_draft_extend_metadata));

STABLE_TORCH_LIBRARY_IMPL(draftjit, CUDA, m) { DRAFTJIT_TORCH_IMPLS(m) }
STABLE_TORCH_LIBRARY_IMPL(draftjit, CPU, m) { DRAFTJIT_TORCH_IMPLS(m) }
