#include "ops/kv_indices/family.hpp"

#include <fmt/format.h>

#include <array>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ops/kv_indices/kv_indices_kernel.cuh"
#include "ops/kv_indices/ops.hpp"
#include "ops/registry.hpp"

namespace draftjit::ops::kv_indices {
namespace {

namespace k = draftjit_kernels;
using jit::KernelSpec;

// Indexed like kOps (ops.hpp). Every op takes the family's one params struct; the chunked prefix is FlashInfer's
// CSR writer with a start and E = 1, the same kernel template under its own name.
constexpr std::array<jit::KernelVariant, 3> kVariants = {{
    {"flashinfer_kv_indices", jit::scan_bit(jit::Scan::None), k::KvIndicesParams::kEntry, "KvIndicesParams",
     "kv_indices_kernel.cuh", "flashinfer_kv_indices_kernel"},
    {"flashmla_kv_indices", jit::scan_bit(jit::Scan::None), k::KvIndicesParams::kEntry, "KvIndicesParams",
     "kv_indices_kernel.cuh", "flashmla_kv_indices_kernel"},
    {"chunked_prefix_kv_indices", jit::scan_bit(jit::Scan::None), k::KvIndicesParams::kEntry, "KvIndicesParams",
     "kv_indices_kernel.cuh", "flashinfer_kv_indices_kernel"},
}};
static_assert(kVariants.size() == kOps.size());

// The names of the kKv* switch bits, bit i at index i.
constexpr std::array<const char*, 7> kFlagNames = {"start", "start64", "len64", "pool32", "entry", "map", "out64"};
static_assert(1 << kFlagNames.size() == k::kKvFlagsEnd && k::kKvStart == 1 && k::kKvStart64 == 2 &&
              k::kKvLens64 == 4 && k::kKvPoolIndices32 == 8 && k::kKvEntry == 16 && k::kKvMap == 32 &&
              k::kKvOut64 == 64);

// Each op's call kind, the switches its calls have and those every call has, indexed like kOps.
struct OpKind {
  const char* kind;
  const char* summary;
  int flags;
  int fixed = 0;
};
constexpr std::array<OpKind, 3> kOpKinds = {{
    {"kv-indices", "FlashInfer's CSR kv_indices (create_flashinfer_kv_indices_triton)",
     k::kKvStart | k::kKvStart64 | k::kKvLens64 | k::kKvPoolIndices32 | k::kKvEntry | k::kKvMap | k::kKvOut64},
    {"flashmla", "FlashMLA's block table (create_flashmla_kv_indices_triton)",
     k::kKvStart | k::kKvStart64 | k::kKvLens64 | k::kKvPoolIndices32},
    {"chunked-prefix", "the chunked prefix's kv_indices (create_chunked_prefix_cache_kv_indices)",
     k::kKvStart64 | k::kKvLens64 | k::kKvPoolIndices32 | k::kKvOut64, k::kKvStart},
}};
static_assert(kOpKinds.size() == kOps.size());

// One block size: a tile is 256 x kKvItemsPerThread positions or pages of one request.
constexpr int kThreads = 256;

// Why the flags name no call's kernel of op `index`, or nullopt: the one check of spec_for and of manifest lines.
std::optional<std::string> misfit(std::size_t index, int flags) {
  const OpKind& op = kOpKinds[index];
  if ((flags & op.fixed) != op.fixed) {
    return fmt::format("every {} kernel has the switch bits {:#x}", op.kind, op.fixed);
  }
  const int extra = flags & ~(op.flags | op.fixed);
  if (extra != 0) {
    for (std::size_t bit = 0; bit < kFlagNames.size(); ++bit) {
      if ((extra >> bit & 1) != 0) return fmt::format("{} has no {} switch", op.kind, kFlagNames[bit]);
    }
    return fmt::format("{} has no switch bits {:#x}", op.kind, extra);
  }
  if ((flags & k::kKvStart64) != 0 && (flags & k::kKvStart) == 0) return std::string("start64 needs start");
  return std::nullopt;
}

std::optional<std::string> unbuildable(const KernelSpec& spec) {
  if (spec.variant >= kVariants.size()) return std::string("no such variant");
  if (auto why = misfit(spec.variant, spec.flags)) return why;
  if (spec.bs != 0 || spec.slots != 1 || spec.chunk != 1) return std::string("bs must be 0, slots and chunk 1");
  if (spec.threads != kThreads) return fmt::format("threads must be {}", kThreads);
  return std::nullopt;
}

// The kernel of op `index` and these flags, checked first.
KernelSpec spec_of_flags(std::size_t index, int flags) {
  if (auto why = misfit(index, flags)) throw std::invalid_argument(fmt::format("kv_indices_spec: {}", *why));
  KernelSpec spec;
  spec.family = kKvIndicesFamily;
  spec.variant = static_cast<std::uint8_t>(index);
  spec.threads = kThreads;
  spec.flags = flags;
  return spec;
}

template <std::size_t I>
std::vector<KernelSpec> plan(std::int64_t bs, int flags, const Tuning&) {
  check_bs(bs, fmt::format("the {} kind", kOpKinds[I].kind));
  return {spec_of_flags(I, flags | kOpKinds[I].fixed)};
}

template <std::size_t... I>
constexpr std::array<CallKind, sizeof...(I)> kinds_of(std::index_sequence<I...>) {
  return {{CallKind{kOpKinds[I].kind, kOpKinds[I].summary, kKvIndicesFamily, kOpKinds[I].flags, &plan<I>}...}};
}
constexpr auto kKinds = kinds_of(std::make_index_sequence<kOps.size()>());

}  // namespace

const jit::KernelFamily kFamily = {"kv_indices", kVariants, kFlagNames, &unbuildable};

void check_bs(std::int64_t bs, std::string_view call) {
  if (bs < 0 || bs > kMaxKvIndicesBs) {
    throw std::invalid_argument(fmt::format("{}: {}", call, out_of_range("bs", bs, kMaxKvIndicesBs)));
  }
}

KernelSpec spec_for(const OpDescription& op, int flags) {
  for (std::size_t i = 0; i < kOps.size(); ++i) {
    if (kOps[i] == &op) return spec_of_flags(i, flags);
  }
  throw std::logic_error(fmt::format("{} is no op of the kv_indices family", op.name));
}

std::span<const CallKind> kinds() { return kKinds; }

}  // namespace draftjit::ops::kv_indices
