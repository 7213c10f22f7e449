#include "jit/kernel_spec.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <set>
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
}

}  // namespace draftjit

namespace draftjit::jit {
namespace {

namespace k = draftjit_kernels;

constexpr std::array<KindInfo, 5> kKinds = {{
    {KernelKind::ScanUnrolled, "scan_unrolled", k::ScanParams::kEntry, "ScanParams", Scan::Unrolled,
     "scan_kernel.cuh", "scan_kernel"},
    {KernelKind::ScanBlelloch, "scan_blelloch", k::ScanParams::kEntry, "ScanParams", Scan::Blelloch,
     "scan_kernel.cuh", "scan_kernel"},
    {KernelKind::FusedUnrolled, "fused_unrolled", k::FusedParams::kEntry, "FusedParams", Scan::Unrolled,
     "fused_kernel.cuh", "fused_kernel"},
    {KernelKind::FusedBlelloch, "fused_blelloch", k::FusedParams::kEntry, "FusedParams", Scan::Blelloch,
     "fused_kernel.cuh", "fused_kernel"},
    {KernelKind::Fill, "fill", k::FillParams::kEntry, "FillParams", Scan::None, "fill_kernel.cuh", "fill_kernel"},
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

// Slots cover next_pow2(bs) lengths; past kMaxSlots each slot takes a power-of-two chunk of them.
KernelSpec blelloch(KernelKind kind, int bs, int min_threads, int max_threads) {
  KernelSpec spec;
  spec.kind = kind;
  const int lengths = next_pow2(bs);
  spec.slots = std::min(lengths, kMaxSlots);
  spec.chunk = lengths / spec.slots;
  spec.threads = std::max(min_threads, std::min(max_threads, spec.slots / 2));
  return spec;
}

}  // namespace

const KindInfo& kind_info(KernelKind kind) { return kKinds.at(static_cast<std::size_t>(kind)); }

std::span<const KindInfo> kernel_kinds() { return kKinds; }

std::string KernelSpec::name() const {
  switch (info().scan) {
    case Scan::Unrolled: return fmt::format("{}.bs{}.t{}", info().name, bs, threads);
    case Scan::Blelloch: return fmt::format("{}.s{}.c{}.t{}", info().name, slots, chunk, threads);
    case Scan::None: break;
  }
  return fmt::format("{}.t{}", info().name, threads);
}

std::uint64_t KernelSpec::id() const {
  // kind: 3 bits, bs: 21 bits, log2(slots): 5, log2(chunk): 5, threads: 11.
  return static_cast<std::uint64_t>(kind) | static_cast<std::uint64_t>(bs) << 3 |
         static_cast<std::uint64_t>(std::countr_zero(static_cast<unsigned>(slots))) << 24 |
         static_cast<std::uint64_t>(std::countr_zero(static_cast<unsigned>(chunk))) << 29 |
         static_cast<std::uint64_t>(threads) << 34;
}

int next_pow2(int n) { return static_cast<int>(std::bit_ceil(static_cast<unsigned>(std::max(n, 1)))); }

void check_bs(std::int64_t bs, std::string_view call) {
  if (bs < 0 || bs > kMaxBs) {
    throw std::invalid_argument(fmt::format("{}: bs = {} is outside the supported range [0, {}]", call, bs, kMaxBs));
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
  return tuning;
}

KernelSpec made_for(const KernelSpec& spec, int bs) {
  const Tuning tuning = widest_tuning_for(spec);
  switch (spec.kind) {
    case KernelKind::ScanUnrolled:
    case KernelKind::ScanBlelloch: return scan_spec(bs, tuning);
    case KernelKind::FusedUnrolled:
    case KernelKind::FusedBlelloch: return fused_spec(bs, tuning);
    case KernelKind::Fill: break;
  }
  return fill_spec(tuning);
}

}  // namespace

void check_spec_is_buildable(const KernelSpec& spec) {
  const std::string fields = fmt::format("bs={} slots={} chunk={} threads={}", spec.bs, spec.slots, spec.chunk,
                                         spec.threads);
  auto need = [&](bool ok, std::string_view rule) {
    if (!ok) {
      throw std::invalid_argument(fmt::format("no tuning makes this {} kernel: {}: {}", spec.info().name, fields,
                                              rule));
    }
  };
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
