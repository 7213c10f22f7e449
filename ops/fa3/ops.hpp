#pragma once
// The FA3 family's ops (include/draftjit/fa3.hpp), each described once in upstream SGLang's argument order
// (normal_decode_set_metadata's, draft_extend_set_metadata's), with the field of its API call each argument fills
// (bind_fields, ops/api_op.hpp).
// Upstream's token_to_kv_pool, a pool object, becomes the tensor it reads (swa_mapping) and that tensor's stride
// (0 for a unified pool); bs, upstream's cache_seqlens_int32.shape[0], comes last.
#include <array>
#include <tuple>

#include "draftjit/fa3.hpp"
#include "ops/api_op.hpp"
#include "ops/op_description.hpp"

namespace draftjit::ops::fa3 {

namespace args {
// The per-request inputs take either dtype and any stride (upstream makes them contiguous, a copy).
inline constexpr OpArg kDecodeMetadata[] = {
    {"cache_seqlens_int32", ArgType::Tensor, Role::Out, Dtypes::Int32, 1, Size::Bs},
    {"cu_seqlens_k", ArgType::Tensor, Role::Out, Dtypes::Int32, 1, Size::BsPlus1},
    {"page_table", ArgType::Tensor, Role::Out, Dtypes::Int32, 2},
    {"req_to_token", ArgType::Tensor, Role::In, Dtypes::Int32, 2},
    {"req_pool_indices", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs, false, true},
    {"max_seq_pages", ArgType::Int},
    {"seq_lens", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs, false, true},
    {"seq_len_delta", ArgType::Int},
    {"page_size", ArgType::Int},
    {"swa_page_table", ArgType::Tensor, Role::Out, Dtypes::Int32, 2, Size::Any, true},
    {"swa_mapping", ArgType::Tensor, Role::In, Dtypes::Int64, 1, Size::Any, true},
    {"swa_mapping_stride", ArgType::Int},
    {"skip_page_table", ArgType::Int},
    {"bs", ArgType::Int, Role::In, Dtypes::Int32, 1, Size::Any, false, false, kMaxFa3Bs},
};
// draft_extend_set_metadata's arguments, bs last; the bound is page_table's columns.
inline constexpr OpArg kDraftExtendMetadata[] = {
    {"cache_seqlens_int32", ArgType::Tensor, Role::Out, Dtypes::Int32, 1, Size::Bs},
    {"cu_seqlens_k", ArgType::Tensor, Role::Out, Dtypes::Int32, 1, Size::BsPlus1},
    {"cu_seqlens_q", ArgType::Tensor, Role::Out, Dtypes::Int32, 1, Size::BsPlus1},
    {"page_table", ArgType::Tensor, Role::Out, Dtypes::Int32, 2},
    {"req_to_token", ArgType::Tensor, Role::In, Dtypes::Int32, 2},
    {"req_pool_indices", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs, false, true},
    {"seq_lens", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs, false, true},
    {"extend_seq_lens", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs, false, true},
    {"page_size", ArgType::Int},
    {"full_to_swa_index_mapping", ArgType::Tensor, Role::In, Dtypes::Int64, 1, Size::Any, true},
    {"swa_page_table", ArgType::Tensor, Role::Out, Dtypes::Int32, 2, Size::Any, true},
    {"out_cache_loc", ArgType::Tensor, Role::In, Dtypes::Int64, 1, Size::Any, true},
    {"swa_out_cache_loc", ArgType::Tensor, Role::Out, Dtypes::Int64, 1, Size::Any, true},
    {"bs", ArgType::Int, Role::In, Dtypes::Int32, 1, Size::Any, false, false, kMaxFa3Bs},
};
// prepare_swa_spec_page_table_triton's arguments, bs (upstream's seq_len_a.numel()) last; its rows are bs times the
// draft tokens.
inline constexpr OpArg kSwaSpecPageTable[] = {
    {"page_table_dst", ArgType::Tensor, Role::Out, Dtypes::Int32, 2},
    {"page_table_a", ArgType::Tensor, Role::In, Dtypes::Int32, 2},
    {"page_table_b", ArgType::Tensor, Role::In, Dtypes::Int32, 2},
    {"seq_len_a", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs, false, true},
    {"seq_len_b", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Rows, false, true},
    {"speculative_num_draft_tokens", ArgType::Int},
    {"bs", ArgType::Int, Role::In, Dtypes::Int32, 1, Size::Any, false, false, kMaxFa3Bs},
};
// get_num_kv_splits_triton's arguments, its num_seq as bs and its MAX_NUM_SEQ as lanes; its rows are the num_seq x
// num_group counts.
inline constexpr OpArg kNumKvSplits[] = {
    {"num_kv_splits", ArgType::Tensor, Role::Out, Dtypes::Int32, 1, Size::Rows},
    {"seq_lens", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs, false, true},
    {"bs", ArgType::Int, Role::In, Dtypes::Int32, 1, Size::Any, false, false, kMaxFa3Bs},
    {"num_group", ArgType::Int},
    {"num_head", ArgType::Int},
    {"num_kv_head", ArgType::Int},
    {"max_kv_splits", ArgType::Int},
    {"device_core_count", ArgType::Int},
    {"lanes", ArgType::Int},
    {"uneven_batch", ArgType::Tensor, Role::Out, Dtypes::Int32, 1, Size::One, true},
};
}  // namespace args

inline constexpr OpDescription kDecodeMetadataOp = {"fa3_decode_metadata", args::kDecodeMetadata};
inline constexpr OpDescription kDraftExtendMetadataOp = {"fa3_draft_extend_metadata", args::kDraftExtendMetadata};
inline constexpr OpDescription kSwaSpecPageTableOp = {"fa3_swa_spec_page_table", args::kSwaSpecPageTable, "()",
                                                      "speculative_num_draft_tokens"};
inline constexpr OpDescription kNumKvSplitsOp = {"fa3_num_kv_splits", args::kNumKvSplits, "()", "num_group"};

}  // namespace draftjit::ops::fa3

