#include "draftjit/status.hpp"

#include "draftjit/dsa.hpp"

#include <fmt/format.h>

#include <iterator>

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
                  same_dsa_bit(kDsaNegativeSeqLen, k::kDsaNegativeSeqLen) &&
                  same_dsa_bit(kDsaExtendNotStatic, k::kDsaExtendNotStatic),
              "the DSA kernels' status bits (templates/kernel_params.cuh) must be the host's");
static_assert(kDsaLiveColumns == k::kDsaLiveColumns, "the live prefix's column block: one value on both sides");

namespace {

// "a | b", each set bit of status by its text, and any bit not among them as a hex remainder.
std::string describe_bits(std::int32_t status, StatusBits bits) {
  if (status == 0) return "ok";
  std::string text;
  for (const StatusBit& b : bits) {
    if ((status & b.bit) == 0) continue;
    if (!text.empty()) text += " | ";
    text += b.what;
    status &= ~b.bit;
  }
  if (status != 0) text += fmt::format("{}unknown bits {:#x}", text.empty() ? "" : " | ", status);
  return text;
}

constexpr StatusBit kStatusBits[] = {
    {kStatusNegativeExtendLen, "negative_extend_len", "negative extend length"},
    {kStatusTotalOverflow, "total_overflow", "total tokens overflow int32"},
    {kStatusCapacityExceeded, "capacity_exceeded", "total tokens exceed capacity"},
    {kStatusSeqLenBelowExtend, "seq_len_below_extend", "seq_len below extend length"},
};

constexpr StatusBit kDsaStatusBits[] = {
    {kDsaNegativeExtendLen, "negative_extend_len", "negative extend length"},
    {kDsaPoolIndexOutOfRange, "pool_index_out_of_range", "pool index out of range"},
    {kDsaInt32Overflow, "int32_overflow", "int32 overflow"},
    {kDsaCapacityExceeded, "capacity_exceeded", "total_len exceeds row_capacity"},
    {kDsaTotalMismatch, "total_mismatch", "total_len differs from sum(extend_seq_lens)"},
    {kDsaNegativeSeqLen, "negative_seq_len", "negative seq_len"},
    {kDsaExtendNotStatic, "extend_not_static", "static_extend_len with unequal extend lengths"},
};

}  // namespace

StatusBits status_bits() { return {kStatusBits, std::size(kStatusBits)}; }
StatusBits dsa_status_bits() { return {kDsaStatusBits, std::size(kDsaStatusBits)}; }

std::string describe_status(std::int32_t status) { return describe_bits(status, status_bits()); }

std::string describe_dsa_status(std::int32_t status) { return describe_bits(status, dsa_status_bits()); }

}  // namespace draftjit
