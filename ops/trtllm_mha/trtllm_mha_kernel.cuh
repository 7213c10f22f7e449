// The TRTLLM family's kernels. TRTLLM-MHA's graph metadata (include/draftjit/trtllm_mha.hpp), one launch: block 0
// writes the per-request lengths and their prefixes, the other blocks share the page-table rows' live pages and
// swa_out_cache_loc's entries. TRTLLM-MLA's (include/draftjit/trtllm_mla.hpp) is the same row part alone. Nothing
// depends on bs or a width at compile time: one kernel per switch set (FLAGS) serves every call. The eager page table
// (include/draftjit/trtllm_mha_table.hpp) is the row part too, over cache_seqlens as they are.
// Upstream's arithmetic is kept exactly: int32 sums wrap, `//` truncates toward zero (C's `/`).
#ifndef DRAFTJIT_TRTLLM_MHA_KERNEL_CUH
#define DRAFTJIT_TRTLLM_MHA_KERNEL_CUH

#include "kernel_params.cuh"

// ---- The family's params and switch bits: host and device share them ----

namespace draftjit_kernels {

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

}  // namespace draftjit_kernels

// ---- The kernels: device code, which the host compiler skips ----

#if defined(__CUDACC_RTC__) || defined(__CUDACC__)

#include "common.cuh"

namespace draftjit_kernels {

// A request's values in the dtypes FLAGS names.
template <int FLAGS>
struct TrtllmRequests {
  const TrtllmMhaParams& p;