namespace draftjit {  // beside the Args struct, where argument-dependent lookup finds it

template <class Fields>
void bind_fields(Fa3DecodeArgs& a, Fields& f) {
  f("cache_seqlens_int32", a.cache_seqlens);
  f("cu_seqlens_k", a.cu_seqlens_k);
  f("page_table", a.page_table);
  f("req_to_token", a.req_to_token);
  f("req_pool_indices", a.req_pool_indices);
  f("max_seq_pages", a.max_seq_pages);
  f("seq_lens", a.seq_lens);
  f("seq_len_delta", a.seq_len_delta);
  f("page_size", a.page_size);
  f("swa_page_table", a.swa_page_table);
  f("swa_mapping", a.swa_mapping);
  f("swa_mapping_stride", a.swa_mapping_stride);
  f("skip_page_table", a.skip_page_table);
  f("bs", a.bs);
}

template <class Fields>
void bind_fields(Fa3ExtendArgs& a, Fields& f) {
  f("cache_seqlens_int32", a.cache_seqlens);
  f("cu_seqlens_k", a.cu_seqlens_k);
  f("cu_seqlens_q", a.cu_seqlens_q);
  f("page_table", a.page_table);
  f("req_to_token", a.req_to_token);
  f("req_pool_indices", a.req_pool_indices);
  f("seq_lens", a.seq_lens);
  f("extend_seq_lens", a.extend_seq_lens);
  f("page_size", a.page_size);
  f("full_to_swa_index_mapping", a.full_to_swa_index_mapping);
  f("swa_page_table", a.swa_page_table);
  f("out_cache_loc", a.out_cache_loc);
  f("swa_out_cache_loc", a.swa_out_cache_loc);
  f("bs", a.bs);
}

template <class Fields>
void bind_fields(Fa3SpecTableArgs& a, Fields& f) {
  f("page_table_dst", a.page_table_dst);
  f("page_table_a", a.page_table_a);
  f("page_table_b", a.page_table_b);
  f("seq_len_a", a.seq_len_a);
  f("seq_len_b", a.seq_len_b);
  f("speculative_num_draft_tokens", a.speculative_num_draft_tokens);
  f("bs", a.bs);
}

template <class Fields>
void bind_fields(Fa3KvSplitsArgs& a, Fields& f) {
  f("num_kv_splits", a.num_kv_splits);
  f("seq_lens", a.seq_lens);
  f("bs", a.num_seq);
  f("num_group", a.num_group);
  f("num_head", a.num_head);
  f("num_kv_head", a.num_kv_head);
  f("max_kv_splits", a.max_kv_splits);
  f("device_core_count", a.device_core_count);
  f("lanes", a.lanes);
  f("uneven_batch", a.uneven_batch);
}

}  // namespace draftjit

namespace draftjit::ops::fa3 {

// The family's ops, in the order op_descriptions() lists them (ops/registry.hpp joins the families' lists).
inline constexpr std::tuple kApiOps = {
    ApiOp<Fa3DecodeArgs>{&kDecodeMetadataOp, [](const Fa3DecodeArgs& a, CUstream s) { fa3_decode_metadata(a, s); }},
    ApiOp<Fa3ExtendArgs>{&kDraftExtendMetadataOp,
                         [](const Fa3ExtendArgs& a, CUstream s) { fa3_draft_extend_metadata(a, s); }},
    ApiOp<Fa3SpecTableArgs>{&kSwaSpecPageTableOp,
                            [](const Fa3SpecTableArgs& a, CUstream s) { fa3_swa_spec_page_table(a, s); }},
    ApiOp<Fa3KvSplitsArgs>{&kNumKvSplitsOp, [](const Fa3KvSplitsArgs& a, CUstream s) { fa3_num_kv_splits(a, s); }},
};
inline constexpr std::array kOps = descriptions_of(kApiOps);

}  // namespace draftjit::ops::fa3
