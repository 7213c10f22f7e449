#pragma once
// The whole DSA (DeepSeek sparse attention) metadata step of SGLang's backend, one launch per forward mode: the
// per-request lengths and their prefixes, the per-row lengths the indexer sees and theirs, and the page tables
// gathered from req_to_token. The definitions and the cells written are upstream SGLang's newest
// (kernels/ops/attention/dsa_metadata.py and dsa_kpool_metadata/, read 2026-12-06); docs/DESIGN.md, "The DSA
// metadata step", has them in full. Each page-table row is written only over its live prefix: the columns below its
// request's KV length (cache_seqlens) rounded up to kDsaLiveColumns, clipped to the table's bound; the columns past
// it keep what they held (stale values across graph replays, as upstream), so readers bound their reads by
// cache_seqlens.
//
// Every call is asynchronous and graph-capturable: one kernel launch on `stream`, no allocation, no host
// synchronisation. Kernels are specialised for bs (the unrolled scan for exactly bs up to Tuning::unroll_max_bs; above,
// the Blelloch scan for next_pow2(bs) requests, which serves every bs of that power of two), the mode and the
// switches that change the code (DsaSwitches), never for run-time lengths or strides, so new max_len, max_seqlen_k,
// total_len, capacities or strides compile nothing.
//
// Bad arguments (sizes, null pointers, the scalar parameters) throw std::invalid_argument before anything is
// launched: bs outside [0, kMaxDsaBs], a negative size or stride, a negative topk, index_kpool < 1 where any row is
// written, real_page_size < 1, a column bound outside [0, kMaxDsaBound] or past req_to_token's columns, a table too
// small for what the call writes, a null pointer that is read or written. Bad data, which only the device sees, sets
// DsaStatus bits in the optional status word, which every launch writes (0 when the outputs were written); with any
// bit set no output is written at all. This is stricter than upstream on purpose: upstream writes whatever bad data
// makes of its outputs. Every output element outside its definition is left as it was: rows past the mode's rows,
// page-table columns past the row's live prefix, strided gaps.
#include <cstdint>

#include "draftjit/device_arrays.hpp"
#include "draftjit/draftjit.hpp"

namespace draftjit {

// Past 8192 requests the scans' shared-memory slots take chunks of requests (templates/dsa_kernel.cuh).
inline constexpr int kMaxDsaBs = 65536;
// The widest column bound (max_len, max_seqlen_k): the gathers index a row's columns in int32, and a block's last
// tile past a live prefix this wide still ends within INT32_MAX. Upstream takes up to INT32_MAX; a row that wide
// (8 GiB of int32) is refused here on purpose rather than indexed past its end.
inline constexpr std::int64_t kMaxDsaBound = 0x7fffffff - 4095;
// A row's live prefix is its KV length rounded up to this many columns (upstream's BLOCK_N).
inline constexpr int kDsaLiveColumns = 128;

// Bits of a DSA call's status word. The kernels' copy (templates/kernel_params.cuh) is checked against these at
// build time. Checks run in three stages and the first stage with a bit set decides the word: (1) seq_lens: each
// fits int32 and is >= 0; (2) draft extend only: extend lengths >= 0 and fit int32, with static_extend_len all equal
// to the first, then their sum fits int32 and equals total_len, and total_len fits the outputs' row_capacity; (3)
// every pool index is a row of req_to_token, and no output length or prefix (cache_seqlens, cu_seqlens_k,
// dsa_cu_seqlens_k) passes INT32_MAX.
enum DsaStatus : std::int32_t {
  kDsaOk = 0,
  kDsaNegativeExtendLen = 1,    // some extend_seq_lens[b] < 0
  kDsaPoolIndexOutOfRange = 2,  // some req_pool_indices[b] outside [0, req_to_token.rows)
  kDsaInt32Overflow = 4,        // an input, an output length or a prefix does not fit int32
  kDsaCapacityExceeded = 8,     // draft extend: total_len > row_capacity
  kDsaTotalMismatch = 16,       // draft extend: total_len != sum(extend_seq_lens)
  kDsaNegativeSeqLen = 32,      // some seq_lens[b] < 0
  kDsaExtendNotStatic = 64,     // draft extend with static_extend_len: some extend_seq_lens[b] != extend_seq_lens[0]
};

// "negative extend length | pool index out of range", or "ok".
std::string describe_dsa_status(std::int32_t status);
// The DSA calls' bits (DsaStatus), in bit order, with their keys and texts.
StatusBits dsa_status_bits();

// What every mode reads and writes. A mode's "rows" are its output rows: bs (decode), bs * next_n (target verify),
// total_len (draft extend); its "bound" is max_len (decode) or max_seqlen_k. Pointers may be null only where nothing
// is read or written through them: the per-request arrays for bs == 0, the per-row ones for no rows, req_to_token and
// the page tables for no rows or bound 0; and page_table_1 when real_page_size > 1, which then writes only
// real_page_table (upstream's page_table_1=None).
struct DsaCommonArgs {
  DeviceIndices seq_lens{};          // [bs] KV lengths, int32 or int64
  DeviceIndices req_pool_indices{};  // [bs] rows of req_to_token, int64 or int32
  std::int64_t bs = 0;               // 0 ..= kMaxDsaBs
  ConstDeviceMatrix req_to_token{};  // [pool rows, >= bound] token indices, any strides
  std::int32_t dsa_index_topk = 0;   // >= 0
  std::int32_t real_page_size = 1;   // P >= 1; real_page_table is written only when P > 1
  std::int32_t index_kpool = 1;      // k >= 1: dsa lengths min(floor(e / k) * k, topk) + e % k (k = 1: min(e, topk))

