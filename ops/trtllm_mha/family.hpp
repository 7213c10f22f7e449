#pragma once
// The TRTLLM-MHA family's kernels (include/draftjit/trtllm_mha.hpp): one kernel template per op (ops.hpp describes
// each; an op's variant is its index in kOps), specialised by the switches alone (the family's flags); bs, lengths,
// widths and strides are launch arguments. Nothing here names an op, so a new op of the family edits ops.hpp and
// family.cpp, not this header.
#include <cstdint>
#include <span>
#include <string_view>

#include "jit/kernel_family.hpp"
#include "ops/kinds.hpp"
#include "ops/op_description.hpp"

namespace draftjit::ops::trtllm_mha {

extern const jit::KernelFamily kFamily;

// Throws std::invalid_argument "<call>: bs = N is outside the supported range [0, kMaxTrtllmMhaBs]".
void check_bs(std::int64_t bs, std::string_view call);

// The kernel of this op of the family (one of kOps) with these kTrtllm* switch flags. Throws std::invalid_argument
// for flags no call of the op has.
jit::KernelSpec spec_for(const OpDescription& op, int flags);

// The family's call kinds (ops/kinds.hpp), one per op, with their switches.
std::span<const CallKind> kinds();

}  // namespace draftjit::ops::trtllm_mha
