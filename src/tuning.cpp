// validate(Tuning) (include/draftjit/tuning.hpp): no kernel key depends on this file: a message edit re-keys none.
#include <fmt/format.h>

#include <stdexcept>
#include <string_view>

#include "draftjit/tuning.hpp"
#include "jit/kernel_spec.hpp"

namespace draftjit {

void validate(const Tuning& t) {
  using jit::is_block;
  using jit::is_pow2_block;
  using jit::kMaxThreads;
  auto require = [](bool ok, std::string_view what) {
    if (!ok) throw std::invalid_argument(fmt::format("draftjit::Tuning: {}", what));
  };
  require(t.unroll_max_bs >= 0 && t.unroll_max_bs <= kMaxUnrollBs,
          fmt::format("unroll_max_bs must be in [0, {}]", kMaxUnrollBs));
  require(t.fused_max_bs >= 0 && t.fused_max_bs <= kMaxFusedBs,
          fmt::format("fused_max_bs must be in [0, {}]", kMaxFusedBs));
  require(is_block(t.fused_unrolled_threads),
          fmt::format("fused_unrolled_threads must be a multiple of 32 in [32, {}]", kMaxThreads));
  require(is_pow2_block(t.fused_blelloch_min_threads),
          fmt::format("fused_blelloch_min_threads must be a power of two in [32, {}]", kMaxThreads));
  require(is_pow2_block(t.fused_blelloch_max_threads) && t.fused_blelloch_max_threads >= t.fused_blelloch_min_threads,
          fmt::format("fused_blelloch_max_threads must be a power of two in [fused_blelloch_min_threads, {}]",
                      kMaxThreads));
  require(is_block(t.fill_threads), fmt::format("fill_threads must be a multiple of 32 in [32, {}]", kMaxThreads));
  require(is_pow2_block(t.dsa_threads), fmt::format("dsa_threads must be a power of two in [32, {}]", kMaxThreads));
}

}  // namespace draftjit
