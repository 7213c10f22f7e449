#include "jit/kernel_spec.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <stdexcept>

namespace draftjit::jit {
namespace {

void require(bool ok, std::string_view what) {
  if (!ok) throw std::invalid_argument(fmt::format("draftjit::Tuning: {}", what));
}

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

void validate(const Tuning& t) {
  require(t.unroll_max_bs >= 0 && t.unroll_max_bs <= 1024, "unroll_max_bs must be in [0, 1024]");
  require(t.fused_max_bs >= 0 && t.fused_max_bs <= kMaxFusedBs,
          fmt::format("fused_max_bs must be in [0, {}]", kMaxFusedBs));
  require(t.fused_unrolled_threads >= 32 && t.fused_unrolled_threads <= kMaxThreads &&
              t.fused_unrolled_threads % 32 == 0,
          "fused_unrolled_threads must be a multiple of 32 in [32, 1024]");
  require(std::has_single_bit(static_cast<unsigned>(t.fused_blelloch_min_threads)) &&
              t.fused_blelloch_min_threads >= 32 && t.fused_blelloch_min_threads <= kMaxThreads,
          "fused_blelloch_min_threads must be a power of two in [32, 1024]");
  require(std::has_single_bit(static_cast<unsigned>(t.fused_blelloch_max_threads)) &&
              t.fused_blelloch_max_threads >= t.fused_blelloch_min_threads &&
              t.fused_blelloch_max_threads <= kMaxThreads,
          "fused_blelloch_max_threads must be a power of two in [fused_blelloch_min_threads, 1024]");
  require(t.fill_threads >= 32 && t.fill_threads <= kMaxThreads && t.fill_threads % 32 == 0,
          "fill_threads must be a multiple of 32 in [32, 1024]");
}

const char* kind_name(KernelKind kind) {
  switch (kind) {
    case KernelKind::ScanUnrolled: return "scan_unrolled";
    case KernelKind::ScanBlelloch: return "scan_blelloch";
    case KernelKind::FusedUnrolled: return "fused_unrolled";
    case KernelKind::FusedBlelloch: return "fused_blelloch";
    case KernelKind::Fill: return "fill";
  }
  return "unknown";
}

const char* KernelSpec::entry() const {
  switch (kind) {
    case KernelKind::ScanUnrolled:
    case KernelKind::ScanBlelloch: return "draftjit_scan";
    case KernelKind::FusedUnrolled:
    case KernelKind::FusedBlelloch: return "draftjit_fused";
    case KernelKind::Fill: return "draftjit_fill";
  }
  return "";
}

std::string KernelSpec::name() const {
  switch (kind) {
    case KernelKind::ScanUnrolled:
    case KernelKind::FusedUnrolled: return fmt::format("{}.bs{}.t{}", kind_name(kind), bs, threads);
    case KernelKind::ScanBlelloch:
    case KernelKind::FusedBlelloch:
      return fmt::format("{}.s{}.c{}.t{}", kind_name(kind), slots, chunk, threads);
    case KernelKind::Fill: return fmt::format("fill.t{}", threads);
  }
  return "unknown";
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

void check_arch(std::string_view arch) {
  const bool digits = arch.size() >= 5 && arch.substr(0, 3) == "sm_" &&
                      std::all_of(arch.begin() + 3, arch.end() - (arch.back() == 'a' ? 1 : 0),
                                  [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) {
    throw std::invalid_argument(fmt::format("arch '{}' is not a real GPU architecture such as sm_90 or sm_100", arch));
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
