#include "ops/eagle/family.hpp"

#include <array>
#include <cstddef>
#include <vector>

#include "ops/eagle/eagle_kernel.cuh"
#include "ops/eagle/ops.hpp"
#include "ops/registry.hpp"
#include "ops/switch_family.hpp"

namespace draftjit::ops::eagle {
namespace {

namespace k = draftjit_kernels;
using jit::KernelSpec;

// Indexed as kOps (ops.hpp).
constexpr std::array<jit::KernelVariant, 2> kVariants = {{
    {"eagle_cache_locs", jit::scan_bit(jit::Scan::None), k::EagleCacheLocsParams::kEntry, "EagleCacheLocsParams",
     "eagle_kernel.cuh", "eagle_cache_locs_kernel"},
    {"eagle_draft_kv", jit::scan_bit(jit::Scan::None), k::EagleDraftKvParams::kEntry, "EagleDraftKvParams",
     "eagle_kernel.cuh", "eagle_draft_kv_kernel"},
}};
static_assert(kVariants.size() == kOps.size());

// The names of the kEagle* switch bits, bit i at index i.
constexpr std::array<const char*, 5> kFlagNames = {"seq64", "pool32", "len64", "pos32", "out64"};
static_assert(1 << kFlagNames.size() == k::kEagleFlagsEnd && k::kEagleSeqLens64 == 1 && k::kEaglePoolIndices32 == 2 &&
              k::kEagleLens64 == 4 && k::kEaglePositions32 == 8 && k::kEagleOut64 == 16);

// Each op's switches, indexed as kOps.
constexpr std::array<int, 2> kOpFlags = {k::kEagleSeqLens64 | k::kEaglePoolIndices32,
                                         k::kEaglePoolIndices32 | k::kEagleLens64 | k::kEaglePositions32 |
                                             k::kEagleOut64};
static_assert(kOpFlags.size() == kOps.size());

// Each op's call kind, indexed as kOps.
constexpr std::array<const char*, 2> kKindNames = {"draft-locs", "draft-kv"};

// One block size: an item is 256 x kEagleItemLocs locations of one request's run (or row prefix).
constexpr SwitchFamily kRules = {kEagleFamily, "eagle", kOps, kOpFlags, kFlagNames, 256, kMaxEagleBs};

constexpr std::array<CallKind, 2> kKinds = {{
    {kKindNames[0], "EAGLE's contiguous draft cache locations", kEagleFamily, kOpFlags[0],
     &plan_of<kRules, 0, kKindNames>},
    {kKindNames[1], "EAGLE's per-step draft decode KV indices (generate_draft_decode_kv_indices)", kEagleFamily,
     kOpFlags[1], &plan_of<kRules, 1, kKindNames>},
}};

}  // namespace

const jit::KernelFamily kFamily = {"eagle", kVariants, kFlagNames,
                                   [](const KernelSpec& spec) { return kRules.unbuildable(spec); }};

void check_bs(std::int64_t bs, std::string_view call) { kRules.check_bs(bs, call); }

KernelSpec spec_for(const OpDescription& op, int flags) { return kRules.spec_of(op, flags); }

std::span<const CallKind> kinds() { return kKinds; }

}  // namespace draftjit::ops::eagle
