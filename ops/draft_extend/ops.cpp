#include "ops/draft_extend/ops.hpp"

namespace draftjit::ops::draft_extend {
namespace {

// Every array is 1-D int32 and contiguous. bs is extend_seq_lens' length, which seq_lens' must equal (a rule of
// the call, python/src/bindings/checked_calls.cpp); outputs hold the capacity the kernels check on the device.
constexpr OpArg kFillArgs[] = {
    {"extend_seq_lens", ArgType::Tensor, Role::In, Dtypes::Int32, 1, Size::Bs},
    {"seq_lens", ArgType::Tensor, Role::In},
    {"nsa_index_topk", ArgType::Int},
    {"out_seqlens_expanded", ArgType::Tensor, Role::Out},
    {"out_nsa_cache_seqlens", ArgType::Tensor, Role::Out},
};
constexpr OpArg kFillAsyncArgs[] = {
    kFillArgs[0], kFillArgs[1], kFillArgs[2], kFillArgs[3], kFillArgs[4],
    {"total", ArgType::Tensor, Role::Out, Dtypes::Int32, 1, Size::One},
    {"status", ArgType::Tensor, Role::Out, Dtypes::Int32, 1, Size::One},
    {"offsets", ArgType::Tensor, Role::Out, Dtypes::Int32, 1, Size::BsPlus1, true},
};
constexpr OpArg kOffsetsArgs[] = {
    {"lens", ArgType::Tensor, Role::In, Dtypes::Int32, 1, Size::Bs},
    {"out", ArgType::Tensor, Role::Out, Dtypes::Int32, 1, Size::BsPlus1},
    {"status", ArgType::Tensor, Role::Out, Dtypes::Int32, 1, Size::One, true},
};

}  // namespace

const OpDescription kFillOp = {"fill_draft_extend_metadata", kFillArgs, "Tensor"};
const OpDescription kFillAsyncOp = {"fill_draft_extend_metadata_async", kFillAsyncArgs};
const OpDescription kOffsetsOp = {"exclusive_offsets", kOffsetsArgs};

}  // namespace draftjit::ops::draft_extend
