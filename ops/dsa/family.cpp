#include "ops/dsa/family.hpp"

#include <fmt/format.h>

#include <array>
#include <optional>
#include <stdexcept>
#include <string>

#include "ops/common/scan_layout.hpp"
#include "ops/registry.hpp"
#include "templates/kernel_params.cuh"

namespace draftjit::ops::dsa {
namespace {

namespace k = draftjit_kernels;
using jit::KernelSpec;
using jit::Scan;

// One variant per DsaMode, in its order.
constexpr std::array<jit::KernelVariant, 3> kVariants = {{
    {"dsa_decode", jit::kEitherScan, k::DsaDecodeParams::kEntry, "DsaDecodeParams", "dsa_kernel.cuh", "dsa_decode_kernel",
     k::kDsaDecodeSharedArrays},
    {"dsa_target_verify", jit::kEitherScan, k::DsaTargetVerifyParams::kEntry, "DsaTargetVerifyParams", "dsa_kernel.cuh",
     "dsa_target_verify_kernel", k::kDsaTargetVerifySharedArrays},
    {"dsa_draft_extend", jit::kEitherScan, k::DsaDraftExtendParams::kEntry, "DsaDraftExtendParams", "dsa_kernel.cuh",
     "dsa_draft_extend_kernel", k::kDsaDraftExtendSharedArrays},
}};
static_assert(static_cast<int>(DsaMode::Decode) == 0 && static_cast<int>(DsaMode::TargetVerify) == 1 &&
              static_cast<int>(DsaMode::DraftExtend) == 2);

// The names of the kDsa* switch bits, bit i at index i.
constexpr std::array<const char*, 8> kFlagNames = {"seq64", "pool32", "paged", "kpool",
                                                   "ctx2d", "ext64",  "static", "realonly"};
static_assert(1 << kFlagNames.size() == k::kDsaFlagsEnd && k::kDsaSeqLens64 == 1 && k::kDsaPoolIndices32 == 2 &&
              k::kDsaPaged == 4 && k::kDsaKpool == 8 && k::kDsaCtxLens2d == 16 && k::kDsaExtend64 == 32 &&
              k::kDsaStaticExtend == 64 && k::kDsaRealOnly == 128);

// Eight slots per thread: the threads then share the row gather, where a wider block helps, while the Blelloch's
// registers per thread stay few.
constexpr int kSlotsPerThread = 8;

int flags_of(const DsaSwitches& s) {
  return (s.seq_lens == IndexType::Int64 ? k::kDsaSeqLens64 : 0) |
         (s.req_pool_indices == IndexType::Int32 ? k::kDsaPoolIndices32 : 0) | (s.paged ? k::kDsaPaged : 0) |
         (s.kpool ? k::kDsaKpool : 0) | (s.ctx_lens_2d ? k::kDsaCtxLens2d : 0) |
         (s.extend_seq_lens == IndexType::Int64 ? k::kDsaExtend64 : 0) | (s.static_extend ? k::kDsaStaticExtend : 0) |
         (s.real_only ? k::kDsaRealOnly : 0);
}

// Why the switches do not fit the mode, or nullopt: the one check of spec_for and of manifest lines.
std::optional<std::string> misfit(DsaMode mode, const DsaSwitches& s) {
  if (s.ctx_lens_2d && mode != DsaMode::TargetVerify) return "the ctx2d switch is target verify's only";
  if ((s.extend_seq_lens == IndexType::Int64 || s.static_extend) && mode != DsaMode::DraftExtend) {
    return "the ext64 and static switches are draft extend's only";
  }
  if (s.real_only && !s.paged) return "the realonly switch needs paged (real_page_size > 1)";
  return std::nullopt;
}

std::optional<std::string> unbuildable(const KernelSpec& spec) {
  const auto mode = static_cast<DsaMode>(spec.variant);
  if (auto why = misfit(mode, switches_of(spec.flags))) return why;
  if (!jit::is_pow2_block(spec.threads)) {
    return fmt::format("threads must be a power of two in [32, {}]", jit::kMaxThreads);
  }
  const bool small = spec.scan == Scan::Unrolled;
  const int max_bs = small ? std::min(kMaxUnrollBs, kMaxDsaBs) : 0;
  if (spec.bs < 0 || spec.bs > max_bs) return fmt::format("bs must be in [0, {}]", max_bs);
  const long long lengths = static_cast<long long>(spec.slots) * spec.chunk;
  if (!small && (!jit::is_pow2(spec.slots) || !jit::is_pow2(spec.chunk) || lengths > jit::next_pow2(kMaxDsaBs))) {
    return fmt::format("slots x chunk must be powers of two of at most {} lengths", jit::next_pow2(kMaxDsaBs));
  }
  // The tuning that makes this block size over the widest range of bs.
  Tuning tuning;
  tuning.unroll_max_bs = small ? kMaxUnrollBs : 0;
  tuning.dsa_threads = spec.threads;
  const int bs = small ? spec.bs : static_cast<int>(lengths / 2 + 1);
  const KernelSpec made = spec_for(mode, bs, switches_of(spec.flags), tuning);
  if (spec.slots != made.slots || spec.chunk != made.chunk) {
    return fmt::format("slots and chunk must be {} and {}", made.slots, made.chunk);
  }
  if (spec.threads != made.threads) return fmt::format("threads must be at least {} for these slots", made.threads);
  return std::nullopt;
}

}  // namespace

DsaSwitches switches_of(int flags) {
  return {(flags & k::kDsaSeqLens64) != 0 ? IndexType::Int64 : IndexType::Int32,
          (flags & k::kDsaPoolIndices32) != 0 ? IndexType::Int32 : IndexType::Int64, (flags & k::kDsaPaged) != 0,
          (flags & k::kDsaKpool) != 0, (flags & k::kDsaCtxLens2d) != 0,
          (flags & k::kDsaExtend64) != 0 ? IndexType::Int64 : IndexType::Int32, (flags & k::kDsaStaticExtend) != 0,
          (flags & k::kDsaRealOnly) != 0};
}

const jit::KernelFamily kFamily = {"dsa", kVariants, kFlagNames, &unbuildable};

void check_bs(std::int64_t bs, std::string_view call) {
  if (bs < 0 || bs > kMaxDsaBs) {
    throw std::invalid_argument(fmt::format("{}: {}", call, out_of_range("bs", bs, kMaxDsaBs)));
  }
}

KernelSpec spec_for(DsaMode mode, int bs, const DsaSwitches& switches, const Tuning& tuning) {
  check_bs(bs, "dsa_spec");
  if (auto why = misfit(mode, switches)) throw std::invalid_argument(fmt::format("dsa_spec: {}", *why));
  KernelSpec spec;
  spec.family = kDsaFamily;
  spec.variant = static_cast<std::uint8_t>(mode);
  spec = bs <= tuning.unroll_max_bs ? unrolled(spec, bs, tuning.dsa_threads)
                                    : blelloch(spec, bs, tuning.dsa_threads, jit::kMaxThreads, kSlotsPerThread);
  spec.flags = flags_of(switches);
  return spec;
}

namespace {

template <DsaMode mode>
std::vector<KernelSpec> plan(std::int64_t bs, int flags, const Tuning& tuning) {
  check_bs(bs, "the DSA kinds");
  return {spec_for(mode, static_cast<int>(bs), switches_of(flags), tuning)};
}

// The switches every mode has, and those one mode adds.
constexpr int kCommonSwitches =
    k::kDsaSeqLens64 | k::kDsaPoolIndices32 | k::kDsaPaged | k::kDsaKpool | k::kDsaRealOnly;

constexpr std::array<CallKind, 3> kKinds = {{
    {"dsa-decode", "the DSA decode metadata step", kDsaFamily, kCommonSwitches, &plan<DsaMode::Decode>},
    {"dsa-verify", "the DSA target-verify metadata step", kDsaFamily, kCommonSwitches | k::kDsaCtxLens2d,
     &plan<DsaMode::TargetVerify>},
    {"dsa-extend", "the DSA draft-extend metadata step", kDsaFamily,
     kCommonSwitches | k::kDsaExtend64 | k::kDsaStaticExtend, &plan<DsaMode::DraftExtend>},
}};

}  // namespace

std::span<const CallKind> kinds() { return kKinds; }

}  // namespace draftjit::ops::dsa
