#include "jit/kernel_spec.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <set>
#include <utility>
#include <stdexcept>

#include "templates/kernel_params.cuh"

namespace draftjit::jit {
namespace {

constexpr int kWarpThreads = 32;  // the smallest block, and the granule of every block size

bool block(int threads) { return threads >= kWarpThreads && threads <= kMaxThreads && threads % kWarpThreads == 0; }
bool pow2(int n) { return n > 0 && std::has_single_bit(static_cast<unsigned>(n)); }
bool pow2_block(int threads) { return block(threads) && pow2(threads); }

}  // namespace
}  // namespace draftjit::jit

namespace draftjit {

void validate(const Tuning& t) {
  using jit::block;
  using jit::kMaxThreads;
  using jit::pow2_block;
  auto require = [](bool ok, std::string_view what) {
    if (!ok) throw std::invalid_argument(fmt::format("draftjit::Tuning: {}", what));
  };
  require(t.unroll_max_bs >= 0 && t.unroll_max_bs <= kMaxUnrollBs,
          fmt::format("unroll_max_bs must be in [0, {}]", kMaxUnrollBs));
  require(t.fused_max_bs >= 0 && t.fused_max_bs <= kMaxFusedBs,
          fmt::format("fused_max_bs must be in [0, {}]", kMaxFusedBs));
  require(block(t.fused_unrolled_threads),
          fmt::format("fused_unrolled_threads must be a multiple of 32 in [32, {}]", kMaxThreads));
  require(pow2_block(t.fused_blelloch_min_threads),
          fmt::format("fused_blelloch_min_threads must be a power of two in [32, {}]", kMaxThreads));
  require(pow2_block(t.fused_blelloch_max_threads) && t.fused_blelloch_max_threads >= t.fused_blelloch_min_threads,
          fmt::format("fused_blelloch_max_threads must be a power of two in [fused_blelloch_min_threads, {}]",
                      kMaxThreads));
  require(block(t.fill_threads), fmt::format("fill_threads must be a multiple of 32 in [32, {}]", kMaxThreads));
  require(pow2_block(t.dsa_threads), fmt::format("dsa_threads must be a power of two in [32, {}]", kMaxThreads));
}

}  // namespace draftjit

