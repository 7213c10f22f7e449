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

// Arrays of one unsigned per scan slot that each mode keeps in dynamic shared memory: a prefix over requests (block
// 0's outputs) and, for draft extend, the extend offsets that map every row to its request.
enum : int {
  kDsaDecodeSharedArrays = 1,
  kDsaTargetVerifySharedArrays = 1,
  kDsaDraftExtendSharedArrays = 2,
};

// Columns each thread of the row gather moves per item (one 16-byte load): an item is a tile of threads x these
// columns of one row, which the host sizes the grid by. A row's live prefix is its request's KV length rounded up to
// kDsaLiveColumns (draftjit::kDsaLiveColumns, upstream's BLOCK_N), clipped to the bound.
enum : int { kDsaGatherColumns = 4, kDsaLiveColumns = 128 };

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
  int splits;                    // gather workers per row (dsa_kernel.cuh), >= 1
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


// ---- TRTLLM-MHA graph metadata (include/draftjit/trtllm_mha.hpp) ----

// The switches a TRTLLM-MHA kernel is compiled for: bits of its FLAGS template argument and of KernelSpec::flags.
enum : int {
  kTrtllmSeqLens64 = 1,      // seq_lens is int64 (else int32)
  kTrtllmPoolIndices32 = 2,  // req_pool_indices is int32 (else int64)
  kTrtllmQlens64 = 4,        // with kTrtllmQCumsum: qlens is int64 (else int32)
  kTrtllmQCumsum = 8,        // cu_seqlens_q[1:] = cumsum(qlens) (upstream's Q_MODE_CUMSUM)
  kTrtllmQStrided = 16,      // cu_seqlens_q[1:] = (b + 1) * q_stride (Q_MODE_STRIDED)
  kTrtllmSwa = 32,           // swa_page_table is written
  kTrtllmSwaOut = 64,        // swa_out_cache_loc is written
  kTrtllmSkipPageTable = 128,  // no page table is written (upstream's skip_page_table)
  kTrtllmFlagsEnd = 256,
};

// Pages each thread gathers per item of the row gather: an item is a tile of threads x these pages of one row, and
// a tile of threads x these entries of swa_out_cache_loc. The host sizes the grid by it.
enum : int { kTrtllmItemPages = 4 };

// The family's one params struct: every op's kernel takes it and reads the fields its call has; a field a call does
// not have is null or 0, and the kernel leaves it alone.
struct TrtllmMhaParams {
  DRAFTJIT_HOST_ENTRY("draftjit_trtllm_mha")
  IndexArray req_pool_indices;   // [bs] long long, or int with kTrtllmPoolIndices32
  IndexArray seq_lens;           // [bs] int, or long long with kTrtllmSeqLens64
  IndexArray qlens;              // with kTrtllmQCumsum: [bs] int, or long long with kTrtllmQlens64
  ConstMatrix req_to_token;
  long long pool_rows;           // req_to_token's rows: a row outside them is not gathered
  const long long* swa_mapping;  // with kTrtllmSwa or kTrtllmSwaOut: [swa_entries]
  long long swa_entries;         // a token or loc at or past it is not translated
  const long long* out_cache_loc;  // [out_entries], out_entries > 0 only with kTrtllmSwaOut
  long long out_entries;         // min(its length, swa_out_entries): the entries translated, zeros after them
  int bs;
  long long seqlen_offset;
  int max_seq_pages;             // page-table columns per row at most
  int page_size;                 // P >= 1
  long long q_stride;            // with kTrtllmQStrided
  long long tiles_per_row;       // items of one row: ceil(max_seq_pages / (threads * kTrtllmItemPages))
  int* cache_seqlens;            // [bs]
  int* cu_seqlens_k;             // [bs + 1]; [0] never written
  int* cu_seqlens_q;             // with kTrtllmQCumsum or kTrtllmQStrided: [bs + 1]; [0] never written
  Matrix page_table;             // [bs, max_seq_pages] unless kTrtllmSkipPageTable
  Matrix swa_page_table;         // with kTrtllmSwa
  long long* swa_out_cache_loc;  // with kTrtllmSwaOut: [swa_out_entries]
  long long swa_out_entries;
};

// ---- FA3 metadata (include/draftjit/fa3.hpp) ----

// The switches an FA3 kernel is compiled for: bits of its FLAGS template argument and of KernelSpec::flags.
enum : int {
  kFa3SeqLens64 = 1,      // seq_lens is int64 (else int32)
  kFa3PoolIndices32 = 2,  // req_pool_indices is int32 (else int64)
  kFa3Swa = 4,            // swa_page_table is written
  kFa3SkipPageTable = 8,  // decode: no page table is written (upstream's skip_page_table)
  kFa3Ext64 = 16,         // draft extend: extend_seq_lens is int64 (else int32)
  kFa3SeqLenA64 = 32,     // SWA spec table: seq_len_a is int64 (else int32)
  kFa3SeqLenB64 = 64,     // SWA spec table: seq_len_b is int64 (else int32)
  kFa3FlagsEnd = 128,     // (the KV-split count takes kFa3SeqLens64 too)
};