  std::int32_t* cache_seqlens = nullptr;      // [bs]
  std::int32_t* cu_seqlens_k = nullptr;       // [bs + 1]
  std::int32_t* dsa_cache_seqlens = nullptr;  // [row_capacity]
  std::int32_t* dsa_cu_seqlens_k = nullptr;   // [row_capacity + 1]
  // Rows each per-row output holds (seqlens_expanded too). Decode and target verify need their rows; draft extend's
  // total_len past it, or past the page tables' rows when bound > 0, is bad data (kDsaCapacityExceeded).
  std::int64_t row_capacity = 0;
  DeviceMatrix page_table_1{};                // [>= rows, >= bound]; data null: not written (needs P > 1)
  DeviceMatrix real_page_table{};             // [>= rows, >= ceil(bound / P)] when P > 1; ignored otherwise
  std::int32_t* status = nullptr;             // optional device int32: DsaStatus bits, 0 when written
};

struct DsaDecodeArgs {
  DsaCommonArgs common{};
  std::int64_t max_len = 0;  // page_table_1 columns per row
};

struct DsaTargetVerifyArgs {
  DsaCommonArgs common{};
  std::int32_t next_n = 1;  // draft tokens per request, >= 1
  std::int64_t max_seqlen_k = 0;
  std::int32_t* seqlens_expanded = nullptr;  // [row_capacity]
  DeviceMatrix paged_mqa_ctx_lens_2d{};      // optional [>= bs, >= next_n]: seq_lens[b] + next_n; data null: none
};

struct DsaDraftExtendArgs {
  DsaCommonArgs common{};
  DeviceIndices extend_seq_lens{};            // [bs] tokens per request, int32 or int64
  std::int64_t total_len = 0;                 // sum(extend_seq_lens), as the host knows it; >= 0
  std::int64_t max_seqlen_k = 0;
  std::int32_t* seqlens_expanded = nullptr;   // [row_capacity]
  // The caller's promise that every extend length is extend_seq_lens[0] (upstream's static_extend_len): a row's
  // request is then row / extend_seq_lens[0], with no search; a broken promise is kDsaExtendNotStatic.
  bool static_extend_len = false;
};

// One launch each on `stream`, in the context current on the calling thread; see the top of this file.
void dsa_decode_metadata(const DsaDecodeArgs& args, CUstream stream, const Tuning& tuning = {});
void dsa_target_verify_metadata(const DsaTargetVerifyArgs& args, CUstream stream, const Tuning& tuning = {});
void dsa_draft_extend_metadata(const DsaDraftExtendArgs& args, CUstream stream, const Tuning& tuning = {});

// The switches of a DSA kernel that are not bs: what prepare_dsa needs to load exactly the kernel a call uses.
struct DsaSwitches {
  IndexType seq_lens = IndexType::Int32;
  IndexType req_pool_indices = IndexType::Int64;
  bool paged = false;          // real_page_size > 1
  bool kpool = false;          // index_kpool > 1
  bool ctx_lens_2d = false;    // target verify: paged_mqa_ctx_lens_2d given
  IndexType extend_seq_lens = IndexType::Int32;  // draft extend's
  bool static_extend = false;  // draft extend: static_extend_len
  bool real_only = false;      // page_table_1 not given (paged only)
};
enum class DsaMode : std::uint8_t { Decode, TargetVerify, DraftExtend };

// Compiles (or loads from the caches) and loads into the current context the kernel a call of this mode, bs and
// switches launches (for bs past unroll_max_bs, the kernel of its whole power of two), so that a later call, or a
// CUDA graph capture, does no JIT work. Throws std::invalid_argument for bs outside [0, kMaxDsaBs], ctx_lens_2d
// outside target verify, extend_seq_lens or static_extend outside draft extend, or real_only without paged.
void prepare_dsa(DsaMode mode, std::int64_t bs, const DsaSwitches& switches = {}, const Tuning& tuning = {});

}  // namespace draftjit
