#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace draftjit::jit {

inline constexpr int kMaxBs = 1 << 20;     // largest supported batch size
inline constexpr int kMaxSlots = 8192;     // shared-memory scan slots of one block (32 KiB)
inline constexpr int kMaxFusedBs = 4096;   // the fused kernel keeps two ints per request in shared memory (32 KiB)
inline constexpr int kMaxThreads = 1024;   // threads of one block

enum class KernelKind : std::uint8_t { ScanUnrolled, ScanBlelloch, FusedUnrolled, FusedBlelloch, Fill };

// Choices that shape the generated kernels: the thresholds pick which kernels a call uses, the block sizes are
// baked into those kernels (and so into their keys).
struct Tuning {
  int unroll_max_bs = 128;               // bs <= this: fully unrolled sequential scan; above: Blelloch (docs/PERF.md)
  int fused_max_bs = kMaxFusedBs;        // bs <= this: scan + fill in one launch; above: scan, then fill
  int fused_unrolled_threads = 128;      // block size of the fused kernel on the unrolled path
  int fused_blelloch_min_threads = 128;  // the Blelloch fused kernel uses max(min, min(max, slots / 2)) threads
  int fused_blelloch_max_threads = 512;  // from the sweep in docs/PERF.md
  int fill_threads = 256;                // block size of the standalone fill kernel
};

// Throws std::invalid_argument unless the tuning is usable (thresholds inside the limits above).
void validate(const Tuning& tuning);

// One specialisation: everything baked into one rendered kernel except the target arch.
struct KernelSpec {
  KernelKind kind = KernelKind::Fill;
  int bs = 0;       // unrolled kinds: the exact batch size; 0 otherwise (bs is a launch argument)
  int slots = 1;    // shared-memory scan slots, a power of two
  int chunk = 1;    // extend lengths per slot, a power of two
  int threads = 1;  // block size

  const char* entry() const;        // the extern "C" kernel name
  std::string name() const;         // "fused_unrolled.bs5.t128": stable, readable, part of file names
  std::uint64_t id() const;         // packs every field; the runtime's per-context lookup key
  friend bool operator==(const KernelSpec&, const KernelSpec&) = default;
};

const char* kind_name(KernelKind kind);

int next_pow2(int n);  // smallest power of two >= max(n, 1)

// Throws std::invalid_argument naming the limit when bs is outside [0, kMaxBs].
void check_bs(std::int64_t bs, std::string_view call);

// Throws std::invalid_argument unless arch looks like sm_90, sm_90a or sm_100.
void check_arch(std::string_view arch);

bool fits_fused(int bs, const Tuning& tuning);
KernelSpec scan_spec(int bs, const Tuning& tuning);   // the standalone prefix sum (bs + 1 outputs)
KernelSpec fused_spec(int bs, const Tuning& tuning);  // requires fits_fused
KernelSpec fill_spec(const Tuning& tuning);           // second kernel of the two-kernel path

// The kernels a draft-extend call with this bs launches: the fused kernel alone, or the scan then the fill.
struct CallPlan {
  KernelSpec first;                // the fused kernel, or the scan
  std::optional<KernelSpec> fill;  // set on the two-kernel path
  bool fused() const { return !fill.has_value(); }
};
CallPlan call_plan(int bs, const Tuning& tuning);

}  // namespace draftjit::jit
