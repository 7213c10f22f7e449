#pragma once
// The DSA family's ops (include/draftjit/dsa.hpp), each described once, in upstream SGLang's argument order, then
// index_kpool (0 or 1: off) and the optional status word. real_page_table is ignored when real_page_size is 1.
#include "ops/op_description.hpp"

namespace draftjit::ops::dsa {

extern const OpDescription kDecodeOp;        // dsa_decode_metadata
extern const OpDescription kTargetVerifyOp;  // dsa_target_verify_metadata
extern const OpDescription kDraftExtendOp;   // dsa_draft_extend_metadata

}  // namespace draftjit::ops::dsa
