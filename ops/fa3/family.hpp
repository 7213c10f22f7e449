#pragma once
// The FA3 family's kernel (include/draftjit/fa3.hpp): one kernel template, specialised by the switches alone (the
// family's flags); bs, lengths, widths, strides, the page size and seq_len_delta are launch arguments.
#include <cstdint>
#include <span>
#include <string_view>

#include "draftjit/fa3.hpp"
#include "jit/kernel_family.hpp"
#include "ops/kinds.hpp"

namespace draftjit::ops::fa3 {

extern const jit::KernelFamily kFamily;

// Throws std::invalid_argument "<call>: bs = N is outside the supported range [0, kMaxFa3Bs]".
void check_bs(std::int64_t bs, std::string_view call);

// The kernel of a call's switches (Fa3DecodeSwitches, Fa3ExtendSwitches: each op has its own, so a new op adds no
// declaration here). Throws std::invalid_argument for switches no call has.
template <class Switches>
jit::KernelSpec spec_for(const Switches& switches);

// The family's call kinds (ops/kinds.hpp), one per op, with their switches.
std::span<const CallKind> kinds();

}  // namespace draftjit::ops::fa3
