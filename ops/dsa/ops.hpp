#pragma once
// The DSA family's ops (include/draftjit/dsa.hpp), each described once, in upstream SGLang's argument order less the
// arguments draftjit does not use (max_extend_len, max_total_len), then index_kpool (>= 1; 1: no pool) and the
// optional status word; with the fields of its API call each argument fills (bind_fields, ops/api_op.hpp).
// page_table_1 may be None when real_page_size > 1; real_page_table is written only when it is > 1 (upstream passes
// page_table_1 there otherwise).
#include <tuple>

#include "draftjit/dsa.hpp"
#include "ops/api_op.hpp"
#include "ops/op_description.hpp"

namespace draftjit::ops::dsa {

namespace args {
// The per-request inputs take either dtype and any stride, as upstream's kernels do.
inline constexpr OpArg kSeqLens = {"seq_lens", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs, false,
                                   true};
inline constexpr OpArg kExtendSeqLens = {"extend_seq_lens", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1,
                                         Size::Bs, false, true};
inline constexpr OpArg kReqPoolIndices = {"req_pool_indices", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1,
                                          Size::Bs, false, true};
inline constexpr OpArg kReqToToken = {"req_to_token", ArgType::Tensor, Role::In, Dtypes::Int32, 2};
inline constexpr OpArg kCacheSeqlens = {"cache_seqlens", ArgType::Tensor, Role::Out, Dtypes::Int32, 1, Size::Bs};
inline constexpr OpArg kCuSeqlensK = {"cu_seqlens_k", ArgType::Tensor, Role::Out, Dtypes::Int32, 1, Size::BsPlus1};
// None with real_page_size > 1: only real_page_table is written (upstream's page_table_1=None).
inline constexpr OpArg kPageTable1 = {"page_table_1", ArgType::Tensor, Role::Out, Dtypes::Int32, 2, Size::Any, true};
inline constexpr OpArg kSeqlensExpanded = {"seqlens_expanded", ArgType::Tensor, Role::Out, Dtypes::Int32, 1,
                                           Size::Rows};
inline constexpr OpArg kDsaCacheSeqlens = {"dsa_cache_seqlens", ArgType::Tensor, Role::Out, Dtypes::Int32, 1,
                                           Size::Rows};
inline constexpr OpArg kDsaCuSeqlensK = {"dsa_cu_seqlens_k", ArgType::Tensor, Role::Out, Dtypes::Int32, 1,
                                         Size::RowsPlus1};
inline constexpr OpArg kRealPageTable = {"real_page_table", ArgType::Tensor, Role::Out, Dtypes::Int32, 2, Size::Any,
                                         true};
inline constexpr OpArg kCtxLens2d = {"paged_mqa_ctx_lens_2d", ArgType::Tensor, Role::Out, Dtypes::Int32, 2,
                                     Size::Any, true};
inline constexpr OpArg kStatus = {"status", ArgType::Tensor, Role::Out, Dtypes::Int32, 1, Size::One, true};
inline constexpr OpArg kBs = {"bs", ArgType::Int, Role::In, Dtypes::Int32, 1, Size::Any, false, false, kMaxDsaBs};
inline constexpr OpArg kTopk = {"dsa_index_topk", ArgType::Int};
inline constexpr OpArg kRealPageSize = {"real_page_size", ArgType::Int};
inline constexpr OpArg kIndexKpool = {"index_kpool", ArgType::Int};
inline constexpr OpArg kMaxSeqlenK = {"max_seqlen_k", ArgType::Int};

inline constexpr OpArg kDecode[] = {
    kSeqLens, kReqPoolIndices, kReqToToken, kCacheSeqlens, kCuSeqlensK, kPageTable1, kDsaCacheSeqlens,
    kDsaCuSeqlensK, kRealPageTable, kBs, {"max_len", ArgType::Int}, kTopk, kRealPageSize, kIndexKpool, kStatus,
};
inline constexpr OpArg kTargetVerify[] = {
    kSeqLens,         kReqPoolIndices, kReqToToken,   kCacheSeqlens,  kCuSeqlensK,   kPageTable1,
    kSeqlensExpanded, kDsaCacheSeqlens, kDsaCuSeqlensK, kRealPageTable, kBs,         kMaxSeqlenK,
    kTopk,            kRealPageSize,   {"next_n", ArgType::Int}, kCtxLens2d, kIndexKpool, kStatus,
};
inline constexpr OpArg kDraftExtend[] = {
    kSeqLens, kExtendSeqLens, kReqPoolIndices, kReqToToken, kCacheSeqlens, kCuSeqlensK, kPageTable1,
    kSeqlensExpanded, kDsaCacheSeqlens, kDsaCuSeqlensK, kRealPageTable, kBs, {"total_len", ArgType::Int},
    kMaxSeqlenK, kTopk, kRealPageSize, {"static_extend_len", ArgType::Int}, kIndexKpool, kStatus,
};
}  // namespace args

inline constexpr OpDescription kDecodeOp = {"dsa_decode_metadata", args::kDecode};
inline constexpr OpDescription kTargetVerifyOp = {"dsa_target_verify_metadata", args::kTargetVerify, "()", "next_n"};
// Its rows come from the device's extend lengths: the per-row outputs' capacity bounds them.
inline constexpr OpDescription kDraftExtendOp = {"dsa_draft_extend_metadata", args::kDraftExtend, "()", nullptr,
                                                 true};

template <class Fields>
void bind_common(DsaCommonArgs& c, Fields& f) {
  f("seq_lens", c.seq_lens);
  f("req_pool_indices", c.req_pool_indices);
  f("bs", c.bs);
  f("req_to_token", c.req_to_token);
  f("dsa_index_topk", c.dsa_index_topk);
  f("real_page_size", c.real_page_size);
  f("index_kpool", c.index_kpool);
  f("cache_seqlens", c.cache_seqlens);
  f("cu_seqlens_k", c.cu_seqlens_k);
  f("dsa_cache_seqlens", c.dsa_cache_seqlens);
  f("dsa_cu_seqlens_k", c.dsa_cu_seqlens_k);
  c.row_capacity = f.row_capacity();
  f("page_table_1", c.page_table_1);
  f("real_page_table", c.real_page_table);
  f("status", c.status);
}

}  // namespace draftjit::ops::dsa

