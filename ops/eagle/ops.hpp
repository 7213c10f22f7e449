#pragma once
// The EAGLE family's ops (include/draftjit/eagle.hpp), each described once in upstream SGLang's argument order (the
// raw Triton kernel's positional arguments), the sizes of upstream's grid last (bs last), with the field of its API
// call each argument fills (bind_fields, ops/api_op.hpp).
#include <array>
#include <cstdint>
#include <limits>
#include <tuple>

#include "draftjit/eagle.hpp"
#include "ops/api_op.hpp"
#include "ops/op_description.hpp"

namespace draftjit::ops::eagle {

namespace args {
inline constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();
// The per-request inputs take either dtype and any stride (upstream reads them contiguous).
inline constexpr OpArg kDraftCacheLocs[] = {
    {"req_pool_indices", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs, false, true},
    {"req_to_token", ArgType::Tensor, Role::In, Dtypes::Int32, 2},
    {"seq_lens", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs, false, true},
    {"out_cache_loc", ArgType::Tensor, Role::Out, Dtypes::Int64, 1},  // bs * topk * steps: the API checks it
    {"pool_len", ArgType::Int},
    {"topk", ArgType::Int, Role::In, Dtypes::Int32, 1, Size::Any, false, false, kInt32Max},
    {"speculative_num_steps", ArgType::Int, Role::In, Dtypes::Int32, 1, Size::Any, false, false, kInt32Max},
    {"bs", ArgType::Int, Role::In, Dtypes::Int32, 1, Size::Any, false, false, kMaxEagleBs},
};
// generate_draft_decode_kv_indices's: both outputs flat (step d's row at d * its stride), positions bs * topk.
inline constexpr OpArg kDraftDecodeKvIndices[] = {
    {"req_pool_indices", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs, false, true},
    {"req_to_token", ArgType::Tensor, Role::In, Dtypes::Int32, 2},
    {"paged_kernel_lens", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs, false, true},
    {"kv_indices", ArgType::Tensor, Role::Out, Dtypes::Int32OrInt64, 1},
    {"kv_indptr", ArgType::Tensor, Role::Out, Dtypes::Int32, 1},
    {"positions", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Rows, false, true},
    {"pool_len", ArgType::Int},
    {"kv_indices_stride", ArgType::Int},
    {"kv_indptr_stride", ArgType::Int},
    {"bs_upper", ArgType::Int},
    {"iter_upper", ArgType::Int},
    {"num_tokens_upper", ArgType::Int},
    {"page_size", ArgType::Int},
    {"speculative_num_steps", ArgType::Int, Role::In, Dtypes::Int32, 1, Size::Any, false, false, kInt32Max},
    {"topk", ArgType::Int, Role::In, Dtypes::Int32, 1, Size::Any, false, false, kInt32Max},
    {"bs", ArgType::Int, Role::In, Dtypes::Int32, 1, Size::Any, false, false, kMaxEagleBs},
};
}  // namespace args

inline constexpr OpDescription kDraftCacheLocsOp = {"assign_draft_cache_locs_contiguous", args::kDraftCacheLocs};
inline constexpr OpDescription kDraftDecodeKvIndicesOp = {"generate_draft_decode_kv_indices",
                                                          args::kDraftDecodeKvIndices, "()", "topk"};

}  // namespace draftjit::ops::eagle

namespace draftjit {  // beside the Args struct, where argument-dependent lookup finds it

template <class Fields>
void bind_fields(EagleCacheLocsArgs& a, Fields& f) {
  f("req_pool_indices", a.req_pool_indices);
  f("req_to_token", a.req_to_token);
  f("seq_lens", a.seq_lens);
  f("out_cache_loc", a.out_cache_loc);
  f("pool_len", a.pool_len);
  f("topk", a.topk);
  f("speculative_num_steps", a.speculative_num_steps);
  f("bs", a.bs);
}

template <class Fields>
void bind_fields(EagleDraftKvArgs& a, Fields& f) {
  f("req_pool_indices", a.req_pool_indices);
  f("req_to_token", a.req_to_token);
  f("paged_kernel_lens", a.paged_kernel_lens);
  f("kv_indices", a.kv_indices);
  f("kv_indptr", a.kv_indptr);
  f("positions", a.positions);
  f("pool_len", a.pool_len);
  f("kv_indices_stride", a.kv_indices_stride);
  f("kv_indptr_stride", a.kv_indptr_stride);
  f("bs_upper", a.bs_upper);
  f("iter_upper", a.iter_upper);
  f("num_tokens_upper", a.num_tokens_upper);
  f("page_size", a.page_size);
  f("speculative_num_steps", a.speculative_num_steps);
  f("topk", a.topk);
  f("bs", a.bs);
}

}  // namespace draftjit

namespace draftjit::ops::eagle {

// The family's ops, in the order op_descriptions() lists them (ops/registry.hpp joins the families' lists).
inline constexpr std::tuple kApiOps = {
    ApiOp<EagleCacheLocsArgs>{&kDraftCacheLocsOp, [](const EagleCacheLocsArgs& a, CUstream s) {
                                assign_draft_cache_locs_contiguous(a, s);
                              }},
    ApiOp<EagleDraftKvArgs>{&kDraftDecodeKvIndicesOp, [](const EagleDraftKvArgs& a, CUstream s) {
                              generate_draft_decode_kv_indices(a, s);
                            }},
};
inline constexpr std::array kOps = descriptions_of(kApiOps);

}  // namespace draftjit::ops::eagle
