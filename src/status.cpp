#include "draftjit/status.hpp"

#include <fmt/format.h>

#include "templates/kernel_params.cuh"

namespace draftjit {

namespace k = draftjit_kernels;
constexpr bool same_bit(Status host, int kernels) { return static_cast<int>(host) == kernels; }
static_assert(same_bit(kStatusNegativeExtendLen, k::kStatusNegativeExtendLen) &&
                  same_bit(kStatusTotalOverflow, k::kStatusTotalOverflow) &&
                  same_bit(kStatusCapacityExceeded, k::kStatusCapacityExceeded) &&
                  same_bit(kStatusSeqLenBelowExtend, k::kStatusSeqLenBelowExtend),
              "the kernels' status bits (templates/kernel_params.cuh) must be the host's");

std::string describe_status(std::int32_t status) {
  if (status == kStatusOk) return "ok";
  std::string text;
  auto add = [&](std::int32_t bit, const char* what) {
    if ((status & bit) == 0) return;
    if (!text.empty()) text += " | ";
    text += what;
    status &= ~bit;
  };
  add(kStatusNegativeExtendLen, "negative extend length");
  add(kStatusTotalOverflow, "total tokens overflow int32");
  add(kStatusCapacityExceeded, "total tokens exceed capacity");
  add(kStatusSeqLenBelowExtend, "seq_len below extend length");
  if (status != 0) text += fmt::format("{}unknown bits {:#x}", text.empty() ? "" : " | ", status);
  return text;
}

}  // namespace draftjit