namespace draftjit {  // beside the Args structs, where argument-dependent lookup finds them

template <class Fields>
void bind_fields(DsaDecodeArgs& a, Fields& f) {
  ops::dsa::bind_common(a.common, f);
  f("max_len", a.max_len);
}

template <class Fields>
void bind_fields(DsaTargetVerifyArgs& a, Fields& f) {
  ops::dsa::bind_common(a.common, f);
  f("next_n", a.next_n);
  f("max_seqlen_k", a.max_seqlen_k);
  f("seqlens_expanded", a.seqlens_expanded);
  f("paged_mqa_ctx_lens_2d", a.paged_mqa_ctx_lens_2d);
}

template <class Fields>
void bind_fields(DsaDraftExtendArgs& a, Fields& f) {
  ops::dsa::bind_common(a.common, f);
  f("extend_seq_lens", a.extend_seq_lens);
  f("total_len", a.total_len);
  f("max_seqlen_k", a.max_seqlen_k);
  f("seqlens_expanded", a.seqlens_expanded);
  f("static_extend_len", a.static_extend_len);
}

}  // namespace draftjit

namespace draftjit::ops::dsa {

// The family's ops, in the order op_descriptions() lists them (ops/registry.hpp joins the families' lists).
inline constexpr std::tuple kApiOps = {
    ApiOp<DsaDecodeArgs>{&kDecodeOp, [](const DsaDecodeArgs& a, CUstream s) { dsa_decode_metadata(a, s); }},
    ApiOp<DsaTargetVerifyArgs>{&kTargetVerifyOp,
                               [](const DsaTargetVerifyArgs& a, CUstream s) { dsa_target_verify_metadata(a, s); }},
    ApiOp<DsaDraftExtendArgs>{&kDraftExtendOp,
                              [](const DsaDraftExtendArgs& a, CUstream s) { dsa_draft_extend_metadata(a, s); }},
};
inline constexpr std::array kOps = descriptions_of(kApiOps);

}  // namespace draftjit::ops::dsa
