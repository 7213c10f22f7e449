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

constexpr std::array<jit::KernelVariant, 1> kVariants = {{
    {"fa3_decode", jit::scan_bit(jit::Scan::None), k::Fa3DecodeParams::kEntry, "Fa3DecodeParams", "fa3_kernel.cuh",
     "fa3_decode_kernel"},
}};

// The names of the kFa3* switch bits, bit i at index i.
constexpr std::array<const char*, 4> kFlagNames = {"seq64", "pool32", "swa", "skip"};
static_assert(1 << kFlagNames.size() == k::kFa3FlagsEnd && k::kFa3SeqLens64 == 1 && k::kFa3PoolIndices32 == 2 &&
              k::kFa3Swa == 4 && k::kFa3SkipPageTable == 8);

// One block size: block 0's prefix takes a run of ceil(bs / 256) requests per thread, the gather 256 x
// kFa3ItemPages pages per item.
constexpr int kThreads = 256;

int flags_of(const Fa3DecodeSwitches& s) {
  return (s.seq_lens == IndexType::Int64 ? k::kFa3SeqLens64 : 0) |
         (s.req_pool_indices == IndexType::Int32 ? k::kFa3PoolIndices32 : 0) | (s.swa ? k::kFa3Swa : 0) |
         (s.skip_page_table ? k::kFa3SkipPageTable : 0);
}

// Why the flags name no call's kernel, or nullopt: the one check of spec_for and of manifest lines.
std::optional<std::string> misfit(int flags) {
  if ((flags & k::kFa3Swa) != 0 && (flags & k::kFa3SkipPageTable) != 0) {
    return "the swa switch writes a page table, which skip leaves out";
  }
  return std::nullopt;
}

std::optional<std::string> unbuildable(const KernelSpec& spec) {
  if (auto why = misfit(spec.flags)) return why;
  if (spec.bs != 0 || spec.slots != 1 || spec.chunk != 1) return std::string("bs must be 0, slots and chunk 1");
  if (spec.threads != kThreads) return fmt::format("threads must be {}", kThreads);
  return std::nullopt;
}

// The kernel of these flags, checked first.
KernelSpec spec_of_flags(int flags) {
  if (auto why = misfit(flags)) throw std::invalid_argument(fmt::format("fa3_spec: {}", *why));
  KernelSpec spec;
  spec.family = kFa3Family;
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

KernelSpec spec_for(const Fa3DecodeSwitches& switches) { return spec_of_flags(flags_of(switches)); }

namespace {

constexpr std::array<CallKind, 1> kKinds = {{
    {"fa3-decode", "FA3's normal-decode metadata step", kFa3Family, k::kFa3FlagsEnd - 1,
     [](std::int64_t bs, int flags, const Tuning&) {
       check_bs(bs, "the fa3-decode kind");
       return std::vector<KernelSpec>{spec_of_flags(flags)};
     }},
}};

}  // namespace

std::span<const CallKind> kinds() { return kKinds; }

}  // namespace draftjit::ops::fa3
