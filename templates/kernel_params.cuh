// The one argument of each draftjit kernel, passed by value, and the bits of the status word. This header is
// compiled twice: into the host library (src/launch.hpp fills these structs; src/status.cpp checks the bits against
// draftjit::Status) and, embedded, into every rendered kernel, so host and device share one definition of every
// parameter. Plain C++ only: no headers, since NVRTC compiles it without any.
// It holds what every family shares (DRAFTJIT_HOST_ENTRY, Matrix, ConstMatrix, IndexArray) and the params of the two
// families whose kernels live in templates/ (draft extend, DSA). A family under ops/ keeps its params structs and
// switch bits in its own kernel header (ops/<family>/<family>_kernel.cuh), before the device code, which is behind
// `#if defined(__CUDACC_RTC__) || defined(__CUDACC__)`: its host files include that header, which includes this one
// by the bare name NVRTC's inlined headers use (templates/ is on the host's include path), so that an op with a
// struct of its own edits its family's header and not this one.
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


// ---- Arrays the metadata families share ----

// An int32 matrix: element (r, c) at data[r * row_stride + c * col_stride], strides in elements.
struct Matrix {
  int* data;
  long long row_stride;
  long long col_stride;
};
struct ConstMatrix {
  const int* data;
  long long row_stride;
  long long col_stride;
};

// bs values, value b at data[b * stride]; the element type (int or long long) is a FLAGS switch of the kernel.
struct IndexArray {
  const void* data;
  long long stride;  // in elements
};

// ---- The DSA metadata step (include/draftjit/dsa.hpp) ----

// Bits of a DSA call's status word (draftjit::DsaStatus on the host, with its three stages).
enum : int {
  kDsaNegativeExtendLen = 1,
  kDsaPoolIndexOutOfRange = 2,
  kDsaInt32Overflow = 4,
  kDsaCapacityExceeded = 8,
  kDsaTotalMismatch = 16,
  kDsaNegativeSeqLen = 32,
  kDsaExtendNotStatic = 64,
};

// The switches a DSA kernel is compiled for besides bs: bits of its FLAGS template argument and of KernelSpec::flags.
enum : int {
  kDsaSeqLens64 = 1,      // seq_lens is int64 (else int32)
  kDsaPoolIndices32 = 2,  // req_pool_indices is int32 (else int64)
  kDsaPaged = 4,          // real_page_size > 1: real_page_table is written
  kDsaKpool = 8,          // index_kpool > 1: the pooled dsa length
  kDsaCtxLens2d = 16,     // target verify: paged_mqa_ctx_lens_2d is written
  kDsaExtend64 = 32,      // draft extend: extend_seq_lens is int64 (else int32)
  kDsaStaticExtend = 64,  // draft extend: every extend length is the first (row / extend finds a row's request)
  kDsaRealOnly = 128,     // with kDsaPaged: page_table_1 is not given, only real_page_table is written
  kDsaFlagsEnd = 256,     // one past every flag
};

// Arrays of one unsigned per scan slot that each mode keeps in dynamic shared memory: a prefix over requests (the
// output blocks') and, for draft extend, the extend offsets that map every row to its request.
enum : int {
  kDsaDecodeSharedArrays = 1,
  kDsaTargetVerifySharedArrays = 1,
  kDsaDraftExtendSharedArrays = 2,
};

// Columns each thread of the row gather moves per item (one 16-byte load): an item is a tile of threads x these
// columns of one request's source row, stored into each of its rows, which the host sizes the grid by. A row's live
// prefix is its request's KV length rounded up to kDsaLiveColumns (draftjit::kDsaLiveColumns, upstream's BLOCK_N),
// clipped to the bound.
enum : int { kDsaGatherColumns = 4, kDsaLiveColumns = 128 };

// Up to this bs (the unrolled scan's), every warp of a DSA kernel holds all requests, one per lane, and works alone
// (dsa_warp_kernel.cuh) on items the host sizes its grid by: kDsaWarpRequests output rows' per-row outputs, or
// kDsaWarpUnits units of one row's gather (one 16-byte load per lane).
enum : int { kDsaWarpRequests = 32, kDsaWarpUnits = kDsaWarpRequests * kDsaGatherColumns };

// Over kDsaWarpRequests, the blocks that write a step's outputs, each beside the others and the gather workers
// after them: block 0 the per-request outputs (the KV lengths' scan), block 1 the per-row outputs (the dsa sums'
// scan). One block alone ran both scans in turn; with this and the gather by request, verify and extend at bs 1024
// ran 2-13 % faster and decode no faster (docs/PERF.md tuning-log step 15).
enum : int { kDsaOutputBlocks = 2 };

// What every mode reads and writes.

struct DsaCommonParams {
  IndexArray seq_lens;           // [bs] int, or long long with kDsaSeqLens64
  IndexArray req_pool_indices;   // [bs] long long, or int with kDsaPoolIndices32
  ConstMatrix req_to_token;
  long long pool_rows;           // req_to_token's rows: a pool index outside [0, pool_rows) is bad data
  int bs;
  int topk;
  int page_size;                 // P; > 1 exactly with kDsaPaged
  int kpool;                     // index_kpool; > 1 exactly with kDsaKpool
  long long rows;                // the mode's output rows: bs, bs * next_n, total_len
  long long bound;               // page-table columns per row: max_len, max_seqlen_k
  int splits;                    // gather workers per request (row_gather.cuh), >= 1
  int* cache_seqlens;            // [bs]
  int* cu_seqlens_k;             // [bs + 1]
  int* dsa_cache_seqlens;        // [rows]
  int* dsa_cu_seqlens_k;         // [rows + 1]
  Matrix page_table_1;        // not with kDsaRealOnly
  Matrix real_page_table;     // with kDsaPaged
  int* status;                   // null or one int
};

struct DsaDecodeParams {
  DRAFTJIT_HOST_ENTRY("draftjit_dsa_decode")
  DsaCommonParams c;
};

struct DsaTargetVerifyParams {
  DRAFTJIT_HOST_ENTRY("draftjit_dsa_target_verify")
  DsaCommonParams c;
  int next_n;
  int* seqlens_expanded;  // [rows]
  Matrix ctx_lens_2d;  // with kDsaCtxLens2d: [bs, next_n]
};

struct DsaDraftExtendParams {
  DRAFTJIT_HOST_ENTRY("draftjit_dsa_draft_extend")
  DsaCommonParams c;
  IndexArray extend_seq_lens;  // [bs] int, or long long with kDsaExtend64
  long long capacity;          // rows the outputs hold: total_len past it is bad data
  int* seqlens_expanded;       // [rows]
};

}  // namespace draftjit_kernels

#endif  // DRAFTJIT_KERNEL_PARAMS_CUH
