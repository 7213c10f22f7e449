#pragma once
// The TRTLLM-MHA family's kernel (include/draftjit/trtllm_mha.hpp): one kernel template, specialised by the switches
// alone (the family's flags); bs, lengths, widths and strides are launch arguments.
#include <cstdint>
#include <span>
#include <string_view>

#include "draftjit/trtllm_mha.hpp"
#include "jit/kernel_family.hpp"
#include "ops/kinds.hpp"

namespace draftjit::ops::trtllm_mha {

extern const jit::KernelFamily kFamily;

// Throws std::invalid_argument "<call>: bs = N is outside the supported range [0, kMaxTrtllmMhaBs]".
void check_bs(std::int64_t bs, std::string_view call);

// The kernel of these switches. Throws std::invalid_argument for switches no call has.
jit::KernelSpec spec_for(const TrtllmMhaSwitches& switches);

// The family's call kind (ops/kinds.hpp): trtllm-mha, with its switches.
std::span<const CallKind> kinds();

}  // namespace draftjit::ops::trtllm_mha
