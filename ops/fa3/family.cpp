#include "ops/fa3/family.hpp"

#include <fmt/format.h>

#include <array>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "ops/registry.hpp"
#include "templates/kernel_params.cuh"

namespace draftjit::ops::fa3 {
namespace {

namespace k = draftjit_kernels;
using jit::KernelSpec;

// The family's ops, its variants' indices.
enum class Fa3Op : std::uint8_t { Decode, Extend, SpecTable, KvSplits };

// Indexed by Fa3Op.
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

// The names of the kFa3* switch bits, bit i at index i.
constexpr std::array<const char*, 7> kFlagNames = {"seq64", "pool32", "swa", "skip", "ext64", "a64", "b64"};
static_assert(1 << kFlagNames.size() == k::kFa3FlagsEnd && k::kFa3SeqLens64 == 1 && k::kFa3PoolIndices32 == 2 &&
              k::kFa3Swa == 4 && k::kFa3SkipPageTable == 8 && k::kFa3Ext64 == 16 && k::kFa3SeqLenA64 == 32 &&
              k::kFa3SeqLenB64 == 64);

// Each op's switches: skip_page_table is the decode's, an int64 extend_seq_lens draft extend's.
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

// Why the flags name no call's kernel of this op, or nullopt: the one check of spec_for and of manifest lines.
std::optional<std::string> misfit(Fa3Op op, int flags) {
  if ((flags & ~kOpFlags[static_cast<int>(op)]) != 0) {
    std::string names;  // the op's switches
    for (std::size_t bit = 0; bit < kFlagNames.size(); ++bit) {
      if ((kOpFlags[static_cast<int>(op)] & (1 << bit)) != 0) names += fmt::format(" {}", kFlagNames[bit]);
    }
    return fmt::format("the {} kernel's switches are{}", kVariants[static_cast<int>(op)].name, names);
  }
  if ((flags & k::kFa3Swa) != 0 && (flags & k::kFa3SkipPageTable) != 0) {
    return "the swa switch writes a page table, which skip leaves out";
  }
  return std::nullopt;
}

std::optional<std::string> unbuildable(const KernelSpec& spec) {
  if (spec.variant >= kVariants.size()) return std::string("no such variant");
  if (auto why = misfit(static_cast<Fa3Op>(spec.variant), spec.flags)) return why;
  if (spec.bs != 0 || spec.slots != 1 || spec.chunk != 1) return std::string("bs must be 0, slots and chunk 1");
  if (spec.threads != kThreads) return fmt::format("threads must be {}", kThreads);
  return std::nullopt;
}

// The kernel of this op and these flags, checked first.
KernelSpec spec_of_flags(Fa3Op op, int flags) {
  if (auto why = misfit(op, flags)) throw std::invalid_argument(fmt::format("fa3_spec: {}", *why));
  KernelSpec spec;
  spec.family = kFa3Family;
  spec.variant = static_cast<std::uint8_t>(op);
  spec.threads = kThreads;
  spec.flags = flags;
  return spec;
}

}  // namespace

const jit::KernelFamily kFamily = {"fa3", kVariants, kFlagNames, &unbuildable};

void check_bs(std::int64_t bs, std::string_view call) {
  if (bs < 0 || bs > kMaxFa3Bs) {
    throw std::invalid_argument(fmt::format("{}: {}", call, out_of_range("bs", bs, kMaxFa3Bs)));
  }
}

template <class Switches>
KernelSpec spec_for(const Switches& switches) {
  return spec_of_flags(op_of(switches), flags_of(switches));
}
template KernelSpec spec_for(const Fa3DecodeSwitches&);
template KernelSpec spec_for(const Fa3ExtendSwitches&);
template KernelSpec spec_for(const Fa3SpecTableSwitches&);
template KernelSpec spec_for(const Fa3KvSplitsSwitches&);

namespace {

constexpr std::array<CallKind, 4> kKinds = {{
    {"fa3-decode", "FA3's normal-decode metadata step", kFa3Family, kOpFlags[0],
     [](std::int64_t bs, int flags, const Tuning&) {
       check_bs(bs, "the fa3-decode kind");
       return std::vector<KernelSpec>{spec_of_flags(Fa3Op::Decode, flags)};
     }},
    {"fa3-extend", "FA3's draft-extend metadata step", kFa3Family, kOpFlags[1],
     [](std::int64_t bs, int flags, const Tuning&) {
       check_bs(bs, "the fa3-extend kind");
       return std::vector<KernelSpec>{spec_of_flags(Fa3Op::Extend, flags)};
     }},
    {"fa3-swa-spec", "FA3's SWA speculative page table", kFa3Family, kOpFlags[2],
     [](std::int64_t bs, int flags, const Tuning&) {
       check_bs(bs, "the fa3-swa-spec kind");
       return std::vector<KernelSpec>{spec_of_flags(Fa3Op::SpecTable, flags)};
     }},
    {"fa3-kv-splits", "FA3's (Triton backend's) KV-split count", kFa3Family, kOpFlags[3],
     [](std::int64_t bs, int flags, const Tuning&) {
       check_bs(bs, "the fa3-kv-splits kind");
       return std::vector<KernelSpec>{spec_of_flags(Fa3Op::KvSplits, flags)};
     }},
}};

}  // namespace

std::span<const CallKind> kinds() { return kKinds; }

}  // namespace draftjit::ops::fa3
