#include "ops/eagle/family.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "ops/eagle/ops.hpp"
#include "ops/registry.hpp"
#include "templates/kernel_params.cuh"

namespace draftjit::ops::eagle {
namespace {

namespace k = draftjit_kernels;
using jit::KernelSpec;

// Indexed as kOps (ops.hpp).
constexpr std::array<jit::KernelVariant, 1> kVariants = {{
    {"eagle_cache_locs", jit::scan_bit(jit::Scan::None), k::EagleCacheLocsParams::kEntry, "EagleCacheLocsParams",
     "eagle_kernel.cuh", "eagle_cache_locs_kernel"},
}};
static_assert(kVariants.size() == kOps.size());

// The names of the kEagle* switch bits, bit i at index i.
constexpr std::array<const char*, 2> kFlagNames = {"seq64", "pool32"};
static_assert(1 << kFlagNames.size() == k::kEagleFlagsEnd && k::kEagleSeqLens64 == 1 && k::kEaglePoolIndices32 == 2);

// Each op's switches, indexed as kOps.
constexpr std::array<int, 1> kOpFlags = {k::kEagleFlagsEnd - 1};
static_assert(kOpFlags.size() == kOps.size());

// One block size: an item is 256 x kEagleItemLocs locations of one request's run.
constexpr int kThreads = 256;

// Why the flags name no call's kernel of op `op` (its index in kOps), or nullopt: the one check of spec_for and of
// manifest lines.
std::optional<std::string> misfit(std::size_t op, int flags) {
  if (const int extra = flags & ~kOpFlags[op]; extra != 0) {
    return fmt::format("the {} switch is not {}'s", kFlagNames[std::countr_zero(static_cast<unsigned>(extra))],
                       kOps[op]->name);
  }
  return std::nullopt;
}

std::optional<std::string> unbuildable(const KernelSpec& spec) {
  if (spec.variant >= kVariants.size()) return std::string("no such variant");
  if (auto why = misfit(spec.variant, spec.flags)) return why;
  if (spec.bs != 0 || spec.slots != 1 || spec.chunk != 1) return std::string("bs must be 0, slots and chunk 1");
  if (spec.threads != kThreads) return fmt::format("threads must be {}", kThreads);
  return std::nullopt;
}

// The kernel of op `op` (its index in kOps) and these flags, checked first.
KernelSpec spec_of_flags(std::size_t op, int flags) {
  if (auto why = misfit(op, flags)) throw std::invalid_argument(fmt::format("eagle_spec: {}", *why));
  KernelSpec spec;
  spec.family = kEagleFamily;
  spec.variant = static_cast<std::uint8_t>(op);
  spec.threads = kThreads;
  spec.flags = flags;
  return spec;
}

}  // namespace

const jit::KernelFamily kFamily = {"eagle", kVariants, kFlagNames, &unbuildable};

void check_bs(std::int64_t bs, std::string_view call) {
  if (bs < 0 || bs > kMaxEagleBs) {
    throw std::invalid_argument(fmt::format("{}: {}", call, out_of_range("bs", bs, kMaxEagleBs)));
  }
}

KernelSpec spec_for(const OpDescription& op, int flags) {
  const auto* at = std::find(kOps.begin(), kOps.end(), &op);
  if (at == kOps.end()) throw std::invalid_argument(fmt::format("eagle_spec: {} is not the family's", op.name));
  return spec_of_flags(static_cast<std::size_t>(at - kOps.begin()), flags);
}

namespace {

constexpr std::array<CallKind, 1> kKinds = {{
    {"draft-locs", "EAGLE's contiguous draft cache locations", kEagleFamily, kOpFlags[0],
     [](std::int64_t bs, int flags, const Tuning&) {
       check_bs(bs, "the draft-locs kind");
       return std::vector<KernelSpec>{spec_of_flags(0, flags)};
     }},
}};

}  // namespace

std::span<const CallKind> kinds() { return kKinds; }

}  // namespace draftjit::ops::eagle