namespace draftjit::jit {
namespace {

namespace k = draftjit_kernels;

constexpr std::array<KindInfo, 11> kKinds = {{
    {KernelKind::ScanUnrolled, "scan_unrolled", k::ScanParams::kEntry, "ScanParams", Scan::Unrolled,
     "scan_kernel.cuh", "scan_kernel"},
    {KernelKind::ScanBlelloch, "scan_blelloch", k::ScanParams::kEntry, "ScanParams", Scan::Blelloch,
     "scan_kernel.cuh", "scan_kernel"},
    {KernelKind::FusedUnrolled, "fused_unrolled", k::FusedParams::kEntry, "FusedParams", Scan::Unrolled,
     "fused_kernel.cuh", "fused_kernel"},
    {KernelKind::FusedBlelloch, "fused_blelloch", k::FusedParams::kEntry, "FusedParams", Scan::Blelloch,
     "fused_kernel.cuh", "fused_kernel"},
    {KernelKind::Fill, "fill", k::FillParams::kEntry, "FillParams", Scan::None, "fill_kernel.cuh", "fill_kernel"},
    {KernelKind::DsaDecodeUnrolled, "dsa_decode_unrolled", k::DsaDecodeParams::kEntry, "DsaDecodeParams",
     Scan::Unrolled, "dsa_kernel.cuh", "dsa_decode_kernel", k::kDsaDecodeSharedArrays},
    {KernelKind::DsaDecodeBlelloch, "dsa_decode_blelloch", k::DsaDecodeParams::kEntry, "DsaDecodeParams",
     Scan::Blelloch, "dsa_kernel.cuh", "dsa_decode_kernel", k::kDsaDecodeSharedArrays},
    {KernelKind::DsaTargetVerifyUnrolled, "dsa_target_verify_unrolled", k::DsaTargetVerifyParams::kEntry,
     "DsaTargetVerifyParams", Scan::Unrolled, "dsa_kernel.cuh", "dsa_target_verify_kernel",
     k::kDsaTargetVerifySharedArrays},
    {KernelKind::DsaTargetVerifyBlelloch, "dsa_target_verify_blelloch", k::DsaTargetVerifyParams::kEntry,
     "DsaTargetVerifyParams", Scan::Blelloch, "dsa_kernel.cuh", "dsa_target_verify_kernel",
     k::kDsaTargetVerifySharedArrays},
    {KernelKind::DsaDraftExtendUnrolled, "dsa_draft_extend_unrolled", k::DsaDraftExtendParams::kEntry,
     "DsaDraftExtendParams", Scan::Unrolled, "dsa_kernel.cuh", "dsa_draft_extend_kernel",
     k::kDsaDraftExtendSharedArrays},
    {KernelKind::DsaDraftExtendBlelloch, "dsa_draft_extend_blelloch", k::DsaDraftExtendParams::kEntry,
     "DsaDraftExtendParams", Scan::Blelloch, "dsa_kernel.cuh", "dsa_draft_extend_kernel",
     k::kDsaDraftExtendSharedArrays},
}};

// The names of the kDsa* switch bits, in bit order, as spec names spell them.
constexpr std::array<std::pair<int, const char*>, 5> kDsaFlagNames = {{
    {k::kDsaSeqLens64, "seq64"},
    {k::kDsaPoolIndices32, "pool32"},
    {k::kDsaPaged, "paged"},
    {k::kDsaKpool, "kpool"},
    {k::kDsaCtxLens2d, "ctx2d"},
}};

constexpr bool rows_in_enum_order() {
  for (std::size_t i = 0; i < kKinds.size(); ++i) {
    if (static_cast<std::size_t>(kKinds[i].kind) != i) return false;
  }
  return true;
}
static_assert(rows_in_enum_order(), "kind_info indexes kKinds by KernelKind");

// The unrolled scan runs over exactly bs lengths, into next_pow2(bs) slots of one length each.
KernelSpec unrolled(KernelKind kind, int bs, int threads) { return {kind, bs, next_pow2(bs), 1, threads}; }

// Slots cover next_pow2(bs) lengths; past kMaxSlots each slot takes a power-of-two chunk of them. The block gets
// one thread per slots_per_thread slots, within [min_threads, max_threads].
KernelSpec blelloch(KernelKind kind, int bs, int min_threads, int max_threads, int slots_per_thread = 2) {
  KernelSpec spec;
  spec.kind = kind;
  const int lengths = next_pow2(bs);
  spec.slots = std::min(lengths, kMaxSlots);
  spec.chunk = lengths / spec.slots;
  spec.threads = std::max(min_threads, std::min(max_threads, spec.slots / slots_per_thread));
  return spec;
}

// Eight slots per thread: the DSA kernels' threads then share the row gather, where a wider block helps, while the
// Blelloch's registers per thread stay few.
constexpr int kDsaSlotsPerThread = 8;

KernelKind dsa_kind(DsaMode mode, bool unrolled) {
  switch (mode) {
    case DsaMode::Decode: return unrolled ? KernelKind::DsaDecodeUnrolled : KernelKind::DsaDecodeBlelloch;
    case DsaMode::TargetVerify:
      return unrolled ? KernelKind::DsaTargetVerifyUnrolled : KernelKind::DsaTargetVerifyBlelloch;
    case DsaMode::DraftExtend: break;
  }
  return unrolled ? KernelKind::DsaDraftExtendUnrolled : KernelKind::DsaDraftExtendBlelloch;
}

DsaMode dsa_mode_of(KernelKind kind) {
  switch (kind) {
    case KernelKind::DsaDecodeUnrolled:
    case KernelKind::DsaDecodeBlelloch: return DsaMode::Decode;
    case KernelKind::DsaTargetVerifyUnrolled:
    case KernelKind::DsaTargetVerifyBlelloch: return DsaMode::TargetVerify;
    default: return DsaMode::DraftExtend;
  }
}

int dsa_flags(const DsaSwitches& s) {
  return (s.seq_lens == IndexType::Int64 ? k::kDsaSeqLens64 : 0) |
         (s.req_pool_indices == IndexType::Int32 ? k::kDsaPoolIndices32 : 0) | (s.paged ? k::kDsaPaged : 0) |
         (s.kpool ? k::kDsaKpool : 0) | (s.ctx_lens_2d ? k::kDsaCtxLens2d : 0);
}

DsaSwitches dsa_switches(int flags) {
  return {(flags & k::kDsaSeqLens64) != 0 ? IndexType::Int64 : IndexType::Int32,
          (flags & k::kDsaPoolIndices32) != 0 ? IndexType::Int32 : IndexType::Int64, (flags & k::kDsaPaged) != 0,
          (flags & k::kDsaKpool) != 0, (flags & k::kDsaCtxLens2d) != 0};
}

}  // namespace

const KindInfo& kind_info(KernelKind kind) { return kKinds.at(static_cast<std::size_t>(kind)); }

std::span<const KindInfo> kernel_kinds() { return kKinds; }

std::string KernelSpec::name() const {
  std::string text;
  switch (info().scan) {
    case Scan::Unrolled: text = fmt::format("{}.bs{}.t{}", info().name, bs, threads); break;
    case Scan::Blelloch: text = fmt::format("{}.s{}.c{}.t{}", info().name, slots, chunk, threads); break;
    case Scan::None: text = fmt::format("{}.t{}", info().name, threads); break;
  }
  for (const auto& [bit, flag_name] : kDsaFlagNames) {
    if ((flags & bit) != 0) fmt::format_to(std::back_inserter(text), ".{}", flag_name);
  }
  return text;
}

std::uint64_t KernelSpec::id() const {
  // kind: 4 bits, bs: 21 bits, log2(slots): 5, log2(chunk): 5, threads: 11, flags: 5.
  return static_cast<std::uint64_t>(kind) | static_cast<std::uint64_t>(bs) << 4 |
         static_cast<std::uint64_t>(std::countr_zero(static_cast<unsigned>(slots))) << 25 |
         static_cast<std::uint64_t>(std::countr_zero(static_cast<unsigned>(chunk))) << 30 |
         static_cast<std::uint64_t>(threads) << 35 | static_cast<std::uint64_t>(flags) << 46;
}

unsigned KernelSpec::dynamic_shared_bytes() const {
  return static_cast<unsigned>(static_cast<std::size_t>(info().shared_arrays) * static_cast<std::size_t>(slots) *
                               sizeof(unsigned));
}

int next_pow2(int n) { return static_cast<int>(std::bit_ceil(static_cast<unsigned>(std::max(n, 1)))); }

void check_bs(std::int64_t bs, std::string_view call) {
  if (bs < 0 || bs > kMaxBs) {
    throw std::invalid_argument(fmt::format("{}: bs = {} is outside the supported range [0, {}]", call, bs, kMaxBs));
  }
}

void check_dsa_bs(std::int64_t bs, std::string_view call) {
  if (bs < 0 || bs > kMaxDsaBs) {
    throw std::invalid_argument(
        fmt::format("{}: bs = {} is outside the supported range [0, {}]", call, bs, kMaxDsaBs));
  }
}

bool fits_fused(int bs, const Tuning& tuning) { return bs <= tuning.fused_max_bs; }

KernelSpec scan_spec(int bs, const Tuning& tuning) {
  check_bs(bs, "scan_spec");
  if (bs <= tuning.unroll_max_bs) return unrolled(KernelKind::ScanUnrolled, bs, 1);  // one thread runs the scan
  return blelloch(KernelKind::ScanBlelloch, bs, kWarpThreads, kMaxThreads);
}

KernelSpec fused_spec(int bs, const Tuning& tuning) {
  check_bs(bs, "fused_spec");
  if (!fits_fused(bs, tuning)) {
    throw std::invalid_argument(
        fmt::format("fused_spec: bs = {} exceeds fused_max_bs = {}", bs, tuning.fused_max_bs));
  }
  if (bs <= tuning.unroll_max_bs) {
    return unrolled(KernelKind::FusedUnrolled, bs, tuning.fused_unrolled_threads);
  }
  return blelloch(KernelKind::FusedBlelloch, bs, tuning.fused_blelloch_min_threads,
                  tuning.fused_blelloch_max_threads);
}

KernelSpec fill_spec(const Tuning& tuning) { return {KernelKind::Fill, 0, 1, 1, tuning.fill_threads}; }

CallPlan call_plan(int bs, const Tuning& tuning) {
  if (fits_fused(bs, tuning)) return {fused_spec(bs, tuning), std::nullopt};
  return {scan_spec(bs, tuning), fill_spec(tuning)};
}

CallPlan offsets_plan(int bs, const Tuning& tuning) { return {scan_spec(bs, tuning), std::nullopt}; }

KernelSpec dsa_spec(DsaMode mode, int bs, const DsaSwitches& switches, const Tuning& tuning) {
  check_dsa_bs(bs, "dsa_spec");
  if (switches.ctx_lens_2d && mode != DsaMode::TargetVerify) {
    throw std::invalid_argument("dsa_spec: paged_mqa_ctx_lens_2d is target verify's output only");
  }
  const bool small = bs <= tuning.unroll_max_bs;
  KernelSpec spec = small ? unrolled(dsa_kind(mode, true), bs, tuning.dsa_threads)
                          : blelloch(dsa_kind(mode, false), bs, tuning.dsa_threads, kMaxThreads, kDsaSlotsPerThread);
  spec.flags = dsa_flags(switches);
  return spec;
}

std::optional<DsaMode> dsa_mode_named(std::string_view name) {
  if (name == "dsa-decode") return DsaMode::Decode;
  if (name == "dsa-verify") return DsaMode::TargetVerify;
  if (name == "dsa-extend") return DsaMode::DraftExtend;
  return std::nullopt;
}

std::vector<KernelSpec> dsa_kernels_for(DsaMode mode, const std::vector<int>& bs_list, const DsaSwitches& switches,
                                        const Tuning& tuning) {
  std::vector<KernelSpec> specs;
  std::set<std::uint64_t> seen;
  for (int bs : bs_list) {
    const KernelSpec spec = dsa_spec(mode, bs, switches, tuning);
    if (seen.insert(spec.id()).second) specs.push_back(spec);
  }
  return specs;
}

namespace {

// The tuning under which the constructors above make spec's kind with spec's block size over the widest range of
// bs: the spec is buildable when they make exactly it.
Tuning widest_tuning_for(const KernelSpec& spec) {
  Tuning tuning;
  const Scan scan = spec.info().scan;
  tuning.unroll_max_bs = scan == Scan::Unrolled ? kMaxUnrollBs : 0;
  tuning.fused_max_bs = kMaxFusedBs;
  tuning.fused_unrolled_threads = spec.threads;
  tuning.fused_blelloch_min_threads = spec.threads;
  tuning.fused_blelloch_max_threads = spec.threads;
  tuning.fill_threads = spec.threads;
  tuning.dsa_threads = spec.threads;
  return tuning;
}

KernelSpec made_for(const KernelSpec& spec, int bs) {
  const Tuning tuning = widest_tuning_for(spec);
  switch (spec.kind) {
    case KernelKind::ScanUnrolled:
    case KernelKind::ScanBlelloch: return scan_spec(bs, tuning);
    case KernelKind::FusedUnrolled:
    case KernelKind::FusedBlelloch: return fused_spec(bs, tuning);
    case KernelKind::Fill: return fill_spec(tuning);
    case KernelKind::DsaDecodeUnrolled:
    case KernelKind::DsaDecodeBlelloch:
    case KernelKind::DsaTargetVerifyUnrolled:
    case KernelKind::DsaTargetVerifyBlelloch:
    case KernelKind::DsaDraftExtendUnrolled:
    case KernelKind::DsaDraftExtendBlelloch: break;
  }
  return dsa_spec(dsa_mode_of(spec.kind), bs, dsa_switches(spec.flags), tuning);
}

}  // namespace

void check_spec_is_buildable(const KernelSpec& spec) {
  std::string fields = fmt::format("bs={} slots={} chunk={} threads={}", spec.bs, spec.slots, spec.chunk,
                                   spec.threads);
  if (spec.flags != 0 || spec.info().dsa()) fmt::format_to(std::back_inserter(fields), " flags={}", spec.flags);
  auto need = [&](bool ok, std::string_view rule) {
    if (!ok) {
      throw std::invalid_argument(fmt::format("no tuning makes this {} kernel: {}: {}", spec.info().name, fields,
                                              rule));
    }
  };
  if (spec.info().dsa()) {  // dsa_spec() under some tuning
    need(spec.flags >= 0 && spec.flags < k::kDsaFlagsEnd, "flags must be kDsa* switch bits");
    need((spec.flags & k::kDsaCtxLens2d) == 0 || dsa_mode_of(spec.kind) == DsaMode::TargetVerify,
         "the ctx2d switch is target verify's only");
    need(pow2_block(spec.threads), fmt::format("threads must be a power of two in [32, {}]", kMaxThreads));
    need(spec.chunk == 1, "chunk must be 1");
    const bool small = spec.info().scan == Scan::Unrolled;
    const int max_bs = small ? std::min(kMaxUnrollBs, kMaxDsaBs) : 0;
    need(spec.bs >= 0 && spec.bs <= max_bs, fmt::format("bs must be in [0, {}]", max_bs));
    need(small || (pow2(spec.slots) && spec.slots <= next_pow2(kMaxDsaBs)),
         fmt::format("slots must be a power of two in [1, {}]", next_pow2(kMaxDsaBs)));
    const KernelSpec made = made_for(spec, small ? spec.bs : spec.slots / 2 + 1);
    need(spec.slots == made.slots, fmt::format("slots must be {}", made.slots));
    need(spec.threads == made.threads, fmt::format("threads must be at least {} for these slots", made.threads));
    return;
  }
  need(spec.flags == 0, "flags must be 0 (they are the DSA kinds' switches)");
  switch (spec.info().scan) {
    case Scan::Unrolled: {  // bs <= unroll_max_bs, and the fused kernel's bs <= fused_max_bs
      const int max_bs = spec.kind == KernelKind::FusedUnrolled ? std::min(kMaxUnrollBs, kMaxFusedBs) : kMaxUnrollBs;
      need(spec.bs >= 0 && spec.bs <= max_bs, fmt::format("bs must be in [0, {}]", max_bs));
      const KernelSpec made = made_for(spec, spec.bs);
      need(spec.slots == made.slots, fmt::format("slots must be {}, the power of two >= bs", made.slots));
      need(spec.chunk == made.chunk, fmt::format("chunk must be {}", made.chunk));
      if (spec.kind == KernelKind::ScanUnrolled) {
        need(spec.threads == made.threads, fmt::format("threads must be {} (one thread runs the scan)", made.threads));
      } else {
        need(block(spec.threads), fmt::format("threads must be a multiple of 32 in [32, {}]", kMaxThreads));
      }
      return;
    }
    case Scan::Blelloch: {  // blelloch(), for the next_pow2(bs) lengths of some bs the kind takes
      const int max_lengths = next_pow2(spec.kind == KernelKind::FusedBlelloch ? kMaxFusedBs : kMaxBs);
      need(spec.bs == 0, "bs must be 0 (a launch argument of this kind)");
      need(pow2(spec.slots) && spec.slots <= kMaxSlots,
           fmt::format("slots must be a power of two in [1, {}]", kMaxSlots));
      need(pow2(spec.chunk) && spec.chunk <= max_lengths / spec.slots,
           fmt::format("chunk must be a power of two with slots * chunk <= {}", max_lengths));
      const int lengths = spec.slots * spec.chunk;
      const KernelSpec made = made_for(spec, lengths / 2 + 1);  // the smallest bs of next_pow2(bs) == lengths
      need(spec.slots == made.slots && spec.chunk == made.chunk,
           fmt::format("chunk > 1 needs slots = {}", kMaxSlots));
      if (spec.kind == KernelKind::ScanBlelloch) {
        need(spec.threads == made.threads, fmt::format("threads must be {} for these slots", made.threads));
      } else {
        need(pow2_block(spec.threads), fmt::format("threads must be a power of two in [32, {}]", kMaxThreads));
      }
      return;
    }
    case Scan::None: {
      const KernelSpec made = made_for(spec, 0);
      need(spec.bs == made.bs && spec.slots == made.slots && spec.chunk == made.chunk,
           "bs must be 0, slots and chunk 1");
      need(block(spec.threads), fmt::format("threads must be a multiple of 32 in [32, {}]", kMaxThreads));
      return;
    }
  }
}

}  // namespace draftjit::jit

namespace draftjit::jit {

KernelSpec spec_for_call(std::string_view kind, int bs, const Tuning& tuning) {
  if (kind == "main") return call_plan(bs, tuning).main;
  if (kind == "fused") return fused_spec(bs, tuning);
  if (kind == "scan") return scan_spec(bs, tuning);
  if (kind == "fill") return fill_spec(tuning);
  throw std::invalid_argument(fmt::format("kind must be main, fused, scan or fill, not '{}'", kind));
}

std::vector<KernelSpec> kernels_for(const std::vector<int>& bs_list, const Tuning& tuning) {
  std::vector<KernelSpec> specs;
  std::set<std::uint64_t> seen;
  for (int bs : bs_list) {
    const CallPlan call = call_plan(bs, tuning);
    for (const auto& spec : {std::optional(call.main), call.fill}) {
      if (spec && seen.insert(spec->id()).second) specs.push_back(*spec);
    }
  }
  return specs;
}

}  // namespace draftjit::jit