// Pages each thread gathers per item of the row gather: an item is a tile of threads x these pages of one row.
enum : int { kFa3ItemPages = 4 };

struct Fa3DecodeParams {
  DRAFTJIT_HOST_ENTRY("draftjit_fa3_decode")
  IndexArray req_pool_indices;   // [bs] long long, or int with kFa3PoolIndices32
  IndexArray seq_lens;           // [bs] int, or long long with kFa3SeqLens64
  ConstMatrix req_to_token;
  long long pool_rows;           // req_to_token's rows: a row outside them is not gathered
  const long long* swa_mapping;  // with kFa3Swa: [swa_entries], read at token * swa_mapping_stride
  long long swa_entries;         // a token whose entry is outside them is not translated
  int swa_mapping_stride;        // 1, or 0 (upstream's unified pool: every page reads entry 0)
  int bs;
  int seq_len_delta;
  int max_seq_pages;             // page-table columns per row at most
  int page_shift;                // log2(page_size)
  long long tiles_per_row;       // items of one row: ceil(max_seq_pages / (threads * kFa3ItemPages)), 0: no gather
  int* cache_seqlens;            // [bs]
  int* cu_seqlens_k;             // [bs + 1], [0] = 0 written
  Matrix page_table;             // [bs, max_seq_pages] unless kFa3SkipPageTable
  Matrix swa_page_table;         // with kFa3Swa
};

// FA3's draft extend: the decode's gather with seq_len_delta 0, mapping stride 1 and max_seq_pages = page_table's
// columns, and besides cu_seqlens_q and, with kFa3Swa, swa_out_cache_loc.
struct Fa3ExtendParams {
  DRAFTJIT_HOST_ENTRY("draftjit_fa3_extend")
  Fa3DecodeParams d;
  IndexArray extend_seq_lens;        // [bs] int, or long long with kFa3Ext64
  int* cu_seqlens_q;                 // [bs + 1], [0] = 0 written
  const long long* out_cache_loc;    // with kFa3Swa: [out_entries]
  long long* swa_out_cache_loc;      // with kFa3Swa: [out_entries]
  long long out_entries;
};

// FA3's SWA speculative page table: row m of dst is row m / repeat of a over its first seq_len_a[m / repeat] columns,
// then row m of b, over the columns below seq_len_a[m / repeat] + seq_len_b[m] and cover.
struct Fa3SpecTableParams {
  DRAFTJIT_HOST_ENTRY("draftjit_fa3_swa_spec")
  IndexArray seq_len_a;     // [rows / repeat] int, or long long with kFa3SeqLenA64
  IndexArray seq_len_b;     // [rows] int, or long long with kFa3SeqLenB64
  ConstMatrix a;            // [rows / repeat, a_cols]
  ConstMatrix b;            // [rows, b_cols]
  Matrix dst;               // [rows, >= cover]
  long long a_cols;         // upstream's LEN_A: a column at or past it reads 0
  long long b_cols;         // upstream's LEN_B
  long long cover;          // columns written at most: upstream's grid, ceil(LEN_A + LEN_B, 256) * 256, within dst's
  long long rows;           // dst's rows written: bs * repeat
  long long repeat;         // upstream's speculative_num_draft_tokens (rows of b per row of a)
  long long tiles_per_row;  // items of one row: ceil(cover / (threads * kFa3ItemPages))
};

// FA3's KV-split count (upstream's get_num_kv_splits_triton): one block over the num_seq lengths.
struct Fa3KvSplitsParams {
  DRAFTJIT_HOST_ENTRY("draftjit_fa3_kv_splits")
  IndexArray seq_lens;     // [num_seq] int, or long long with kFa3SeqLens64
  int* num_kv_splits;      // [num_seq * num_group]
  int* uneven_batch;       // optional [1]
  int num_seq;
  int lanes;               // upstream's MAX_NUM_SEQ (>= num_seq): with more lanes than lengths, the max counts a 0
  int num_group;
  int num_head;
  int num_kv_head;
  int max_kv_splits;
  int device_core_count;
};

// ---- EAGLE's draft cache locations and draft KV indices (include/draftjit/eagle.hpp) ----

// The switches an EAGLE kernel is compiled for: bits of its FLAGS template argument and of KernelSpec::flags.
enum : int {
  kEagleSeqLens64 = 1,      // seq_lens is int64 (else int32)
  kEaglePoolIndices32 = 2,  // req_pool_indices is int32 (else int64)
  kEagleLens64 = 4,         // draft KV: paged_kernel_lens is int64 (else int32)
  kEaglePositions32 = 8,    // draft KV: positions is int32 (else int64)
  kEagleOut64 = 16,         // draft KV: kv_indices is int64 (else int32)
  kEagleFlagsEnd = 32,
};

// Locations each thread copies per item: an item is a tile of threads x these entries of one request's run.
enum : int { kEagleItemLocs = 4 };

