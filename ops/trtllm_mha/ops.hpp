#pragma once
// The TRTLLM family's ops (include/draftjit/trtllm_mha.hpp, trtllm_mla.hpp, trtllm_mha_table.hpp), each described once
// in upstream SGLang's argument order (update_trtllm_mha_graph_metadata's and update_trtllm_mla_graph_metadata's
// keywords, build_trtllm_mha_page_table's arguments then bs), with the field of its API call each argument fills
// (bind_fields, ops/api_op.hpp).
#include <array>
#include <tuple>

#include "draftjit/trtllm_mha.hpp"
#include "draftjit/trtllm_mha_table.hpp"
#include "draftjit/trtllm_mla.hpp"
#include "ops/api_op.hpp"
#include "ops/op_description.hpp"

namespace draftjit::ops::trtllm_mha {

namespace args {
// The per-request inputs take either dtype and any stride (upstream reads them contiguous).
inline constexpr OpArg kGraphMetadata[] = {
    {"req_pool_indices", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs, false, true},
    {"seq_lens", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs, false, true},
    {"req_to_token", ArgType::Tensor, Role::In, Dtypes::Int32, 2},
    {"cache_seqlens", ArgType::Tensor, Role::Out, Dtypes::Int32, 1, Size::Bs},
    {"cu_seqlens_k", ArgType::Tensor, Role::Out, Dtypes::Int32, 1, Size::BsPlus1},
    {"page_table", ArgType::Tensor, Role::Out, Dtypes::Int32, 2, Size::Any, true},  // None with skip_page_table
    {"bs", ArgType::Int, Role::In, Dtypes::Int32, 1, Size::Any, false, false, kMaxTrtllmMhaBs},
    {"seqlen_offset", ArgType::Int},
    {"max_seq_pages", ArgType::Int},
    {"page_size", ArgType::Int},
    {"swa_mapping", ArgType::Tensor, Role::In, Dtypes::Int64, 1, Size::Any, true},
    {"swa_page_table", ArgType::Tensor, Role::Out, Dtypes::Int32, 2, Size::Any, true},
    {"out_cache_loc", ArgType::Tensor, Role::In, Dtypes::Int64, 1, Size::Any, true},
    {"swa_out_cache_loc", ArgType::Tensor, Role::Out, Dtypes::Int64, 1, Size::Any, true},
    {"cu_seqlens_q", ArgType::Tensor, Role::Out, Dtypes::Int32, 1, Size::BsPlus1, true},
    {"qlens", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs, true, true},
    {"q_stride", ArgType::Int},
    {"q_mode", ArgType::Int, Role::In, Dtypes::Int32, 1, Size::Any, false, false, 2},  // QMode's values
    {"skip_page_table", ArgType::Int},
};
// update_trtllm_mla_graph_metadata's keywords; block_kv_indices' columns bound the pages.
inline constexpr OpArg kMlaGraphMetadata[] = {
    {"req_pool_indices", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs, false, true},
    {"seq_lens", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs, false, true},
    {"req_to_token", ArgType::Tensor, Role::In, Dtypes::Int32, 2},
    {"block_kv_indices", ArgType::Tensor, Role::Out, Dtypes::Int32, 2},
    {"bs", ArgType::Int, Role::In, Dtypes::Int32, 1, Size::Any, false, false, kMaxTrtllmMhaBs},
    {"seqlen_offset", ArgType::Int},
    {"page_size", ArgType::Int},
    {"seq_lens_k", ArgType::Tensor, Role::Out, Dtypes::Int32, 1, Size::Bs, true},
};
// build_trtllm_mha_page_table's arguments, then bs (the drop-in's page_table.shape[0]): page_table's columns bound the
// pages; swa_page_table has page_table's shape and strides.
inline constexpr OpArg kPageTable[] = {
    {"req_to_token", ArgType::Tensor, Role::In, Dtypes::Int32, 2},
    {"req_pool_indices", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs, false, true},
    {"cache_seqlens", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs, false, true},
    {"page_table", ArgType::Tensor, Role::Out, Dtypes::Int32, 2},
    {"page_size", ArgType::Int},
    {"swa_page_table", ArgType::Tensor, Role::Out, Dtypes::Int32, 2, Size::Any, true},
    {"full_to_swa", ArgType::Tensor, Role::In, Dtypes::Int64, 1, Size::Any, true},
    {"bs", ArgType::Int, Role::In, Dtypes::Int32, 1, Size::Any, false, false, kMaxTrtllmMhaBs},
};
}  // namespace args

inline constexpr OpDescription kGraphMetadataOp = {"trtllm_mha_graph_metadata", args::kGraphMetadata};
inline constexpr OpDescription kMlaGraphMetadataOp = {"trtllm_mla_graph_metadata", args::kMlaGraphMetadata};
inline constexpr OpDescription kPageTableOp = {"trtllm_mha_page_table", args::kPageTable};

}  // namespace draftjit::ops::trtllm_mha

