#include "ops/trtllm_mha/family.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "ops/registry.hpp"
#include "ops/trtllm_mha/ops.hpp"
#include "templates/kernel_params.cuh"

namespace draftjit::ops::trtllm_mha {
namespace {

namespace k = draftjit_kernels;
using jit::KernelSpec;

// Indexed as kOps (ops.hpp): every op's kernel takes the family's one params struct and reads what its call has.
constexpr std::array<jit::KernelVariant, 2> kVariants = {{
    {"trtllm_mha", jit::scan_bit(jit::Scan::None), k::TrtllmMhaParams::kEntry, "TrtllmMhaParams",
     "trtllm_mha_kernel.cuh", "trtllm_mha_kernel"},
    {"trtllm_mla", jit::scan_bit(jit::Scan::None), k::TrtllmMhaParams::kEntry, "TrtllmMhaParams",
     "trtllm_mha_kernel.cuh", "trtllm_mla_kernel"},
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
// MLA's seq_lens_k is optional at run time (a null pointer): the flags' 8 bits are all taken.
constexpr std::array<int, 2> kOpFlags = {k::kTrtllmFlagsEnd - 1, k::kTrtllmSeqLens64 | k::kTrtllmPoolIndices32};
static_assert(kOpFlags.size() == kOps.size());

// One block size: block 0's prefix takes a run of ceil(bs / 256) requests per thread, the gather 256 x
// kTrtllmItemPages pages per item.
constexpr int kThreads = 256;

// Why the flags name no call's kernel of op `op` (its index in kOps), or nullopt: the one check of spec_for and of
// manifest lines.
std::optional<std::string> misfit(std::size_t op, int flags) {
  if (const int extra = flags & ~kOpFlags[op]; extra != 0) {
    return fmt::format("the {} switch is not {}'s", kFlagNames[std::countr_zero(static_cast<unsigned>(extra))],
                       kOps[op]->name);
  }
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
  if (spec.variant >= kVariants.size()) return std::string("no such variant");
  if (auto why = misfit(spec.variant, spec.flags)) return why;
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

// The kernel of op `op` (its index in kOps) and these flags, checked first: the kind's switches come as flags,
// which may name two q modes at once.
KernelSpec spec_of_flags(std::size_t op, int flags) {
  if (auto why = misfit(op, flags)) throw std::invalid_argument(fmt::format("trtllm_mha_spec: {}", *why));
  KernelSpec spec;
  spec.family = kTrtllmMhaFamily;
  spec.variant = static_cast<std::uint8_t>(op);
  spec.threads = kThreads;
  spec.flags = flags;
  return spec;
}

}  // namespace

KernelSpec spec_for(const OpDescription& op, int flags) {
  const auto* at = std::find(kOps.begin(), kOps.end(), &op);
  if (at == kOps.end()) throw std::invalid_argument(fmt::format("trtllm_mha_spec: {} is not the family's", op.name));
  return spec_of_flags(static_cast<std::size_t>(at - kOps.begin()), flags);
}

namespace {

constexpr std::array<CallKind, 2> kKinds = {{
    {"trtllm-mha", "TRTLLM-MHA's graph metadata step", kTrtllmMhaFamily, kOpFlags[0],
     [](std::int64_t bs, int flags, const Tuning&) {
       check_bs(bs, "the trtllm-mha kind");
       return std::vector<KernelSpec>{spec_of_flags(0, flags)};
     }},
    {"trtllm-mla", "TRTLLM-MLA's graph metadata step", kTrtllmMhaFamily, kOpFlags[1],
     [](std::int64_t bs, int flags, const Tuning&) {
       check_bs(bs, "the trtllm-mla kind");
       return std::vector<KernelSpec>{spec_of_flags(1, flags)};
     }},
}};

}  // namespace

std::span<const CallKind> kinds() { return kKinds; }

}  // namespace draftjit::ops::trtllm_mha
