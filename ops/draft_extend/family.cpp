#include "ops/draft_extend/family.hpp"

#include <fmt/format.h>

#include <array>
#include <set>
#include <stdexcept>
#include <string>

#include "ops/common/scan_layout.hpp"
#include "ops/registry.hpp"
#include "templates/kernel_params.cuh"

namespace draftjit::ops::draft_extend {
namespace {

namespace k = draftjit_kernels;
using jit::KernelSpec;
using jit::Scan;

constexpr std::array<jit::KernelVariant, 3> kVariants = {{
    {"scan", jit::kEitherScan, k::ScanParams::kEntry, "ScanParams", "scan_kernel.cuh", "scan_kernel"},
    {"fused", jit::kEitherScan, k::FusedParams::kEntry, "FusedParams", "fused_kernel.cuh", "fused_kernel"},
    {"fill", jit::scan_bit(Scan::None), k::FillParams::kEntry, "FillParams", "fill_kernel.cuh", "fill_kernel"},
}};

KernelSpec of(Variant variant) {
  KernelSpec spec;
  spec.family = kDraftExtendFamily;
  spec.variant = variant;
  return spec;
}

// The tuning under which the constructors make spec's variant with spec's block size over the widest range of bs:
// the spec is buildable when they make exactly it.
bool fits_fused(int bs, const Tuning& tuning) { return bs <= tuning.fused_max_bs; }

Tuning widest_tuning_for(const KernelSpec& spec) {
  Tuning tuning;
  tuning.unroll_max_bs = spec.scan == Scan::Unrolled ? kMaxUnrollBs : 0;
  tuning.fused_max_bs = kMaxFusedBs;
  tuning.fused_unrolled_threads = spec.threads;
  tuning.fused_blelloch_min_threads = spec.threads;
  tuning.fused_blelloch_max_threads = spec.threads;
  tuning.fill_threads = spec.threads;
  return tuning;
}

KernelSpec made_for(const KernelSpec& spec, int bs) {
  const Tuning tuning = widest_tuning_for(spec);
  switch (spec.variant) {
    case kScan: return scan_spec(bs, tuning);
    case kFused: return fused_spec(bs, tuning);
    default: return fill_spec(tuning);
  }
}

std::optional<std::string> unbuildable(const KernelSpec& spec) {
  std::optional<std::string> rule;
  auto need = [&](bool ok, std::string why) {
    if (!ok && !rule) rule = std::move(why);
    return ok;
  };
  switch (spec.scan) {
    case Scan::Unrolled: {  // bs <= unroll_max_bs, and the fused kernel's bs <= fused_max_bs
      const int max_bs = spec.variant == kFused ? std::min(kMaxUnrollBs, kMaxFusedBs) : kMaxUnrollBs;
      if (!need(spec.bs >= 0 && spec.bs <= max_bs, fmt::format("bs must be in [0, {}]", max_bs))) return rule;
      const KernelSpec made = made_for(spec, spec.bs);
      need(spec.slots == made.slots, fmt::format("slots must be {}, the power of two >= bs", made.slots));
      need(spec.chunk == made.chunk, fmt::format("chunk must be {}", made.chunk));
      if (spec.variant == kScan) {
        need(spec.threads == made.threads, fmt::format("threads must be {} (one thread runs the scan)", made.threads));
      } else {
        need(jit::is_block(spec.threads),
             fmt::format("threads must be a multiple of 32 in [32, {}]", jit::kMaxThreads));
      }
      return rule;
    }
    case Scan::Blelloch: {  // blelloch(), for the next_pow2(bs) lengths of some bs the variant takes
      const int max_lengths = jit::next_pow2(spec.variant == kFused ? kMaxFusedBs : kMaxBs);
      if (!need(spec.bs == 0, "bs must be 0 (a launch argument of this kind)") ||
          !need(jit::is_pow2(spec.slots) && spec.slots <= jit::kMaxSlots,
                fmt::format("slots must be a power of two in [1, {}]", jit::kMaxSlots)) ||
          !need(jit::is_pow2(spec.chunk) && spec.chunk <= max_lengths / spec.slots,
                fmt::format("chunk must be a power of two with slots * chunk <= {}", max_lengths))) {
        return rule;
      }
      const KernelSpec made = made_for(spec, spec.slots * spec.chunk / 2 + 1);  // the smallest bs of these lengths
      need(spec.slots == made.slots && spec.chunk == made.chunk,
           fmt::format("chunk > 1 needs slots = {}", jit::kMaxSlots));
      if (spec.variant == kScan) {
        need(spec.threads == made.threads, fmt::format("threads must be {} for these slots", made.threads));
      } else {
        need(jit::is_pow2_block(spec.threads),
             fmt::format("threads must be a power of two in [32, {}]", jit::kMaxThreads));
      }
      return rule;
    }
    case Scan::None: break;
  }
  need(spec.bs == 0 && spec.slots == 1 && spec.chunk == 1, "bs must be 0, slots and chunk 1");
  need(jit::is_block(spec.threads), fmt::format("threads must be a multiple of 32 in [32, {}]", jit::kMaxThreads));
  return rule;
}

}  // namespace

const jit::KernelFamily kFamily = {"draft_extend", kVariants, {}, &unbuildable};

void check_bs(std::int64_t bs, std::string_view call) {
  if (bs < 0 || bs > kMaxBs) throw std::invalid_argument(fmt::format("{}: {}", call, out_of_range("bs", bs, kMaxBs)));
}

KernelSpec scan_spec(int bs, const Tuning& tuning) {
  check_bs(bs, "scan_spec");
  if (bs <= tuning.unroll_max_bs) return unrolled(of(kScan), bs, 1);  // one thread runs the scan
  return blelloch(of(kScan), bs, jit::kWarpThreads, jit::kMaxThreads, 2);
}

KernelSpec fused_spec(int bs, const Tuning& tuning) {
  check_bs(bs, "fused_spec");
  if (!fits_fused(bs, tuning)) {
    throw std::invalid_argument(
        fmt::format("fused_spec: bs = {} exceeds fused_max_bs = {}", bs, tuning.fused_max_bs));
  }
  if (bs <= tuning.unroll_max_bs) return unrolled(of(kFused), bs, tuning.fused_unrolled_threads);
  return blelloch(of(kFused), bs, tuning.fused_blelloch_min_threads, tuning.fused_blelloch_max_threads, 2);
}

KernelSpec fill_spec(const Tuning& tuning) {
  KernelSpec spec = of(kFill);
  spec.threads = tuning.fill_threads;
  return spec;
}

CallPlan call_plan(int bs, const Tuning& tuning) {
  if (fits_fused(bs, tuning)) return {fused_spec(bs, tuning), std::nullopt};
  return {scan_spec(bs, tuning), fill_spec(tuning)};
}

CallPlan offsets_plan(int bs, const Tuning& tuning) { return {scan_spec(bs, tuning), std::nullopt}; }

std::vector<KernelSpec> kernels_for(const std::vector<int>& bs_list, const Tuning& tuning) {
  std::vector<KernelSpec> specs;
  std::set<std::uint64_t> seen;
  for (int bs : bs_list) {
    const CallPlan call = call_plan(bs, tuning);
    for (const auto& spec : {std::optional(call.main), call.fill}) {
      if (spec && seen.insert(spec->id()).second) specs.push_back(*spec);
    }
  }
  return specs;
}

namespace {

using Specs = std::vector<KernelSpec>;

// Checks what every draft-extend kind checks first: bs, then that no switch was given.
int checked_bs(std::int64_t bs, int flags, const char* kind) {
  check_bs(bs, kind);
  if (flags != 0) throw std::invalid_argument(fmt::format("the {} kind takes no switches", kind));
  return static_cast<int>(bs);
}

constexpr std::array<CallKind, 4> kKinds = {{
    {"main", "draft extend: the fused kernel, or the scan then the fill", kDraftExtendFamily, 0,
     [](std::int64_t bs, int flags, const Tuning& t) {
       const CallPlan plan = call_plan(checked_bs(bs, flags, "main"), t);
       return plan.fill ? Specs{plan.main, *plan.fill} : Specs{plan.main};
     }},
    {"fused", "draft extend's one-launch kernel", kDraftExtendFamily, 0,
     [](std::int64_t bs, int flags, const Tuning& t) { return Specs{fused_spec(checked_bs(bs, flags, "fused"), t)}; }},
    {"scan", "the prefix sum (exclusive_offsets; draft extend past fused_max_bs)", kDraftExtendFamily, 0,
     [](std::int64_t bs, int flags, const Tuning& t) { return Specs{scan_spec(checked_bs(bs, flags, "scan"), t)}; }},
    {"fill", "the fill behind the scan", kDraftExtendFamily, 0,
     [](std::int64_t bs, int flags, const Tuning& t) {
       checked_bs(bs, flags, "fill");
       return Specs{fill_spec(t)};
     }},
}};

}  // namespace

std::span<const CallKind> kinds() { return kKinds; }

}  // namespace draftjit::ops::draft_extend