namespace draftjit {  // beside the Args struct, where argument-dependent lookup finds it

template <class Fields>
void bind_fields(TrtllmMhaArgs& a, Fields& f) {
  f("req_pool_indices", a.req_pool_indices);
  f("seq_lens", a.seq_lens);
  f("req_to_token", a.req_to_token);
  f("cache_seqlens", a.cache_seqlens);
  f("cu_seqlens_k", a.cu_seqlens_k);
  f("page_table", a.page_table);
  f("bs", a.bs);
  f("seqlen_offset", a.seqlen_offset);
  f("max_seq_pages", a.max_seq_pages);
  f("page_size", a.page_size);
  f("swa_mapping", a.swa_mapping);
  f("swa_page_table", a.swa_page_table);
  f("out_cache_loc", a.out_cache_loc);
  f("swa_out_cache_loc", a.swa_out_cache_loc);
  f("cu_seqlens_q", a.cu_seqlens_q);
  f("qlens", a.qlens);
  f("q_stride", a.q_stride);
  f("q_mode", a.q_mode);
  f("skip_page_table", a.skip_page_table);
}

template <class Fields>
void bind_fields(TrtllmMlaArgs& a, Fields& f) {
  f("req_pool_indices", a.req_pool_indices);
  f("seq_lens", a.seq_lens);
  f("req_to_token", a.req_to_token);
  f("block_kv_indices", a.block_kv_indices);
  f("bs", a.bs);
  f("seqlen_offset", a.seqlen_offset);
  f("page_size", a.page_size);
  f("seq_lens_k", a.seq_lens_k);
}

template <class Fields>
void bind_fields(TrtllmMhaTableArgs& a, Fields& f) {
  f("req_to_token", a.req_to_token);
  f("req_pool_indices", a.req_pool_indices);
  f("cache_seqlens", a.cache_seqlens);
  f("page_table", a.page_table);
  f("page_size", a.page_size);
  f("swa_page_table", a.swa_page_table);
  f("full_to_swa", a.full_to_swa);
  f("bs", a.bs);
}

}  // namespace draftjit

namespace draftjit::ops::trtllm_mha {

// The family's ops, in the order op_descriptions() lists them (ops/registry.hpp joins the families' lists).
inline constexpr std::tuple kApiOps = {
    ApiOp<TrtllmMhaArgs>{&kGraphMetadataOp,
                         [](const TrtllmMhaArgs& a, CUstream s) { trtllm_mha_graph_metadata(a, s); }},
    ApiOp<TrtllmMlaArgs>{&kMlaGraphMetadataOp,
                         [](const TrtllmMlaArgs& a, CUstream s) { trtllm_mla_graph_metadata(a, s); }},
    ApiOp<TrtllmMhaTableArgs>{&kPageTableOp,
                              [](const TrtllmMhaTableArgs& a, CUstream s) { trtllm_mha_page_table(a, s); }},
};
inline constexpr std::array kOps = descriptions_of(kApiOps);

}  // namespace draftjit::ops::trtllm_mha
