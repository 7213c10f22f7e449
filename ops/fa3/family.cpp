#include "ops/fa3/family.hpp"

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "ops/fa3/fa3_kernel.cuh"
#include "ops/fa3/ops.hpp"
#include "ops/registry.hpp"
#include "ops/switch_family.hpp"

namespace draftjit::ops::fa3 {
namespace {

namespace k = draftjit_kernels;
using jit::KernelSpec;

// The family's ops, as kOps (ops.hpp) lists them: its variants' indices.
enum class Fa3Op : std::uint8_t { Decode, Extend, SpecTable, KvSplits };

// Indexed as kOps (and Fa3Op).
constexpr std::array<jit::KernelVariant, 4> kVariants = {{
    {"fa3_decode", jit::scan_bit(jit::Scan::None), k::Fa3DecodeParams::kEntry, "Fa3DecodeParams", "fa3_kernel.cuh",
     "fa3_decode_kernel"},
    {"fa3_extend", jit::scan_bit(jit::Scan::None), k::Fa3ExtendParams::kEntry, "Fa3ExtendParams", "fa3_kernel.cuh",
     "fa3_extend_kernel"},
    {"fa3_swa_spec", jit::scan_bit(jit::Scan::None), k::Fa3SpecTableParams::kEntry, "Fa3SpecTableParams",
     "fa3_kernel.cuh", "fa3_swa_spec_kernel"},
    {"fa3_kv_splits", jit::scan_bit(jit::Scan::None), k::Fa3KvSplitsParams::kEntry, "Fa3KvSplitsParams",
     "fa3_kernel.cuh", "fa3_kv_splits_kernel"},
}};
static_assert(kVariants.size() == kOps.size());

// The names of the kFa3* switch bits, bit i at index i.
constexpr std::array<const char*, 7> kFlagNames = {"seq64", "pool32", "swa", "skip", "ext64", "a64", "b64"};
static_assert(1 << kFlagNames.size() == k::kFa3FlagsEnd && k::kFa3SeqLens64 == 1 && k::kFa3PoolIndices32 == 2 &&
              k::kFa3Swa == 4 && k::kFa3SkipPageTable == 8 && k::kFa3Ext64 == 16 && k::kFa3SeqLenA64 == 32 &&
              k::kFa3SeqLenB64 == 64);

// Each op's switches, indexed as kOps: skip_page_table is the decode's, an int64 extend_seq_lens draft extend's.
constexpr std::array<int, 4> kOpFlags = {k::kFa3SeqLens64 | k::kFa3PoolIndices32 | k::kFa3Swa | k::kFa3SkipPageTable,
                                         k::kFa3SeqLens64 | k::kFa3PoolIndices32 | k::kFa3Swa | k::kFa3Ext64,
                                         k::kFa3SeqLenA64 | k::kFa3SeqLenB64, k::kFa3SeqLens64};

// One block size: block 0's prefix takes a run of ceil(bs / 256) requests per thread, the gather 256 x
// kFa3ItemPages pages per item.
constexpr int kThreads = 256;

constexpr Fa3Op op_of(const Fa3DecodeSwitches&) { return Fa3Op::Decode; }
constexpr Fa3Op op_of(const Fa3ExtendSwitches&) { return Fa3Op::Extend; }
constexpr Fa3Op op_of(const Fa3SpecTableSwitches&) { return Fa3Op::SpecTable; }
constexpr Fa3Op op_of(const Fa3KvSplitsSwitches&) { return Fa3Op::KvSplits; }

int flags_of(const Fa3DecodeSwitches& s) {
  return (s.seq_lens == IndexType::Int64 ? k::kFa3SeqLens64 : 0) |
         (s.req_pool_indices == IndexType::Int32 ? k::kFa3PoolIndices32 : 0) | (s.swa ? k::kFa3Swa : 0) |
         (s.skip_page_table ? k::kFa3SkipPageTable : 0);
}

int flags_of(const Fa3ExtendSwitches& s) {
  return (s.seq_lens == IndexType::Int64 ? k::kFa3SeqLens64 : 0) |
         (s.req_pool_indices == IndexType::Int32 ? k::kFa3PoolIndices32 : 0) | (s.swa ? k::kFa3Swa : 0) |
         (s.extend_seq_lens == IndexType::Int64 ? k::kFa3Ext64 : 0);
}

int flags_of(const Fa3KvSplitsSwitches& s) { return s.seq_lens == IndexType::Int64 ? k::kFa3SeqLens64 : 0; }

int flags_of(const Fa3SpecTableSwitches& s) {
  return (s.seq_len_a == IndexType::Int64 ? k::kFa3SeqLenA64 : 0) |
         (s.seq_len_b == IndexType::Int64 ? k::kFa3SeqLenB64 : 0);
}

// Between the switches of one call: SWA's table is a page table, which skip leaves out.
std::optional<std::string> conflict(int flags) {
  if ((flags & k::kFa3Swa) != 0 && (flags & k::kFa3SkipPageTable) != 0) {
    return "the swa switch writes a page table, which skip leaves out";
  }
  return std::nullopt;
}

constexpr SwitchFamily kRules = {kFa3Family, "fa3", kOps, kOpFlags, kFlagNames, kThreads, kMaxFa3Bs, &conflict};

// Each op's call kind, indexed as kOps.
constexpr std::array<const char*, 4> kKindNames = {"fa3-decode", "fa3-extend", "fa3-swa-spec", "fa3-kv-splits"};

constexpr std::array<CallKind, 4> kKinds = {{
    {kKindNames[0], "FA3's normal-decode metadata step", kFa3Family, kOpFlags[0], &plan_of<kRules, 0, kKindNames>},
    {kKindNames[1], "FA3's draft-extend metadata step", kFa3Family, kOpFlags[1], &plan_of<kRules, 1, kKindNames>},
    {kKindNames[2], "FA3's SWA speculative page table", kFa3Family, kOpFlags[2], &plan_of<kRules, 2, kKindNames>},
    {kKindNames[3], "FA3's (Triton backend's) KV-split count", kFa3Family, kOpFlags[3],
     &plan_of<kRules, 3, kKindNames>},
}};
static_assert(kKinds.size() == kOps.size());

}  // namespace

const jit::KernelFamily kFamily = {"fa3", kVariants, kFlagNames,
                                   [](const KernelSpec& spec) { return kRules.unbuildable(spec); }};

void check_bs(std::int64_t bs, std::string_view call) { kRules.check_bs(bs, call); }

template <class Switches>
KernelSpec spec_for(const Switches& switches) {
  return kRules.spec_of(static_cast<std::size_t>(op_of(switches)), flags_of(switches));
}
template KernelSpec spec_for(const Fa3DecodeSwitches&);
template KernelSpec spec_for(const Fa3ExtendSwitches&);
template KernelSpec spec_for(const Fa3SpecTableSwitches&);
template KernelSpec spec_for(const Fa3KvSplitsSwitches&);

std::span<const CallKind> kinds() { return kKinds; }

}  // namespace draftjit::ops::fa3
