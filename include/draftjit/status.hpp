#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace draftjit {

// Bits of the device status word; the kernels' own copy (templates/kernel_params.cuh) is checked against these at
// build time, so host and device cannot disagree. Outputs are left untouched whenever any bit is set.
enum Status : std::int32_t {
  kStatusOk = 0,
  kStatusNegativeExtendLen = 1,  // some extend_seq_lens[i] < 0
  kStatusTotalOverflow = 2,      // the total does not fit in int32 (reported only when no length is negative)
  kStatusCapacityExceeded = 4,   // total_tokens > capacity (reported only when the total is trustworthy)
  kStatusSeqLenBelowExtend = 8,  // some seq_lens[i] < extend_seq_lens[i]
};

// "negative extend length | seq_len below extend length", or "ok".
std::string describe_status(std::int32_t status);

// One bit of a family's status word: its value, a key for bindings ("negative_extend_len") and its text.
struct StatusBit {
  std::int32_t bit;
  const char* key;
  const char* what;
};
// A family's bits, in bit order (a range; C++17 users have no std::span).
struct StatusBits {
  const StatusBit* first;
  std::size_t count;
  const StatusBit* begin() const { return first; }
  const StatusBit* end() const { return first + count; }
};
// The draft-extend calls' bits (Status); dsa_status_bits() (draftjit/dsa.hpp) has the DSA step's.
StatusBits status_bits();

}  // namespace draftjit
