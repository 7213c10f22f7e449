#pragma once
// The DSA family's ops (include/draftjit/dsa.hpp), each described once, in upstream SGLang's argument order less the
// arguments draftjit does not use (max_extend_len, max_total_len), then index_kpool (>= 1; 1: no pool) and the
// optional status word. page_table_1 may be None when real_page_size > 1; real_page_table is ignored when it is 1.
#include <array>

#include "ops/op_description.hpp"

namespace draftjit::ops::dsa {

extern const OpDescription kDecodeOp;        // dsa_decode_metadata
extern const OpDescription kTargetVerifyOp;  // dsa_target_verify_metadata
extern const OpDescription kDraftExtendOp;   // dsa_draft_extend_metadata

// The family's ops, in the order op_descriptions() lists them (ops/registry.hpp joins the families' lists).
inline constexpr std::array kOps = {&kDecodeOp, &kTargetVerifyOp, &kDraftExtendOp};

}  // namespace draftjit::ops::dsa
