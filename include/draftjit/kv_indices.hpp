#pragma once
// The KV index builders of upstream SGLang (kernels/ops/kvcache/kv_indices.py @ 0d7e47be, read 2026-12-06;
// docs/BACKENDS.md, section 3): raw Triton kernels that copy a window of each request's req_to_token row somewhere
// else. Each call is one asynchronous, graph-capturable launch on `stream` (none for bs == 0, as upstream's empty
// grid): no allocation, no host synchronisation. Its kernel is specialised by the switches alone, never by bs,
// lengths, widths, strides or the entry size: one compile per switch set serves every call. Upstream checks nothing;
// where its result is undefined draftjit reads and writes nothing out of bounds and leaves those entries as they
// were (see each call).
#include <cstdint>

#include "draftjit/device_arrays.hpp"
#include "draftjit/draftjit.hpp"

namespace draftjit {

inline constexpr int kMaxKvIndicesBs = 1 << 20;

// FlashInfer's CSR kv_indices (upstream's create_flashinfer_kv_indices_triton, section 3a). For each request
// b < bs, with s = int32(kv_start_idx[b]) (0 without it), len = int32(page_kernel_lens[b]) and
// pool = req_pool_indices[b], for 0 <= j < len:
//   E = entry_page_size == 1:  token = req_to_token[pool, s + j]
//   E > 1 (page ids):          q = s + j, token = int64(req_to_token[pool, q / E]) * E + q % E   (C's / and %)
//   with token_mapping:        token = token >= 0 ? token_mapping[token] : -1
//   kv_indices[kv_indptr[b] + j] = token, in kv_indices' dtype (int64 -> int32 keeps the low 32 bits).
// Nothing else is written: len <= 0 writes nothing, and so does a len within 511 of INT32_MAX (upstream's int32
// loop count wraps). How upstream's grid splits the work (TOKEN_BLOCK_PARALLEL) never changes what is written, and
// draftjit picks its own split.
//
// Bad arguments throw std::invalid_argument before anything is launched: bs outside [0, kMaxKvIndicesBs],
// entry_page_size outside [1, 2^30], a negative size or stride, a null pointer that is read or written (the
// per-request arrays may be null at bs 0). Where upstream reads or writes out of bounds the element is left as it
// was: a pool index outside req_to_token's rows (the whole segment), a column (s + j) / E outside req_to_token's
// columns, a token at or past token_mapping's entries, an offset kv_indptr[b] + j outside kv_indices.
struct FlashinferKvIndicesArgs {
  ConstDeviceMatrix req_to_token{};                           // [pool rows, columns]: tokens, or page ids with E > 1
  DeviceIndices req_pool_indices{nullptr, IndexType::Int64};  // [bs] int64 or int32
  DeviceIndices page_kernel_lens{};                           // [bs] int32 or int64
  DeviceIndices kv_indptr{};                                  // [bs] int32 (upstream's [bs + 1]): segment starts
  DeviceIndices kv_start_idx{};                               // optional: [bs] int32 or int64
  MutableDeviceIndices kv_indices{};                          // int32 or int64, its length the bound
  std::int32_t entry_page_size = 1;                           // upstream's ENTRY_PAGE_SIZE
  DeviceInt64s token_mapping{};                               // optional: token -> token
  std::int64_t bs = 0;                                        // 0 ..= kMaxKvIndicesBs: upstream's grid[0]
};

// See above.
void flashinfer_kv_indices(const FlashinferKvIndicesArgs& args, CUstream stream);

// The switches of the kernel a call launches: what prepare_kv_indices needs to load it before a capture.
struct FlashinferKvIndicesSwitches {
  bool start = false;                            // kv_start_idx given
  IndexType kv_start_idx = IndexType::Int32;     // its dtype
  IndexType page_kernel_lens = IndexType::Int32;
  IndexType req_pool_indices = IndexType::Int64;
  bool entry = false;                            // entry_page_size > 1
  bool map = false;                              // token_mapping given
  IndexType kv_indices = IndexType::Int32;
};

// Compiles (or loads from the caches) and loads into the current context the kernel of these switches, so that a
// later call, or a CUDA graph capture, does no JIT work. Throws std::invalid_argument for switches no call has.
void prepare_kv_indices(const FlashinferKvIndicesSwitches& switches = {});

// FlashMLA's block table (upstream's create_flashmla_kv_indices_triton, section 3b). For each request b < bs, with
// s, len and pool as above and P = page_size, for each page i < cdiv(len, P) (C's division of an int32 sum):
//   kv_indices[b, i] = req_to_token[pool, s + i * P] / P   (C's truncating division, int32)
// Nothing else is written: len <= 0 writes nothing, and so does a len within 4095 of INT32_MAX (upstream's int32
// block count wraps). Pages at or past kv_indices' columns are not written (upstream writes them into the next row;
// its callers size the table so that none is); the drop-in narrows the table to the pages its grid reaches.
//
// Bad arguments throw std::invalid_argument before anything is launched: bs outside [0, kMaxKvIndicesBs],
// page_size not a power of two in [1, 4096] (upstream's block of 4096 tokens holds 4096 / P pages), kv_indices with
// fewer than bs rows, a negative size or stride, a null pointer that is read or written. A pool index outside
// req_to_token's rows leaves the request's row as it was, and a page whose column is outside req_to_token its entry.
struct FlashmlaKvIndicesArgs {
  ConstDeviceMatrix req_to_token{};                           // [pool rows, columns] of tokens
  DeviceIndices req_pool_indices{nullptr, IndexType::Int64};  // [bs] int64 or int32
  DeviceIndices page_kernel_lens{};                           // [bs] int32 or int64
  DeviceIndices kv_start_idx{};                               // optional: [bs] int32 or int64
  DeviceMatrix kv_indices{};                                  // [>= bs, pages]: the block table
  std::int32_t page_size = 64;                                // upstream's PAGED_SIZE
  std::int64_t bs = 0;                                        // 0 ..= kMaxKvIndicesBs: upstream's grid[0]
};

// See above.
void flashmla_kv_indices(const FlashmlaKvIndicesArgs& args, CUstream stream);

struct FlashmlaKvIndicesSwitches {
  bool start = false;                         // kv_start_idx given
  IndexType kv_start_idx = IndexType::Int32;  // its dtype
  IndexType page_kernel_lens = IndexType::Int32;
  IndexType req_pool_indices = IndexType::Int64;
};

// prepare_kv_indices for a FlashMLA call's kernel.
void prepare_kv_indices(const FlashmlaKvIndicesSwitches& switches);

// The chunked prefix's kv_indices (upstream's create_chunked_prefix_cache_kv_indices, section 3c): FlashInfer's CSR
// kv_indices with kv_start_idx = chunk_start_idx, page_kernel_lens = chunk_seq_lens, kv_indptr = chunk_cu_seq_lens,
// E = 1 and no mapping, into chunk_kv_indices: the same rules, checks and guards, the same kernel.
struct ChunkedPrefixKvIndicesArgs {
  ConstDeviceMatrix req_to_token{};                           // [pool rows, columns] of tokens
  DeviceIndices req_pool_indices{nullptr, IndexType::Int64};  // [bs] int64 or int32
  DeviceIndices chunk_start_idx{};                            // [bs] int32 or int64
  DeviceIndices chunk_seq_lens{};                             // [bs] int32 or int64
  DeviceIndices chunk_cu_seq_lens{};                          // [bs] int32 (upstream's [bs + 1]): segment starts
  MutableDeviceIndices chunk_kv_indices{};                    // int32 or int64, its length the bound
  std::int64_t bs = 0;                                        // 0 ..= kMaxKvIndicesBs: upstream's grid[0]
};

// See above.
void chunked_prefix_kv_indices(const ChunkedPrefixKvIndicesArgs& args, CUstream stream);

struct ChunkedPrefixKvIndicesSwitches {
  IndexType chunk_start_idx = IndexType::Int32;
  IndexType chunk_seq_lens = IndexType::Int32;
  IndexType req_pool_indices = IndexType::Int64;
  IndexType chunk_kv_indices = IndexType::Int32;
};

// prepare_kv_indices for a chunked-prefix call's kernel.
void prepare_kv_indices(const ChunkedPrefixKvIndicesSwitches& switches);

}  // namespace draftjit
