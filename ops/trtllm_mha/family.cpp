#include "ops/trtllm_mha/family.hpp"

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "ops/registry.hpp"
#include "ops/switch_family.hpp"
#include "ops/trtllm_mha/ops.hpp"
#include "ops/trtllm_mha/trtllm_mha_kernel.cuh"

namespace draftjit::ops::trtllm_mha {
namespace {

namespace k = draftjit_kernels;
using jit::KernelSpec;

// Indexed as kOps (ops.hpp): every op's kernel takes the family's one params struct and reads what its call has.
constexpr std::array<jit::KernelVariant, 3> kVariants = {{
    {"trtllm_mha", jit::scan_bit(jit::Scan::None), k::TrtllmMhaParams::kEntry, "TrtllmMhaParams",
     "trtllm_mha_kernel.cuh", "trtllm_mha_kernel"},
    {"trtllm_mla", jit::scan_bit(jit::Scan::None), k::TrtllmMhaParams::kEntry, "TrtllmMhaParams",
     "trtllm_mha_kernel.cuh", "trtllm_mla_kernel"},
    {"trtllm_mha_table", jit::scan_bit(jit::Scan::None), k::TrtllmMhaParams::kEntry, "TrtllmMhaParams",
     "trtllm_mha_kernel.cuh", "trtllm_mha_table_kernel"},
}};
static_assert(kVariants.size() == kOps.size());

// The names of the kTrtllm* switch bits, bit i at index i.
constexpr std::array<const char*, 8> kFlagNames = {"seq64",    "pool32", "q64",    "qcumsum",
                                                   "qstrided", "swa",    "swaout", "skip"};
static_assert(1 << kFlagNames.size() == k::kTrtllmFlagsEnd && k::kTrtllmSeqLens64 == 1 &&
              k::kTrtllmPoolIndices32 == 2 && k::kTrtllmQlens64 == 4 && k::kTrtllmQCumsum == 8 &&
              k::kTrtllmQStrided == 16 && k::kTrtllmSwa == 32 && k::kTrtllmSwaOut == 64 &&
              k::kTrtllmSkipPageTable == 128);

// Each op's switches, indexed as kOps.
// MLA's seq_lens_k is optional at run time (a null pointer): the flags' 8 bits are all taken. The page table's swa
// is the family's bit (an SWA page table written).
constexpr std::array<int, 3> kOpFlags = {k::kTrtllmFlagsEnd - 1, k::kTrtllmSeqLens64 | k::kTrtllmPoolIndices32,
                                         k::kTrtllmSeqLens64 | k::kTrtllmPoolIndices32 | k::kTrtllmSwa};
static_assert(kOpFlags.size() == kOps.size());

// Rules between MHA's switches; the other ops' masks exclude a bit of each rule.
std::optional<std::string> conflict(int flags) {
  if ((flags & k::kTrtllmQCumsum) != 0 && (flags & k::kTrtllmQStrided) != 0) {
    return "the qcumsum and qstrided switches exclude each other";
  }
  if ((flags & k::kTrtllmQlens64) != 0 && (flags & k::kTrtllmQCumsum) == 0) return "the q64 switch needs qcumsum";
  if ((flags & k::kTrtllmSwa) != 0 && (flags & k::kTrtllmSkipPageTable) != 0) {
    return "the swa switch writes a page table, which skip leaves out";
  }
  return std::nullopt;
}

// One block size: MHA's block 0 takes a run of ceil(bs / 256) requests per thread, the gathers 256 x
// kTrtllmItemPages pages per item.
constexpr SwitchFamily kRules = {kTrtllmMhaFamily, "trtllm_mha", kOps, kOpFlags, kFlagNames, 256, kMaxTrtllmMhaBs,
                                 &conflict};

// Each op's call kind, indexed as kOps.
constexpr std::array<const char*, 3> kKindNames = {"trtllm-mha", "trtllm-mla", "trtllm-mha-table"};

constexpr std::array<CallKind, 3> kKinds = {{
    {kKindNames[0], "TRTLLM-MHA's graph metadata step", kTrtllmMhaFamily, kOpFlags[0], &plan_of<kRules, 0, kKindNames>},
    {kKindNames[1], "TRTLLM-MLA's graph metadata step", kTrtllmMhaFamily, kOpFlags[1], &plan_of<kRules, 1, kKindNames>},
    {kKindNames[2], "TRTLLM-MHA's eager page table", kTrtllmMhaFamily, kOpFlags[2], &plan_of<kRules, 2, kKindNames>},
}};

}  // namespace

const jit::KernelFamily kFamily = {"trtllm_mha", kVariants, kFlagNames,
                                   [](const KernelSpec& spec) { return kRules.unbuildable(spec); }};

void check_bs(std::int64_t bs, std::string_view call) { kRules.check_bs(bs, call); }

KernelSpec spec_for(const OpDescription& op, int flags) { return kRules.spec_of(op, flags); }

std::span<const CallKind> kinds() { return kKinds; }

}  // namespace draftjit::ops::trtllm_mha
