#pragma once
// The FA3 family's calls: normal-decode metadata (first, below), draft-extend metadata, the SWA speculative page
// table and the Triton backend's KV-split count (each described above its Args struct).
//
// FA3's normal-decode metadata (upstream SGLang's normal_decode_set_metadata, kernels/ops/attention/metadata.py
// @ 1a366c6c, read 2026-12-06; docs/BACKENDS.md, section 2a), in one launch: the KV lengths
// cache_seqlens[b] = int32(seq_lens[b] + seq_len_delta), their exclusive prefix cu_seqlens_k[0..bs] (entry 0 = 0
// written), and each request's page-table row over its live pages min((L + P - 1) >> log2(P), max_seq_pages):
// page_table[b, p] = req_to_token[req_pool_indices[b], p * P] >> log2(P), optionally the SWA page table
// swa_page_table[b, p] = int32(swa_mapping[token * swa_mapping_stride] >> log2(P)). Bit for bit upstream's: int32
// sums wrap, pages and slots are divided by an arithmetic shift (floor: a -1 token gives page -1, not 0), and
// page-table columns past a row's live pages keep what they held (readers bound them by cache_seqlens).
//
// One asynchronous, graph-capturable launch on `stream`: no allocation, no host synchronisation. As upstream's grid,
// bs == 0 launches nothing unless skip_page_table is set or max_seq_pages == 0, when cu_seqlens_k[0] = 0 is written
// alone. The kernel is specialised by the switches alone (Fa3DecodeSwitches), never by bs, lengths, widths, strides,
// the page size or seq_len_delta (constants upstream compiles per value): one compile per switch set serves every
// call.
//
// Bad arguments throw std::invalid_argument before anything is launched: bs outside [0, kMaxFa3Bs], page_size not a
// power of two in [1, 2^30] (upstream asserts a power of two), max_seq_pages outside [0, INT32_MAX] or past a page
// table's columns, a page past req_to_token's columns ((max_seq_pages - 1) * page_size >= its columns),
// swa_mapping_stride neither 0 nor 1, a negative stride or size, a null pointer that is read or written (the
// per-request arrays may be null at bs 0), an SWA page table without swa_mapping. Upstream checks nothing; where its
// result is undefined draftjit reads and writes nothing out of bounds: a pool index outside req_to_token's rows
// leaves the request's page-table rows as they were, and a token whose mapping entry is outside swa_mapping (a
// negative token, or one past its entries) leaves its SWA entry as it was.
#include <cstdint>

#include "draftjit/device_arrays.hpp"
#include "draftjit/draftjit.hpp"

