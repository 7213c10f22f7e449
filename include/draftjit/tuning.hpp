#pragma once

namespace draftjit {

inline constexpr int kMaxBs = 1 << 20;     // largest supported batch size
inline constexpr int kMaxFusedBs = 4096;   // the fused kernel keeps two ints per request in shared memory (32 KiB)
inline constexpr int kMaxUnrollBs = 1024;  // largest unroll_max_bs: the unrolled scan is bs straight-line adds

// Choices that shape the generated kernels: the thresholds pick which kernels a call uses, the block sizes are
// baked into those kernels (and so into their keys). The defaults come from the sweeps in docs/PERF.md.
struct Tuning {
  int unroll_max_bs = 32;                // bs <= this: fully unrolled sequential scan; above: Blelloch
  int fused_max_bs = kMaxFusedBs;        // bs <= this: scan + fill in one launch; above: scan, then fill
  int fused_unrolled_threads = 128;      // block size of the fused kernel on the unrolled path
  int fused_blelloch_min_threads = 128;  // the Blelloch fused kernel uses max(min, min(max, slots / 2)) threads
  int fused_blelloch_max_threads = 512;
  int fill_threads = 256;                // block size of the standalone fill kernel
  int dsa_threads = 256;                 // DSA kernels: the block size, at least; max(this, min(1024, slots / 8))
};

// Throws std::invalid_argument unless the tuning is usable (thresholds and block sizes inside the limits).
void validate(const Tuning& tuning);

}  // namespace draftjit
