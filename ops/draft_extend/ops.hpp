#pragma once
// The draft-extend family's ops (include/draftjit/draftjit.hpp), each described once.
#include <array>

#include "ops/op_description.hpp"

namespace draftjit::ops::draft_extend {

extern const OpDescription kFillOp;        // fill_draft_extend_metadata: blocking, returns total_tokens
extern const OpDescription kFillAsyncOp;   // fill_draft_extend_metadata_async
extern const OpDescription kOffsetsOp;     // exclusive_offsets

// The family's ops, in the order op_descriptions() lists them (ops/registry.hpp joins the families' lists).
inline constexpr std::array kOps = {&kFillOp, &kFillAsyncOp, &kOffsetsOp};

}  // namespace draftjit::ops::draft_extend
