// The one argument of each draftjit kernel, passed by value, and the bits of the status word. This header is
// compiled twice: into the host library (src/launch.hpp fills these structs; src/status.cpp checks the bits against
// draftjit::Status) and, embedded, into every rendered kernel, so host and device share one definition of every
// parameter. Plain C++ only: no headers, since NVRTC compiles it without any.
#ifndef DRAFTJIT_KERNEL_PARAMS_CUH
#define DRAFTJIT_KERNEL_PARAMS_CUH

// The extern "C" kernel that takes each struct. Host-only: on the device it would become a global variable.
#ifdef __CUDACC_RTC__
#define DRAFTJIT_HOST_ENTRY(name)
#else
#define DRAFTJIT_HOST_ENTRY(name) static constexpr const char* kEntry = name;
#endif

namespace draftjit_kernels {

// Bits of the status word (draftjit::Status on the host). Outputs are left untouched whenever any bit is set.
// Enumerators, not constexpr variables, here and in every header: NVRTC gives each constexpr variable that device
// code uses a __device__ copy, which every module load then allocates and initialises.
enum : int {
  kStatusNegativeExtendLen = 1,  // some extend_seq_lens[i] < 0
  kStatusTotalOverflow = 2,      // the total does not fit in int32 (reported only when no length is negative)
  kStatusCapacityExceeded = 4,   // total_tokens > capacity (reported only when the total is trustworthy)
  kStatusSeqLenBelowExtend = 8,  // some seq_lens[i] < extend_seq_lens[i]
};

// Scan and fill in one launch (bs <= fused_max_bs).
struct FusedParams {
  DRAFTJIT_HOST_ENTRY("draftjit_fused")
  const int* ext;     // [bs] extend lengths
  const int* seq;     // [bs] KV lengths
  int bs;
  int topk;
  int* out_expanded;  // [capacity]
  int* out_cache;     // [capacity]
  long long capacity;
  int* total;         // one int: total tokens
  int* status;        // one int: Status bits
  int* offsets;       // [bs + 1] or null
};

// The exclusive scan alone: the first kernel of the two-kernel path, and exclusive_offsets, which scans lengths
// with no fill behind them (seq null: no seq >= ext check and no capacity).
struct ScanParams {
  DRAFTJIT_HOST_ENTRY("draftjit_scan")
  const int* ext;
  const int* seq;     // [bs], or null for lengths alone
  int bs;
  long long capacity; // checked against the total only when seq is set
  int* offsets;       // [bs + 1]
  int* total;         // null or one int
  int* status;        // null or one int
};

// The second kernel of the two-kernel path: a thread per token over the scan's offsets.
struct FillParams {
  DRAFTJIT_HOST_ENTRY("draftjit_fill")
  const int* ext;
  const int* seq;
  int bs;
  int topk;
  int* out_expanded;
  int* out_cache;
  const int* offsets;  // [bs + 1], from the scan
  const int* status;   // the scan's status word: nothing is written unless it is 0
};

}  // namespace draftjit_kernels

#endif  // DRAFTJIT_KERNEL_PARAMS_CUH
