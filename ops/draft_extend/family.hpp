#pragma once
// The draft-extend family's kernels (include/draftjit/draftjit.hpp): the prefix sum (scan), the scan fused with the
// fill (fused), and the fill behind a standalone scan (fill); which of them a call launches for its bs and tuning.
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "draftjit/tuning.hpp"
#include "jit/kernel_family.hpp"
#include "ops/kinds.hpp"

namespace draftjit::ops::draft_extend {

enum Variant : std::uint8_t { kScan, kFused, kFill };

extern const jit::KernelFamily kFamily;

// Throws std::invalid_argument "<call>: bs = N is outside the supported range [0, kMaxBs]".
void check_bs(std::int64_t bs, std::string_view call);

jit::KernelSpec scan_spec(int bs, const Tuning& tuning);   // the standalone prefix sum (bs + 1 outputs)
jit::KernelSpec fused_spec(int bs, const Tuning& tuning);  // requires fits_fused
jit::KernelSpec fill_spec(const Tuning& tuning);           // second kernel of the two-kernel path

// The kernels a call with this bs launches, decided once: for draft extend the fused kernel alone, or the scan then
// the fill; for exclusive_offsets the scan alone.
struct CallPlan {
  jit::KernelSpec main;                 // the fused kernel, or the scan
  std::optional<jit::KernelSpec> fill;  // set on the two-kernel path
  bool single_launch() const { return !fill.has_value(); }  // main writes every result; nothing follows it
};
CallPlan call_plan(int bs, const Tuning& tuning);     // draft extend
CallPlan offsets_plan(int bs, const Tuning& tuning);  // exclusive_offsets

// The family's call kinds (ops/kinds.hpp): main, fused, scan, fill.
std::span<const CallKind> kinds();

// The distinct kernels that calls with these batch sizes launch: large bs share power-of-two kernels, so 1..1024
// needs only unroll_max_bs + log2(1024 / unroll_max_bs) of them (37 with the default tuning).
std::vector<jit::KernelSpec> kernels_for(const std::vector<int>& bs_list, const Tuning& tuning);

}  // namespace draftjit::ops::draft_extend
