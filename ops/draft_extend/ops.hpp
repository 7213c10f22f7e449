#pragma once
// The draft-extend family's ops (include/draftjit/draftjit.hpp), each described once.
#include "ops/op_description.hpp"

namespace draftjit::ops::draft_extend {

extern const OpDescription kFillOp;        // fill_draft_extend_metadata: blocking, returns total_tokens
extern const OpDescription kFillAsyncOp;   // fill_draft_extend_metadata_async
extern const OpDescription kOffsetsOp;     // exclusive_offsets

}  // namespace draftjit::ops::draft_extend
