#include "ops/dsa/ops.hpp"

namespace draftjit::ops::dsa {
namespace {

// The per-request inputs take either dtype and any stride, as upstream's kernels do.
constexpr OpArg kSeqLens = {"seq_lens", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs, false, true};
constexpr OpArg kExtendSeqLens = {"extend_seq_lens", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs,
                                  false, true};
constexpr OpArg kReqPoolIndices = {"req_pool_indices", ArgType::Tensor, Role::In, Dtypes::Int32OrInt64, 1, Size::Bs,
                                   false, true};
constexpr OpArg kReqToToken = {"req_to_token", ArgType::Tensor, Role::In, Dtypes::Int32, 2};
constexpr OpArg kCacheSeqlens = {"cache_seqlens", ArgType::Tensor, Role::Out, Dtypes::Int32, 1, Size::Bs};
constexpr OpArg kCuSeqlensK = {"cu_seqlens_k", ArgType::Tensor, Role::Out, Dtypes::Int32, 1, Size::BsPlus1};
// None with real_page_size > 1: only real_page_table is written (upstream's page_table_1=None).
constexpr OpArg kPageTable1 = {"page_table_1", ArgType::Tensor, Role::Out, Dtypes::Int32, 2, Size::Any, true};
// Decode and target verify know their rows on the host; draft extend's come from the device, bounded by what the
// outputs hold.
constexpr OpArg kSeqlensExpanded = {"seqlens_expanded", ArgType::Tensor, Role::Out, Dtypes::Int32, 1, Size::Rows};
constexpr OpArg kDsaCacheSeqlens = {"dsa_cache_seqlens", ArgType::Tensor, Role::Out, Dtypes::Int32, 1, Size::Rows};
constexpr OpArg kDsaCuSeqlensK = {"dsa_cu_seqlens_k", ArgType::Tensor, Role::Out, Dtypes::Int32, 1,
                                  Size::RowsPlus1};
constexpr OpArg kRealPageTable = {"real_page_table", ArgType::Tensor, Role::Out, Dtypes::Int32, 2, Size::Any, true};
constexpr OpArg kStatus = {"status", ArgType::Tensor, Role::Out, Dtypes::Int32, 1, Size::One, true};
constexpr OpArg kBs = {"bs", ArgType::Int};
constexpr OpArg kTopk = {"dsa_index_topk", ArgType::Int};
constexpr OpArg kRealPageSize = {"real_page_size", ArgType::Int};
constexpr OpArg kIndexKpool = {"index_kpool", ArgType::Int};

constexpr OpArg kDecodeArgs[] = {
    kSeqLens, kReqPoolIndices, kReqToToken, kCacheSeqlens, kCuSeqlensK, kPageTable1, kDsaCacheSeqlens,
    kDsaCuSeqlensK, kRealPageTable, kBs, {"max_len", ArgType::Int}, kTopk, kRealPageSize, kIndexKpool, kStatus,
};
constexpr OpArg kTargetVerifyArgs[] = {
    kSeqLens, kReqPoolIndices, kReqToToken, kCacheSeqlens, kCuSeqlensK, kPageTable1, kSeqlensExpanded,
    kDsaCacheSeqlens, kDsaCuSeqlensK, kRealPageTable, kBs, {"max_seqlen_k", ArgType::Int}, kTopk, kRealPageSize,
    {"next_n", ArgType::Int},
    {"paged_mqa_ctx_lens_2d", ArgType::Tensor, Role::Out, Dtypes::Int32, 2, Size::Any, true},
    kIndexKpool, kStatus,
};
constexpr OpArg kDraftExtendRows[] = {
    {"seqlens_expanded", ArgType::Tensor, Role::Out},
    {"dsa_cache_seqlens", ArgType::Tensor, Role::Out},
    {"dsa_cu_seqlens_k", ArgType::Tensor, Role::Out, Dtypes::Int32, 1, Size::One},
};
constexpr OpArg kDraftExtendArgs[] = {
    kSeqLens, kExtendSeqLens, kReqPoolIndices, kReqToToken, kCacheSeqlens, kCuSeqlensK, kPageTable1,
    kDraftExtendRows[0], kDraftExtendRows[1], kDraftExtendRows[2], kRealPageTable, kBs, {"total_len", ArgType::Int},
    {"max_seqlen_k", ArgType::Int}, kTopk, kRealPageSize, {"static_extend_len", ArgType::Int}, kIndexKpool, kStatus,
};

}  // namespace

const OpDescription kDecodeOp = {"dsa_decode_metadata", kDecodeArgs};
const OpDescription kTargetVerifyOp = {"dsa_target_verify_metadata", kTargetVerifyArgs};
const OpDescription kDraftExtendOp = {"dsa_draft_extend_metadata", kDraftExtendArgs};

}  // namespace draftjit::ops::dsa
