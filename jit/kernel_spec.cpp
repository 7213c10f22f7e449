#include "jit/kernel_spec.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <set>
#include <stdexcept>

#include "templates/kernel_params.cuh"

namespace draftjit {

void validate(const Tuning& t) {
  auto require = [](bool ok, std::string_view what) {
    if (!ok) throw std::invalid_argument(fmt::format("draftjit::Tuning: {}", what));
  };
  auto block = [](int threads) { return threads >= 32 && threads <= jit::kMaxThreads && threads % 32 == 0; };
  auto pow2_block = [&](int threads) { return block(threads) && std::has_single_bit(static_cast<unsigned>(threads)); };
  require(t.unroll_max_bs >= 0 && t.unroll_max_bs <= 1024, "unroll_max_bs must be in [0, 1024]");
  require(t.fused_max_bs >= 0 && t.fused_max_bs <= kMaxFusedBs,
          fmt::format("fused_max_bs must be in [0, {}]", kMaxFusedBs));
  require(block(t.fused_unrolled_threads), "fused_unrolled_threads must be a multiple of 32 in [32, 1024]");
  require(pow2_block(t.fused_blelloch_min_threads), "fused_blelloch_min_threads must be a power of two in [32, 1024]");
  require(pow2_block(t.fused_blelloch_max_threads) && t.fused_blelloch_max_threads >= t.fused_blelloch_min_threads,
          "fused_blelloch_max_threads must be a power of two in [fused_blelloch_min_threads, 1024]");
  require(block(t.fill_threads), "fill_threads must be a multiple of 32 in [32, 1024]");
}

}  // namespace draftjit

namespace draftjit::jit {
namespace {

namespace k = draftjit_kernels;

constexpr std::array<KindInfo, 5> kKinds = {{
    {KernelKind::ScanUnrolled, "scan_unrolled", k::ScanParams::kEntry, Scan::UnrolledToOffsets,
     TemplateId::scan_unrolled_kernel},
    {KernelKind::ScanBlelloch, "scan_blelloch", k::ScanParams::kEntry, Scan::Blelloch,
     TemplateId::scan_blelloch_kernel},
    {KernelKind::FusedUnrolled, "fused_unrolled", k::FusedParams::kEntry, Scan::UnrolledToSlots,
     TemplateId::fused_kernel},
    {KernelKind::FusedBlelloch, "fused_blelloch", k::FusedParams::kEntry, Scan::Blelloch, TemplateId::fused_kernel},
    {KernelKind::Fill, "fill", k::FillParams::kEntry, Scan::None, TemplateId::fill_kernel},
}};

constexpr bool rows_in_enum_order() {
  for (std::size_t i = 0; i < kKinds.size(); ++i) {
    if (static_cast<std::size_t>(kKinds[i].kind) != i) return false;
  }
  return true;
}
static_assert(rows_in_enum_order(), "kind_info indexes kKinds by KernelKind");

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

std::string KernelSpec::name() const {
  switch (info().scan) {
    case Scan::UnrolledToOffsets:
    case Scan::UnrolledToSlots: return fmt::format("{}.bs{}.t{}", info().name, bs, threads);
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
  if (bs <= tuning.unroll_max_bs) return {KernelKind::ScanUnrolled, bs, next_pow2(bs), 1, 1};
  return blelloch(KernelKind::ScanBlelloch, bs, 32, kMaxThreads);
}

KernelSpec fused_spec(int bs, const Tuning& tuning) {
  check_bs(bs, "fused_spec");
  if (!fits_fused(bs, tuning)) {
    throw std::invalid_argument(
        fmt::format("fused_spec: bs = {} exceeds fused_max_bs = {}", bs, tuning.fused_max_bs));
  }
  if (bs <= tuning.unroll_max_bs) {
    return {KernelKind::FusedUnrolled, bs, next_pow2(bs), 1, tuning.fused_unrolled_threads};
  }
  return blelloch(KernelKind::FusedBlelloch, bs, tuning.fused_blelloch_min_threads,
                  tuning.fused_blelloch_max_threads);
}

KernelSpec fill_spec(const Tuning& tuning) { return {KernelKind::Fill, 0, 1, 1, tuning.fill_threads}; }

CallPlan call_plan(int bs, const Tuning& tuning) {
  if (fits_fused(bs, tuning)) return {fused_spec(bs, tuning), std::nullopt};
  return {scan_spec(bs, tuning), fill_spec(tuning)};
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