  // int32(seq_lens[b] + seqlen_offset): the add in 64 bits, then the low 32 (upstream's .to(tl.int32)).
  __device__ int cache_len(int b) const {
    const long long seq = load_index<(FLAGS & kTrtllmSeqLens64) != 0>(p.seq_lens, b);
    return static_cast<int>(static_cast<unsigned>(static_cast<unsigned long long>(seq) +
                                                  static_cast<unsigned long long>(p.seqlen_offset)));
  }
  __device__ unsigned qlen(int b) const {
    return static_cast<unsigned>(load_index<(FLAGS & kTrtllmQlens64) != 0>(p.qlens, b));
  }
  __device__ long long pool_index(int b) const {
    return load_index<(FLAGS & kTrtllmPoolIndices32) == 0>(p.req_pool_indices, b);
  }
};

// Block 0: cache_seqlens[b] and entry b + 1 of cu_seqlens_k and (with kTrtllmQCumsum or kTrtllmQStrided)
// cu_seqlens_q; entry 0 of each is never written (upstream's caller zeroes it once).
template <int THREADS, int FLAGS>
__device__ __forceinline__ void write_prefixes(const TrtllmMhaParams& p) {
  const TrtllmRequests<FLAGS> r{p};
  request_prefixes<THREADS, (FLAGS & kTrtllmQCumsum) != 0>(
      p.bs,
      [&](int b) {
        return RequestSums{static_cast<unsigned>(r.cache_len(b)), (FLAGS & kTrtllmQCumsum) != 0 ? r.qlen(b) : 0u};
      },
      [&](int b, RequestSums len, RequestSums sum) {
        p.cache_seqlens[b] = static_cast<int>(len.k);
        p.cu_seqlens_k[b + 1] = static_cast<int>(sum.k);
        if constexpr ((FLAGS & kTrtllmQCumsum) != 0) p.cu_seqlens_q[b + 1] = static_cast<int>(sum.q);
        if constexpr ((FLAGS & kTrtllmQStrided) != 0) {
          p.cu_seqlens_q[b + 1] = static_cast<int>(static_cast<unsigned>(b + 1) * static_cast<unsigned>(p.q_stride));
        }
      });
}

// swa_mapping[token] as a page (-1 for a negative token or mapping), or false where the token is past the mapping
// (upstream reads out of bounds there; draftjit leaves the entry as it was).
__device__ __forceinline__ bool swa_page(const TrtllmMhaParams& p, int token, int* page) {
  if (token < 0) {
    *page = -1;
    return true;
  }
  if (token >= p.swa_entries) return false;
  const long long mapped = __ldg(p.swa_mapping + token);
  *page = mapped < 0 ? -1 : static_cast<int>(static_cast<unsigned>(mapped / p.page_size));  // int32 of the page
  return true;
}

// A row's live pages for KV length len: upstream's int32 cdiv(len, P) (the add wraps, `/` truncates: a length <= 0
// gives none), at most bound.
__device__ __forceinline__ int live_pages(int len, int P, int bound) {
  return min(static_cast<int>(static_cast<unsigned>(len) + static_cast<unsigned>(P - 1)) / P, bound);
}

// One item of a row: tile `tile` (THREADS x kTrtllmItemPages pages) of its pages below live, page q holding the token
// req_to_token[pool, q * P], each handed to store(q, token) after every load of the tile. The family's row part: a
// pool index outside req_to_token leaves the row as it was.
template <int THREADS, class Store>
__device__ __forceinline__ void gather_row(const TrtllmMhaParams& p, long long pool, int live, long long tile,
                                           const Store& store) {
  if (pool < 0 || pool >= p.pool_rows) return;
  const int* row = p.req_to_token.data + pool * p.req_to_token.row_stride;
  const long long first = tile * (THREADS * kTrtllmItemPages) + threadIdx.x;
  int tokens[kTrtllmItemPages];
#pragma unroll
  for (int j = 0; j < kTrtllmItemPages; ++j) {  // every load first: one round trip
    const long long page = first + j * THREADS;
    if (page < live) tokens[j] = __ldg(row + page * p.page_size * p.req_to_token.col_stride);
  }
#pragma unroll
  for (int j = 0; j < kTrtllmItemPages; ++j) {
    const long long page = first + j * THREADS;
    if (page >= live) break;
    store(page, tokens[j]);
  }
}

// Entry (b, page) of a page table. The family's pages are token / P: C's truncating division, as Triton's `//`.
__device__ __forceinline__ void store_page(const Matrix& table, long long b, long long page, int value) {
  table.data[b * table.row_stride + page * table.col_stride] = value;
}

// One item of row b: its live pages min(cdiv(L_b, P), max_seq_pages) into page_table (and swa_page_table).
template <int THREADS, int FLAGS>
__device__ __forceinline__ void gather_pages(const TrtllmMhaParams& p, int b, long long tile) {
  const TrtllmRequests<FLAGS> r{p};
  const int live = live_pages(r.cache_len(b), p.page_size, p.max_seq_pages);
  gather_row<THREADS>(p, r.pool_index(b), live, tile, [&](long long page, int token) {
    store_page(p.page_table, b, page, token / p.page_size);
    if constexpr ((FLAGS & kTrtllmSwa) != 0) {
      int swa = 0;
      if (swa_page(p, token, &swa)) store_page(p.swa_page_table, b, page, swa);
    }
  });
}

// One item of swa_out_cache_loc: its entries translated through swa_mapping up to out_entries (-1 for a negative
// loc; one past the mapping is left as it was), zeros after.
template <int THREADS>
__device__ __forceinline__ void translate_out(const TrtllmMhaParams& p, long long tile) {
  const long long first = tile * (THREADS * kTrtllmItemPages) + threadIdx.x;
#pragma unroll
  for (int j = 0; j < kTrtllmItemPages; ++j) {
    const long long i = first + j * THREADS;
    if (i >= p.swa_out_entries) break;
    if (i >= p.out_entries) {
      p.swa_out_cache_loc[i] = 0;
      continue;
    }
    const long long loc = __ldg(p.out_cache_loc + i);
    if (loc < 0) {
      p.swa_out_cache_loc[i] = -1;
    } else if (loc < p.swa_entries) {
      p.swa_out_cache_loc[i] = __ldg(p.swa_mapping + loc);
    }
  }
}

template <int THREADS, int FLAGS>
__device__ __forceinline__ void trtllm_mha_kernel(const TrtllmMhaParams& p) {
  static_assert(FLAGS >= 0 && FLAGS < kTrtllmFlagsEnd, "FLAGS: kTrtllm* switches");
  if (blockIdx.x == 0) {
    write_prefixes<THREADS, FLAGS>(p);
    return;
  }
  constexpr long long kTile = THREADS * kTrtllmItemPages;
  const long long row_items = (FLAGS & kTrtllmSkipPageTable) != 0 ? 0 : p.bs * p.tiles_per_row;
  const long long out_items = (FLAGS & kTrtllmSwaOut) != 0 ? (p.swa_out_entries + kTile - 1) / kTile : 0;
  for (long long item = blockIdx.x - 1; item < row_items + out_items; item += gridDim.x - 1) {
    if (item < row_items) {
      const long long b = quotient(item, p.tiles_per_row);
      gather_pages<THREADS, FLAGS>(p, static_cast<int>(b), item - b * p.tiles_per_row);
    } else {
      translate_out<THREADS>(p, item - row_items);
    }
  }
}

// TRTLLM-MLA's graph metadata (include/draftjit/trtllm_mla.hpp), the family's row part alone: every block takes
// items (row b, tile) in turn; the first tile of row b also writes seq_lens_k[b] = int32(seq_lens[b] + seqlen_offset)
// (cache_seqlens here, null when the call has none), so with no tiles (a table without columns) nothing is written,
// as upstream's empty grid. A row's live pages are min(cdiv(L_b, P), max_seq_pages), the host's bound: the table's
// columns and the pages starting inside req_to_token's columns. No prefix, no block 0.
template <int THREADS, int FLAGS>
__device__ __forceinline__ void trtllm_mla_kernel(const TrtllmMhaParams& p) {
  static_assert((FLAGS & ~(kTrtllmSeqLens64 | kTrtllmPoolIndices32)) == 0, "FLAGS: seq64 and pool32 only");
  const TrtllmRequests<FLAGS> r{p};
  for (long long item = blockIdx.x; item < p.bs * p.tiles_per_row; item += gridDim.x) {
    const long long b = quotient(item, p.tiles_per_row);
    const long long tile = item - b * p.tiles_per_row;
    const int len = r.cache_len(static_cast<int>(b));
    if (tile == 0 && threadIdx.x == 0 && p.cache_seqlens != nullptr) p.cache_seqlens[b] = len;
    const int live = live_pages(len, p.page_size, p.max_seq_pages);
    gather_row<THREADS>(p, r.pool_index(static_cast<int>(b)), live, tile,
                        [&](long long page, int token) { store_page(p.page_table, b, page, token / p.page_size); });
  }
}

// The eager page table (include/draftjit/trtllm_mha_table.hpp), the family's row part alone: every block takes items
// (row b, tile) in turn; row b's live pages are cdiv(L_b, P) in cache_seqlens' own dtype (L_b as read, no offset),
// none where L_b <= 0 or L_b + 4095 overflows that dtype (upstream's block guard then wraps negative), at most
// max_seq_pages, the host's bound. With kTrtllmSwa, swa_page_table[b, p] = full_to_swa[clamp(token, 0, numel - 1)] / P
// (int64, truncating, then its low 32 bits; nothing for an empty full_to_swa).
template <int THREADS, int FLAGS>
__device__ __forceinline__ void trtllm_mha_table_kernel(const TrtllmMhaParams& p) {
  static_assert((FLAGS & ~(kTrtllmSeqLens64 | kTrtllmPoolIndices32 | kTrtllmSwa)) == 0,
                "FLAGS: seq64, pool32 and swa only");
  constexpr bool kSeq64 = (FLAGS & kTrtllmSeqLens64) != 0;
  constexpr long long kLast = kSeq64 ? 0x7fffffffffffffffLL : 0x7fffffffLL;  // the dtype's largest value
  constexpr long long kBlockTokens = 4096;  // upstream's _MHA_KV_INDEX_BLOCK_TOKENS, the tokens of its guard's blocks
  const TrtllmRequests<FLAGS> r{p};
  for (long long item = blockIdx.x; item < p.bs * p.tiles_per_row; item += gridDim.x) {
    const long long b = quotient(item, p.tiles_per_row);
    const long long len = load_index<kSeq64>(p.seq_lens, static_cast<int>(b));
    const long long pages = len <= 0 || len > kLast - (kBlockTokens - 1) ? 0 : (len - 1) / p.page_size + 1;
    const int live = static_cast<int>(min(pages, static_cast<long long>(p.max_seq_pages)));
    gather_row<THREADS>(p, r.pool_index(static_cast<int>(b)), live, item - b * p.tiles_per_row,
                        [&](long long page, int token) {
                          store_page(p.page_table, b, page, token / p.page_size);
                          if constexpr ((FLAGS & kTrtllmSwa) != 0) {
                            if (p.swa_entries <= 0) return;
                            const long long at = min(static_cast<long long>(max(token, 0)), p.swa_entries - 1);
                            const long long mapped = __ldg(p.swa_mapping + at);
                            store_page(p.swa_page_table, b, page, static_cast<int>(static_cast<unsigned long long>(
                                                                     mapped / p.page_size)));
                          }
                        });
  }
}

}  // namespace draftjit_kernels

#endif  // defined(__CUDACC_RTC__) || defined(__CUDACC__)

#endif  // DRAFTJIT_TRTLLM_MHA_KERNEL_CUH