namespace draftjit {

inline constexpr int kMaxFa3Bs = 65536;

struct Fa3DecodeArgs {
  std::int32_t* cache_seqlens = nullptr;             // [bs]: int32(seq_lens[b] + seq_len_delta)
  std::int32_t* cu_seqlens_k = nullptr;              // [bs + 1], entry 0 = 0
  DeviceMatrix page_table{};                         // [>= bs, >= max_seq_pages]; unused with skip_page_table
  ConstDeviceMatrix req_to_token{};                  // [pool rows, > (max_seq_pages - 1) * page_size]
  DeviceIndices req_pool_indices{nullptr, IndexType::Int64};  // [bs] rows of req_to_token, int64 or int32
  std::int64_t max_seq_pages = 0;                    // live pages per row at most
  DeviceIndices seq_lens{};                          // [bs] int32 or int64
  std::int32_t seq_len_delta = 0;                    // added to every length (upstream's constexpr)
  std::int32_t page_size = 1;                        // a power of two
  DeviceMatrix swa_page_table{};                     // optional, like page_table; written when given
  DeviceInt64s swa_mapping{};                        // full token -> SWA slot; needed with swa_page_table
  std::int32_t swa_mapping_stride = 1;               // 1, or 0: upstream's unified pool reads entry 0 for every page
  bool skip_page_table = false;                      // write no page table (page tables and mapping unused)
  std::int64_t bs = 0;                               // 0 ..= kMaxFa3Bs: upstream's cache_seqlens_int32.shape[0]
};

// See the top of this file.
void fa3_decode_metadata(const Fa3DecodeArgs& args, CUstream stream);

// The switches of the kernel a call launches: what prepare_fa3 needs to load it before a capture.
struct Fa3DecodeSwitches {
  IndexType seq_lens = IndexType::Int32;
  IndexType req_pool_indices = IndexType::Int64;
  bool swa = false;  // swa_page_table written (not with skip_page_table)
  bool skip_page_table = false;
};

// Compiles (or loads from the caches) and loads into the current context the kernel of these switches, so that a
// later call, or a CUDA graph capture, does no JIT work. Throws std::invalid_argument for switches no call has (swa
// with skip_page_table).
void prepare_fa3(const Fa3DecodeSwitches& switches = {});

// FA3's draft-extend metadata (upstream's draft_extend_set_metadata, same file; docs/BACKENDS.md, section 2b), in
// one launch: cache_seqlens[b] = int32(seq_lens[b]) and its exclusive prefix cu_seqlens_k[0..bs], cu_seqlens_q[0..bs]
// the exclusive prefix of int32(extend_seq_lens[b]) (entries 0 = 0 written), each page-table row over its live pages
// min((L + P - 1) >> log2(P), page_table's columns) as the decode's with seq_len_delta 0, and with
// full_to_swa_index_mapping the SWA page table (mapping[token] >> log2(P), stride 1) and
// swa_out_cache_loc[i] = mapping[out_cache_loc[i]] for every i < out_cache_loc's entries. bs 0 launches nothing.
// Bad arguments throw std::invalid_argument before anything is launched, as the decode's, besides: with the mapping,
// swa_page_table, out_cache_loc or swa_out_cache_loc missing, or swa_out_cache_loc shorter than out_cache_loc.
// Where upstream reads out of bounds draftjit leaves the entry as it was: a pool index outside req_to_token, a token
// or location outside the mapping (negative, or past its entries).
struct Fa3ExtendArgs {
  std::int32_t* cache_seqlens = nullptr;             // [bs]
  std::int32_t* cu_seqlens_k = nullptr;              // [bs + 1]
  std::int32_t* cu_seqlens_q = nullptr;              // [bs + 1]
  DeviceMatrix page_table{};                         // [>= bs, pages]: its columns are the bound
  ConstDeviceMatrix req_to_token{};                  // [pool rows, > (pages - 1) * page_size]
  DeviceIndices req_pool_indices{nullptr, IndexType::Int64};  // [bs] int64 or int32
  DeviceIndices seq_lens{};                          // [bs] int32 or int64
  DeviceIndices extend_seq_lens{};                   // [bs] int32 or int64
  std::int32_t page_size = 1;                        // a power of two
  DeviceInt64s full_to_swa_index_mapping{};          // optional: SWA on
  DeviceMatrix swa_page_table{};                     // with the mapping: [>= bs, >= pages]
  DeviceInt64s out_cache_loc{};                      // with the mapping
  MutableDeviceInt64s swa_out_cache_loc{};           // with the mapping: >= out_cache_loc's entries
  std::int64_t bs = 0;                               // 0 ..= kMaxFa3Bs: upstream's cache_seqlens_int32.shape[0]
};

// See above.
void fa3_draft_extend_metadata(const Fa3ExtendArgs& args, CUstream stream);

struct Fa3ExtendSwitches {
  IndexType seq_lens = IndexType::Int32;
  IndexType req_pool_indices = IndexType::Int64;
  IndexType extend_seq_lens = IndexType::Int32;
  bool swa = false;  // full_to_swa_index_mapping given
};

// prepare_fa3 for a draft-extend call's kernel.
void prepare_fa3(const Fa3ExtendSwitches& switches);

// FA3's SWA speculative page table (upstream's prepare_swa_spec_page_table_triton, same file; docs/BACKENDS.md,
// section 2d), in one launch: row m < bs * speculative_num_draft_tokens of page_table_dst is request
// r = m / speculative_num_draft_tokens's row of page_table_a over its first A = seq_len_a[r] columns, then row m of
// page_table_b: dst[m, n] = a[r, n] for n < A (0 at or past a's columns), else b[m, n - A] (0 at or past b's
// columns), for n < A + seq_len_b[m] (two int32 lengths sum with wrap-around, as upstream's) and below upstream's
// grid, ceil((a's columns + b's columns) / 256) * 256 columns. The columns after that keep what they held.
// Bad arguments throw std::invalid_argument before anything is launched: bs outside [0, kMaxFa3Bs], a negative
// speculative_num_draft_tokens or one whose rows pass INT32_MAX, a negative size or stride, a null table or array
// that is read or written (a table of no columns may be null), page_table_a with fewer than bs rows, page_table_b
// or page_table_dst with fewer than bs * speculative_num_draft_tokens. Where upstream writes past dst's row (a sum
// past its columns), draftjit stops at its last column.
struct Fa3SpecTableArgs {
  DeviceMatrix page_table_dst{};       // [>= rows, any]: rows = bs * speculative_num_draft_tokens
  ConstDeviceMatrix page_table_a{};    // [>= bs, LEN_A]
  ConstDeviceMatrix page_table_b{};    // [>= rows, LEN_B]
  DeviceIndices seq_len_a{};           // [bs] int32 or int64
  DeviceIndices seq_len_b{};           // [rows] int32 or int64
  std::int64_t speculative_num_draft_tokens = 0;
  std::int64_t bs = 0;                 // 0 ..= kMaxFa3Bs: upstream's seq_len_a.numel()
};

// See above.
void fa3_swa_spec_page_table(const Fa3SpecTableArgs& args, CUstream stream);

struct Fa3SpecTableSwitches {
  IndexType seq_len_a = IndexType::Int32;
  IndexType seq_len_b = IndexType::Int32;
};

// prepare_fa3 for an SWA speculative page table's kernel.
void prepare_fa3(const Fa3SpecTableSwitches& switches);

// The Triton attention backend's KV-split count (upstream's get_num_kv_splits_triton, same file; docs/BACKENDS.md,
// section 2c), in one launch of one block, in seq_lens' dtype as upstream: Mx the largest of the num_seq lengths (and
// 0 when lanes, upstream's MAX_NUM_SEQ, exceeds num_seq), Mn the least (Mx where 10 Mn > 8 Mx); *uneven_batch = Mn
// < Mx when given; chunk sizes c1 = cdiv(Mx, min(cdiv(Mx, Mn), max_kv_splits)) and c2 = cdiv(Mx,
// min(cdiv(cores, grid), max_kv_splits)), where cores = int(device_core_count * max(log2(float(Mx) / 64), 1)) with
// Triton's approximate log2 (lg2.approx.f32) and grid = num_seq * num_group * num_head, or with num_head /
// num_kv_head = g > 1, num_seq * num_group * cdiv(num_head, min(16, g)); then num_kv_splits[s * num_group + i] =
// max(cdiv(L_s, c1), cdiv(L_s, c2)) for i < num_group. Where upstream divides by zero (a least length of 0, say),
// draftjit writes no count (uneven_batch still).
// Bad arguments throw std::invalid_argument before anything is launched: num_seq outside [0, kMaxFa3Bs], lanes below
// num_seq (upstream would count only the first lanes) or past INT32_MAX, num_group, num_head, num_kv_head,
// max_kv_splits or device_core_count outside [1, INT32_MAX] where num_seq > 0 (upstream divides by them, or by
// zero), num_head below num_kv_head, num_seq * num_group past INT32_MAX, a null array that is read or written.
struct Fa3KvSplitsArgs {
  std::int32_t* num_kv_splits = nullptr;  // [>= num_seq * num_group]
  DeviceIndices seq_lens{};               // [num_seq] int32 or int64
  std::int64_t num_seq = 0;               // 0 ..= kMaxFa3Bs: upstream's num_seq
  std::int64_t num_group = 1;
  std::int64_t num_head = 1;
  std::int64_t num_kv_head = 1;
  std::int64_t max_kv_splits = 1;
  std::int64_t device_core_count = 1;
  std::int64_t lanes = 256;               // upstream's MAX_NUM_SEQ: 256, or next_pow2(num_seq) past it
  std::int32_t* uneven_batch = nullptr;   // optional: [1]
};

// See above.
void fa3_num_kv_splits(const Fa3KvSplitsArgs& args, CUstream stream);

struct Fa3KvSplitsSwitches {
  IndexType seq_lens = IndexType::Int32;
};

// prepare_fa3 for a KV-split count's kernel.
void prepare_fa3(const Fa3KvSplitsSwitches& switches);

}  // namespace draftjit
