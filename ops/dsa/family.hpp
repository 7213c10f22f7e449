#pragma once
// The DSA family's kernels (include/draftjit/dsa.hpp): one kernel template per forward mode, specialised for bs (the
// scan) and the switches that change the code (the family's flags).
#include <cstdint>
#include <string_view>

#include "draftjit/dsa.hpp"
#include "jit/kernel_family.hpp"
#include "ops/kinds.hpp"

namespace draftjit::ops::dsa {

extern const jit::KernelFamily kFamily;

// Throws std::invalid_argument "<call>: bs = N is outside the supported range [0, kMaxDsaBs]".
void check_bs(std::int64_t bs, std::string_view call);

// The switches the family's flag bits stand for.
DsaSwitches switches_of(int flags);

// The kernel a call of this mode, bs and switches launches (Tuning::unroll_max_bs picks the scan,
// Tuning::dsa_threads the block size). Throws std::invalid_argument for bs outside [0, kMaxDsaBs] or a switch the
// mode does not have (ctx_lens_2d outside target verify, extend switches outside draft extend, real_only unpaged).
jit::KernelSpec spec_for(DsaMode mode, int bs, const DsaSwitches& switches, const Tuning& tuning);

// The family's call kinds (ops/kinds.hpp): dsa-decode, dsa-verify, dsa-extend, each with its mode's switches.
std::span<const CallKind> kinds();

}  // namespace draftjit::ops::dsa