struct EagleCacheLocsParams {
  DRAFTJIT_HOST_ENTRY("draftjit_eagle_cache_locs")
  IndexArray req_pool_indices;  // [bs] long long, or int with kEaglePoolIndices32
  IndexArray seq_lens;          // [bs] int, or long long with kEagleSeqLens64
  ConstMatrix req_to_token;
  long long pool_rows;          // req_to_token's rows: a row outside them is not read
  long long pool_cols;          // its columns: a location outside them is not read
  int bs;
  long long run;                // locations per request: topk * speculative_num_steps
  long long tiles_per_run;      // items of one request: ceil(run / (threads * kEagleItemLocs))
  long long* out_cache_loc;     // [bs * run]
};

// generate_draft_decode_kv_indices: (step, request, branch) segments of a request's row prefix and its extension.
// Its own struct: of the cache locations' fields it shares only the inputs' views; the outputs, their row strides,
// positions, steps, topk and the page size are its own. Both outputs are flat: step d's row starts at d * stride.
// Blocks take contiguous runs of (request, split) items, split s of a request copying its tiles s, s + splits, ...
struct EagleDraftKvParams {
  DRAFTJIT_HOST_ENTRY("draftjit_eagle_draft_kv")
  IndexArray req_pool_indices;  // [bs] long long, or int with kEaglePoolIndices32
  IndexArray lens;              // [bs] paged_kernel_lens: int, or long long with kEagleLens64
  IndexArray positions;         // [bs * topk] long long, or int with kEaglePositions32
  ConstMatrix req_to_token;
  long long pool_rows;          // req_to_token's rows: a request of a pool index outside them reads and copies nothing
  long long pool_cols;          // its columns: an entry whose column is outside them is left alone
  void* kv_indices;             // int, or long long with kEagleOut64
  long long kv_indices_stride;  // its row: an entry outside [0, stride) of its step's row is left alone
  long long kv_indices_length;  // its entries: one at or past them is left alone
  int* kv_indptr;               // entries 1 ..= bs * topk of each step's row (the host checks they fit)
  long long kv_indptr_stride;
  int bs;
  int topk;
  int steps;
  long long page_size;          // >= 1
  long long splits;             // items per request
};

// ---- KV index builders (include/draftjit/kv_indices.hpp) ----

// The switches a KV-index kernel is compiled for: bits of its FLAGS template argument and of KernelSpec::flags.
enum : int {
  kKvStart = 1,           // kv_start_idx is read (else every window starts at position 0)
  kKvStart64 = 2,         // with kKvStart: kv_start_idx is int64 (else int32)
  kKvLens64 = 4,          // page_kernel_lens is int64 (else int32)
  kKvPoolIndices32 = 8,   // req_pool_indices is int32 (else int64)
  kKvEntry = 16,          // FlashInfer: ENTRY_PAGE_SIZE > 1 (req_to_token holds page ids; tokens are rebuilt)
  kKvMap = 32,            // FlashInfer: token_mapping translates every token
  kKvOut64 = 64,          // FlashInfer: kv_indices is int64 (else int32)
  kKvFlagsEnd = 128,
};

// Elements each thread moves per tile: a tile is threads x these consecutive positions (FlashInfer) or pages
// (FlashMLA) of one request. The host sizes the grid by it.
enum : int { kKvItemsPerThread = 4 };

// One struct for the family's ops, which all read a window of a request's req_to_token row, [start, start + len)
// in positions, and differ in where it goes: FlashInfer's CSR stream kv_indices[kv_indptr[b] + j], or FlashMLA's
// block table row b. Blocks take (request, split) pairs, split k of a request taking its tiles k, k + splits, ...
struct KvIndicesParams {
  DRAFTJIT_HOST_ENTRY("draftjit_kv_indices")
  ConstMatrix req_to_token;
  long long pool_rows;           // req_to_token's rows: a pool index outside them leaves the request's entries alone
  long long columns;             // req_to_token's columns: a read outside them leaves its entry alone
  IndexArray req_pool_indices;   // [bs] long long, or int with kKvPoolIndices32
  IndexArray lens;               // [bs] int, or long long with kKvLens64; read as int32 (upstream's .to(int32))
  IndexArray starts;             // with kKvStart: [bs] int, or long long with kKvStart64; read as int32
  int bs;
  int splits;                    // blocks per request, >= 1
  int page_size;                 // FlashInfer: ENTRY_PAGE_SIZE E (> 1 exactly with kKvEntry); FlashMLA: P
  // FlashInfer's CSR stream
  IndexArray kv_indptr;          // [bs] int: where request b's segment starts in kv_indices
  void* kv_indices;              // [kv_entries] int, or long long with kKvOut64
  long long kv_entries;          // an element at or past it (or before 0) is not written
  const long long* token_mapping;  // with kKvMap: [mapping_entries]
  long long mapping_entries;     // a token at or past it leaves its element alone
  // FlashMLA's block table: page i of request b at block_table[b, i], for i < its columns
  Matrix block_table;
  long long block_columns;
};

}  // namespace draftjit_kernels

#endif  // DRAFTJIT_KERNEL_PARAMS_CUH
