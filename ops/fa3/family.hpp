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

// The family's ops, its variants' indices.
enum class Fa3Op : std::uint8_t { Decode, Extend };

// The kernel of these switches. Throws std::invalid_argument for switches no call has.
jit::KernelSpec spec_for(const Fa3DecodeSwitches& switches);
jit::KernelSpec spec_for(const Fa3ExtendSwitches& switches);

// The family's call kinds (ops/kinds.hpp): fa3-decode and fa3-extend, with their switches.
std::span<const CallKind> kinds();

}  // namespace draftjit::ops::fa3
