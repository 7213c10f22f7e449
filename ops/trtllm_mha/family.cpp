#include "ops/trtllm_mha/family.hpp"

#include <fmt/format.h>

#include <array>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "ops/registry.hpp"
#include "templates/kernel_params.cuh"

namespace draftjit::ops::trtllm_mha {
namespace {

namespace k = draftjit_kernels;
using jit::KernelSpec;

constexpr std::array<jit::KernelVariant, 1> kVariants = {{
    {"trtllm_mha", jit::scan_bit(jit::Scan::None), k::TrtllmMhaParams::kEntry, "TrtllmMhaParams",
     "trtllm_mha_kernel.cuh", "trtllm_mha_kernel"},
}};

// The names of the kTrtllm* switch bits, bit i at index i.
constexpr std::array<const char*, 8> kFlagNames = {"seq64",    "pool32", "q64",    "qcumsum",
                                                   "qstrided", "swa",    "swaout", "skip"};
static_assert(1 << kFlagNames.size() == k::kTrtllmFlagsEnd && k::kTrtllmSeqLens64 == 1 &&
              k::kTrtllmPoolIndices32 == 2 && k::kTrtllmQlens64 == 4 && k::kTrtllmQCumsum == 8 &&
              k::kTrtllmQStrided == 16 && k::kTrtllmSwa == 32 && k::kTrtllmSwaOut == 64 &&
              k::kTrtllmSkipPageTable == 128);

// One block size: block 0's prefix takes a run of ceil(bs / 256) requests per thread, the gather 256 x
// kTrtllmItemPages pages per item.
constexpr int kThreads = 256;

int flags_of(const TrtllmMhaSwitches& s) {
  return (s.seq_lens == IndexType::Int64 ? k::kTrtllmSeqLens64 : 0) |
         (s.req_pool_indices == IndexType::Int32 ? k::kTrtllmPoolIndices32 : 0) |
         (s.qlens == IndexType::Int64 ? k::kTrtllmQlens64 : 0) |
         (s.q_mode == QMode::Cumsum ? k::kTrtllmQCumsum : 0) | (s.q_mode == QMode::Strided ? k::kTrtllmQStrided : 0) |
         (s.swa ? k::kTrtllmSwa : 0) | (s.swa_out ? k::kTrtllmSwaOut : 0) |
         (s.skip_page_table ? k::kTrtllmSkipPageTable : 0);
}

// Why the flags name no call's kernel, or nullopt: the one check of spec_for and of manifest lines.
std::optional<std::string> misfit(int flags) {
  if ((flags & k::kTrtllmQCumsum) != 0 && (flags & k::kTrtllmQStrided) != 0) {
    return "the qcumsum and qstrided switches exclude each other";
  }
  if ((flags & k::kTrtllmQlens64) != 0 && (flags & k::kTrtllmQCumsum) == 0) return "the q64 switch needs qcumsum";
  if ((flags & k::kTrtllmSwa) != 0 && (flags & k::kTrtllmSkipPageTable) != 0) {
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

}  // namespace

const jit::KernelFamily kFamily = {"trtllm_mha", kVariants, kFlagNames, &unbuildable};

void check_bs(std::int64_t bs, std::string_view call) {
  if (bs < 0 || bs > kMaxTrtllmMhaBs) {
    throw std::invalid_argument(fmt::format("{}: {}", call, out_of_range("bs", bs, kMaxTrtllmMhaBs)));
  }
}

namespace {

// The kernel of these flags, checked first: the kind's switches come as flags, which may name two q modes at once.
KernelSpec spec_of_flags(int flags) {
  if (auto why = misfit(flags)) throw std::invalid_argument(fmt::format("trtllm_mha_spec: {}", *why));
  KernelSpec spec;
  spec.family = kTrtllmMhaFamily;
  spec.threads = kThreads;
  spec.flags = flags;
  return spec;
}

}  // namespace

KernelSpec spec_for(const TrtllmMhaSwitches& switches) { return spec_of_flags(flags_of(switches)); }

namespace {

constexpr std::array<CallKind, 1> kKinds = {{
    {"trtllm-mha", "TRTLLM-MHA's graph metadata step", kTrtllmMhaFamily, k::kTrtllmFlagsEnd - 1,
     [](std::int64_t bs, int flags, const Tuning&) {
       check_bs(bs, "the trtllm-mha kind");
       return std::vector<KernelSpec>{spec_of_flags(flags)};
     }},
}};

}  // namespace

std::span<const CallKind> kinds() { return kKinds; }

}  // namespace draftjit::ops::trtllm_mha
