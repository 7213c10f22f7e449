// The KV index builders (include/draftjit/kv_indices.hpp): request b reads the window [s, s + len) of positions of
// its req_to_token row (s = int32(kv_start_idx[b]) or 0, len = int32(page_kernel_lens[b])) and writes it elsewhere:
// FlashInfer's CSR stream, or FlashMLA's block table (every P-th position, divided by P).
// Blocks take (request, split) pairs, split k of a request taking its tiles k, k + splits, ... (row_gather.cuh's
// scheme): the host picks splits so that one request of a million tokens spreads over the GPU as well as many short
// ones, and a short window in a wide table costs only its own tiles. Nothing depends on bs, a width, a stride or the
// entry size at compile time: one kernel per switch set (FLAGS) serves every call. Upstream's arithmetic is kept:
// positions and output offsets are int64, the window's bounds int32 as upstream loads them.
#ifndef DRAFTJIT_KV_INDICES_KERNEL_CUH
#define DRAFTJIT_KV_INDICES_KERNEL_CUH

#include "kernel_params.cuh"

// ---- The family's params and switch bits: host and device share them ----

namespace draftjit_kernels {

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

// ---- The kernels: device code, which the host compiler skips ----

#if defined(__CUDACC_RTC__) || defined(__CUDACC__)

#include "common.cuh"

namespace draftjit_kernels {

enum : int { kKvInt32Max = 0x7fffffff };

// Request b's window, in the dtypes FLAGS names.
struct KvWindow {
  long long pool;  // req_pool_indices[b], widened
  int start;       // int32(kv_start_idx[b]), or 0
  int len;         // int32(page_kernel_lens[b])
};

template <int FLAGS>
__device__ __forceinline__ KvWindow kv_window(const KvIndicesParams& p, int b) {
  KvWindow w;
  w.pool = load_index<(FLAGS & kKvPoolIndices32) == 0>(p.req_pool_indices, b);
  w.start = 0;
  if constexpr ((FLAGS & kKvStart) != 0) {
    w.start = static_cast<int>(load_index<(FLAGS & kKvStart64) != 0>(p.starts, b));
  }
  w.len = static_cast<int>(load_index<(FLAGS & kKvLens64) != 0>(p.lens, b));
  return w;
}

// Calls work(b, split) for every (request, split) pair this block takes.
template <class Work>
__device__ __forceinline__ void for_each_pair(const KvIndicesParams& p, Work work) {
  const long long pairs = static_cast<long long>(p.bs) * p.splits;
  for (long long pair = blockIdx.x; pair < pairs; pair += gridDim.x) {
    const long long b = quotient(pair, p.splits);
    work(static_cast<int>(b), static_cast<int>(pair - b * p.splits));
  }
}

// ---- FlashInfer's CSR stream (upstream's create_flashinfer_kv_indices_triton) ----

// Element j < len of request b's segment: position q = s + j, its entry R[pool, q / E] (C's truncating division:
// a position in (-E, 0) reads column 0, as upstream's `//`), the token int64(entry) * E + q % E (the entry itself for
// E = 1), with kKvMap token_mapping[token] or -1 for a negative token, stored at kv_indices[kv_indptr[b] + j] in
// kv_indices' dtype (int64 -> int32 keeps the low 32 bits). Upstream's loop count cdiv(len, 512) is an int32 sum, so
// a length within 511 of INT32_MAX writes nothing, as there. Elements whose column is outside req_to_token, whose
// token is past the mapping, or whose offset is outside kv_indices are left as they were (upstream reads or writes
// out of bounds there), and so is every element of a request whose pool index is outside req_to_token's rows.
template <int THREADS, int FLAGS>
__device__ __forceinline__ void flashinfer_segment(const KvIndicesParams& p, int b, int split) {
  constexpr int kTile = THREADS * kKvItemsPerThread;
  const KvWindow w = kv_window<FLAGS>(p, b);
  if (w.len <= 0 || w.len > kKvInt32Max - 511 || w.pool < 0 || w.pool >= p.pool_rows) return;
  const long long E = (FLAGS & kKvEntry) != 0 ? p.page_size : 1;
  const long long s = w.start;
  // The j whose column (s + j) / E lies in [0, columns): s + j in (-E, columns * E).
  const long long first = max(0LL, 1 - E - s);
  const long long last = min(static_cast<long long>(w.len), p.columns * E - s);
  if (first >= last) return;
  const long long base = __ldg(static_cast<const int*>(p.kv_indptr.data) + b * p.kv_indptr.stride);
  const int* row = p.req_to_token.data + w.pool * p.req_to_token.row_stride;
  for (long long tile_first = first + static_cast<long long>(split) * kTile; tile_first < last;
       tile_first += static_cast<long long>(p.splits) * kTile) {
    long long tokens[kKvItemsPerThread];
#pragma unroll
    for (int k = 0; k < kKvItemsPerThread; ++k) {  // every load first: one round trip
      const long long j = tile_first + threadIdx.x + k * THREADS;
      if (j >= last) break;
      const long long q = s + j;
      if constexpr ((FLAGS & kKvEntry) != 0) {
        const long long column = quotient(q, E);  // q < 0 only in (-E, 0): column 0, remainder q
        tokens[k] = static_cast<long long>(__ldg(row + column * p.req_to_token.col_stride)) * E + (q - column * E);
      } else {
        tokens[k] = __ldg(row + q * p.req_to_token.col_stride);
      }
    }
#pragma unroll
    for (int k = 0; k < kKvItemsPerThread; ++k) {
      const long long j = tile_first + threadIdx.x + k * THREADS;
      if (j >= last) break;
      long long token = tokens[k];
      if constexpr ((FLAGS & kKvMap) != 0) {
        if (token >= p.mapping_entries) continue;
        token = token < 0 ? -1 : __ldg(p.token_mapping + token);
      }
      const long long at = base + j;
      if (at < 0 || at >= p.kv_entries) continue;
      if constexpr ((FLAGS & kKvOut64) != 0) {
        static_cast<long long*>(p.kv_indices)[at] = token;
      } else {
        static_cast<int*>(p.kv_indices)[at] = static_cast<int>(static_cast<unsigned long long>(token));
      }
    }
  }
}

template <int THREADS, int FLAGS>
__device__ __forceinline__ void flashinfer_kv_indices_kernel(const KvIndicesParams& p) {
  static_assert(FLAGS >= 0 && FLAGS < kKvFlagsEnd, "FLAGS: kKv* switches");
  for_each_pair(p, [&](int b, int split) { flashinfer_segment<THREADS, FLAGS>(p, b, split); });
}

// ---- FlashMLA's block table (upstream's create_flashmla_kv_indices_triton) ----

// Page i < cdiv(len, P) (an int32 sum) of request b's window: block_table[b, i] = req_to_token[pool, s + i * P] / P
// (C's truncating division, upstream's `//` on int32). Pages at or past the table's columns are not written (upstream
// writes them into the next row), nor is a page whose column is outside req_to_token, nor any page of a request whose
// pool index is outside its rows. Upstream's block count cdiv(len, 4096) is an int32 sum too: a length within 4095 of
// INT32_MAX writes nothing, as there.
template <int THREADS, int FLAGS>
__device__ __forceinline__ void flashmla_row(const KvIndicesParams& p, int b, int split) {
  constexpr int kTile = THREADS * kKvItemsPerThread;
  const KvWindow w = kv_window<FLAGS>(p, b);
  if (w.len <= 0 || w.len > kKvInt32Max - 4095 || w.pool < 0 || w.pool >= p.pool_rows) return;
  const int P = p.page_size;
  const long long pages = min(static_cast<long long>((w.len + P - 1) / P), p.block_columns);
  const int* row = p.req_to_token.data + w.pool * p.req_to_token.row_stride;
  for (long long tile_first = static_cast<long long>(split) * kTile; tile_first < pages;
       tile_first += static_cast<long long>(p.splits) * kTile) {
    int tokens[kKvItemsPerThread];
    bool inside[kKvItemsPerThread];
#pragma unroll
    for (int k = 0; k < kKvItemsPerThread; ++k) {  // every load first: one round trip
      const long long page = tile_first + threadIdx.x + k * THREADS;
      const long long column = w.start + page * P;
      inside[k] = page < pages && column >= 0 && column < p.columns;
      if (inside[k]) tokens[k] = __ldg(row + column * p.req_to_token.col_stride);
    }
#pragma unroll
    for (int k = 0; k < kKvItemsPerThread; ++k) {
      const long long page = tile_first + threadIdx.x + k * THREADS;
      if (inside[k]) p.block_table.data[b * p.block_table.row_stride + page * p.block_table.col_stride] = tokens[k] / P;
    }
  }
}

template <int THREADS, int FLAGS>
__device__ __forceinline__ void flashmla_kv_indices_kernel(const KvIndicesParams& p) {
  static_assert(FLAGS >= 0 && FLAGS < kKvFlagsEnd, "FLAGS: kKv* switches");
  for_each_pair(p, [&](int b, int split) { flashmla_row<THREADS, FLAGS>(p, b, split); });
}

}  // namespace draftjit_kernels

#endif  // defined(__CUDACC_RTC__) || defined(__CUDACC__)

#endif  // DRAFTJIT_KV_INDICES_KERNEL_CUH
