#pragma once
// The KV index builders' ops (include/draftjit/kv_indices.hpp), each described once in upstream SGLang's argument
// order (kv_indices.py's raw kernels), with the field of its API call each argument fills (bind_fields,
// ops/api_op.hpp). Upstream's row-stride arguments are the tables' own strides here (the drop-ins in
// draftjit.sglang view a table by the stride upstream is given); constexprs that only pick upstream's work split
// (TOKEN_BLOCK_PARALLEL) are no arguments; bs, upstream's grid[0], comes last.
#include <array>
#include <tuple>

#include "draftjit/kv_indices.hpp"
#include "ops/api_op.hpp"
#include "ops/op_description.hpp"

namespace draftjit::ops::kv_indices {

namespace args {
// create_flashinfer_kv_indices_triton's arguments; the per-request inputs take either dtype (kv_indptr int32) and
// any stride.
inline constexpr OpArg kFlashinferKvIndices[] = {
    {"req_to_token", ArgType::Tensor, Role::In, Dtypes::Int32, 2},
    {"req_pool_indices", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs, false, true},
    {"page_kernel_lens", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs, false, true},
    {"kv_indptr", ArgType::Tensor, Role::In, Dtypes::Int32, 1, Size::Bs, false, true},
    {"kv_start_idx", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs, true, true},
    {"kv_indices", ArgType::Tensor, Role::Out, Dtypes::Int32OrInt64, 1, Size::Any},
    {"entry_page_size", ArgType::Int},
    {"token_mapping", ArgType::Tensor, Role::In, Dtypes::Int64, 1, Size::Any, true},
    {"bs", ArgType::Int, Role::In, Dtypes::Int32, 1, Size::Any, false, false, kMaxKvIndicesBs},
};
// create_flashmla_kv_indices_triton's arguments; kv_indices is the block table, its columns the bound.
inline constexpr OpArg kFlashmlaKvIndices[] = {
    {"req_to_token", ArgType::Tensor, Role::In, Dtypes::Int32, 2},
    {"req_pool_indices", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs, false, true},
    {"page_kernel_lens", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs, false, true},
    {"kv_start_idx", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs, true, true},
    {"kv_indices", ArgType::Tensor, Role::Out, Dtypes::Int32, 2},
    {"page_size", ArgType::Int},
    {"bs", ArgType::Int, Role::In, Dtypes::Int32, 1, Size::Any, false, false, kMaxKvIndicesBs},
};
// create_chunked_prefix_cache_kv_indices's arguments: FlashInfer's with chunk_start_idx always given, E = 1.
inline constexpr OpArg kChunkedPrefixKvIndices[] = {
    {"req_to_token", ArgType::Tensor, Role::In, Dtypes::Int32, 2},
    {"req_pool_indices", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs, false, true},
    {"chunk_start_idx", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs, false, true},
    {"chunk_seq_lens", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs, false, true},
    {"chunk_cu_seq_lens", ArgType::Tensor, Role::In, Dtypes::Int32, 1, Size::Bs, false, true},
    {"chunk_kv_indices", ArgType::Tensor, Role::Out, Dtypes::Int32OrInt64, 1, Size::Any},
    {"bs", ArgType::Int, Role::In, Dtypes::Int32, 1, Size::Any, false, false, kMaxKvIndicesBs},
};
}  // namespace args

inline constexpr OpDescription kFlashinferKvIndicesOp = {"flashinfer_kv_indices", args::kFlashinferKvIndices};
inline constexpr OpDescription kFlashmlaKvIndicesOp = {"flashmla_kv_indices", args::kFlashmlaKvIndices};
inline constexpr OpDescription kChunkedPrefixKvIndicesOp = {"chunked_prefix_kv_indices",
                                                            args::kChunkedPrefixKvIndices};

}  // namespace draftjit::ops::kv_indices

namespace draftjit {  // beside the Args struct, where argument-dependent lookup finds it

template <class Fields>
void bind_fields(FlashinferKvIndicesArgs& a, Fields& f) {
  f("req_to_token", a.req_to_token);
  f("req_pool_indices", a.req_pool_indices);
  f("page_kernel_lens", a.page_kernel_lens);
  f("kv_indptr", a.kv_indptr);
  f("kv_start_idx", a.kv_start_idx);
  f("kv_indices", a.kv_indices);
  f("entry_page_size", a.entry_page_size);
  f("token_mapping", a.token_mapping);
  f("bs", a.bs);
}

template <class Fields>
void bind_fields(FlashmlaKvIndicesArgs& a, Fields& f) {
  f("req_to_token", a.req_to_token);
  f("req_pool_indices", a.req_pool_indices);
  f("page_kernel_lens", a.page_kernel_lens);
  f("kv_start_idx", a.kv_start_idx);
  f("kv_indices", a.kv_indices);
  f("page_size", a.page_size);
  f("bs", a.bs);
}

template <class Fields>
void bind_fields(ChunkedPrefixKvIndicesArgs& a, Fields& f) {
  f("req_to_token", a.req_to_token);
  f("req_pool_indices", a.req_pool_indices);
  f("chunk_start_idx", a.chunk_start_idx);
  f("chunk_seq_lens", a.chunk_seq_lens);
  f("chunk_cu_seq_lens", a.chunk_cu_seq_lens);
  f("chunk_kv_indices", a.chunk_kv_indices);
  f("bs", a.bs);
}

}  // namespace draftjit

namespace draftjit::ops::kv_indices {

// The family's ops, in the order op_descriptions() lists them (ops/registry.hpp joins the families' lists); the
// family's kernel variants are indexed alike (ops/kv_indices/family.cpp).
inline constexpr std::tuple kApiOps = {
    ApiOp<FlashinferKvIndicesArgs>{
        &kFlashinferKvIndicesOp, [](const FlashinferKvIndicesArgs& a, CUstream s) { flashinfer_kv_indices(a, s); }},
    ApiOp<FlashmlaKvIndicesArgs>{
        &kFlashmlaKvIndicesOp, [](const FlashmlaKvIndicesArgs& a, CUstream s) { flashmla_kv_indices(a, s); }},
    ApiOp<ChunkedPrefixKvIndicesArgs>{&kChunkedPrefixKvIndicesOp, [](const ChunkedPrefixKvIndicesArgs& a, CUstream s) {
                                        chunked_prefix_kv_indices(a, s);
                                      }},
};
inline constexpr std::array kOps = descriptions_of(kApiOps);

}  // namespace draftjit::ops::kv_indices
