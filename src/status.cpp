#include "draftjit/status.hpp"

#include "draftjit/dsa.hpp"

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
constexpr bool same_dsa_bit(DsaStatus host, int kernels) { return static_cast<int>(host) == kernels; }
static_assert(same_dsa_bit(kDsaNegativeExtendLen, k::kDsaNegativeExtendLen) &&
                  same_dsa_bit(kDsaPoolIndexOutOfRange, k::kDsaPoolIndexOutOfRange) &&
                  same_dsa_bit(kDsaInt32Overflow, k::kDsaInt32Overflow) &&
                  same_dsa_bit(kDsaCapacityExceeded, k::kDsaCapacityExceeded) &&
                  same_dsa_bit(kDsaTotalMismatch, k::kDsaTotalMismatch) &&
                  same_dsa_bit(kDsaNegativeSeqLen, k::kDsaNegativeSeqLen),
              "the DSA kernels' status bits (templates/kernel_params.cuh) must be the host's");

namespace {

struct Bit {
  std::int32_t bit;
  const char* what;
};

// "a | b", each set bit of status by its text, and any bit not among them as a hex remainder.
template <std::size_t N>
std::string describe_bits(std::int32_t status, const Bit (&bits)[N]) {
  if (status == 0) return "ok";
  std::string text;
  for (const Bit& b : bits) {
    if ((status & b.bit) == 0) continue;
    if (!text.empty()) text += " | ";
    text += b.what;
    status &= ~b.bit;
  }
  if (status != 0) text += fmt::format("{}unknown bits {:#x}", text.empty() ? "" : " | ", status);
  return text;
}

}  // namespace

std::string describe_status(std::int32_t status) {
  static constexpr Bit kBits[] = {
      {kStatusNegativeExtendLen, "negative extend length"},
      {kStatusTotalOverflow, "total tokens overflow int32"},
      {kStatusCapacityExceeded, "total tokens exceed capacity"},
      {kStatusSeqLenBelowExtend, "seq_len below extend length"},
  };
  return describe_bits(status, kBits);
}

std::string describe_dsa_status(std::int32_t status) {
  static constexpr Bit kBits[] = {
      {kDsaNegativeExtendLen, "negative extend length"},
      {kDsaPoolIndexOutOfRange, "pool index out of range"},
      {kDsaInt32Overflow, "int32 overflow"},
      {kDsaCapacityExceeded, "total_len exceeds row_capacity"},
      {kDsaTotalMismatch, "total_len differs from sum(extend_seq_lens)"},
      {kDsaNegativeSeqLen, "negative seq_len"},
  };
  return describe_bits(status, kBits);
}

}  // namespace draftjit
