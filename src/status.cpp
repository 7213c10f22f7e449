#include "draftjit/status.hpp"

#include <fmt/format.h>

namespace draftjit {

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
