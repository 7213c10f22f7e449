// The one argument of each draftjit kernel, passed by value. This header is compiled twice: into the host library
// (src/launch.hpp fills these structs) and, embedded, at the top of every rendered kernel, so host and device share
// one definition of every parameter. Plain C++ only: no headers, since NVRTC compiles it without any.
#ifndef DRAFTJIT_KERNEL_PARAMS_CUH
#define DRAFTJIT_KERNEL_PARAMS_CUH

// The extern "C" kernel that takes each struct. Host-only: on the device it would become a global variable.
#ifdef __CUDACC_RTC__
#define DRAFTJIT_HOST_ENTRY(name)
#else
#define DRAFTJIT_HOST_ENTRY(name) static constexpr const char* kEntry = name;
#endif

namespace draftjit_kernels {

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

// The exclusive scan alone: exclusive_offsets, and the first kernel of the two-kernel path.
struct ScanParams {
  DRAFTJIT_HOST_ENTRY("draftjit_scan")
  const int* ext;
  const int* seq;     // exclusive_offsets passes ext here, which makes the seq >= ext check vacuous
  int bs;
  long long capacity;
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
