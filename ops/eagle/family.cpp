#include "ops/eagle/family.hpp"

#include <array>
#include <vector>

#include "ops/eagle/ops.hpp"
#include "ops/registry.hpp"
#include "ops/switch_family.hpp"
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
constexpr SwitchFamily kRules = {kEagleFamily, "eagle", kOps, kOpFlags, kFlagNames, 256, kMaxEagleBs};

constexpr std::array<CallKind, 1> kKinds = {{
    {"draft-locs", "EAGLE's contiguous draft cache locations", kEagleFamily, kOpFlags[0],
     [](std::int64_t bs, int flags, const Tuning&) {
       kRules.check_bs(bs, "the draft-locs kind");
       return std::vector<KernelSpec>{kRules.spec_of(0, flags)};
     }},
}};

}  // namespace

const jit::KernelFamily kFamily = {"eagle", kVariants, kFlagNames,
                                   [](const KernelSpec& spec) { return kRules.unbuildable(spec); }};

void check_bs(std::int64_t bs, std::string_view call) { kRules.check_bs(bs, call); }

KernelSpec spec_for(const OpDescription& op, int flags) { return kRules.spec_of(op, flags); }

std::span<const CallKind> kinds() { return kKinds; }

}  // namespace draftjit::ops::eagle
