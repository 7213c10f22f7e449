// One launch of TRTLLM-MHA's graph metadata (include/draftjit/trtllm_mha.hpp): block 0 writes the per-request
// lengths and their prefixes, the other blocks share the page-table rows' live pages and swa_out_cache_loc's
// entries. Nothing depends on bs or a width at compile time: one kernel per switch set (FLAGS) serves every call.
// Upstream's arithmetic is kept exactly: int32 sums wrap, `//` truncates toward zero (C's `/`).
#ifndef DRAFTJIT_TRTLLM_MHA_KERNEL_CUH
#define DRAFTJIT_TRTLLM_MHA_KERNEL_CUH

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

// One item of row b: up to THREADS x kTrtllmItemPages of its live pages, min(cdiv(L_b, P), max_seq_pages) with
// upstream's int32 cdiv. A pool index outside req_to_token leaves the row as it was.
template <int THREADS, int FLAGS>
__device__ __forceinline__ void gather_pages(const TrtllmMhaParams& p, int b, long long tile) {
  const TrtllmRequests<FLAGS> r{p};
  const int P = p.page_size;
  const int live = min(static_cast<int>(static_cast<unsigned>(r.cache_len(b)) + static_cast<unsigned>(P - 1)) / P,
                       p.max_seq_pages);
  const long long pool = r.pool_index(b);
  if (pool < 0 || pool >= p.pool_rows) return;
  const int* row = p.req_to_token.data + pool * p.req_to_token.row_stride;
  const long long first = tile * (THREADS * kTrtllmItemPages) + threadIdx.x;
  int tokens[kTrtllmItemPages];
#pragma unroll
  for (int j = 0; j < kTrtllmItemPages; ++j) {  // every load first: one round trip
    const long long page = first + j * THREADS;
    if (page < live) tokens[j] = __ldg(row + page * P * p.req_to_token.col_stride);
  }
#pragma unroll
  for (int j = 0; j < kTrtllmItemPages; ++j) {
    const long long page = first + j * THREADS;
    if (page >= live) break;
    p.page_table.data[b * p.page_table.row_stride + page * p.page_table.col_stride] = tokens[j] / P;
    if constexpr ((FLAGS & kTrtllmSwa) != 0) {
      int swa = 0;
      if (swa_page(p, tokens[j], &swa)) {
        p.swa_page_table.data[b * p.swa_page_table.row_stride + page * p.swa_page_table.col_stride] = swa;
      }
    }
  }
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

}  // namespace draftjit_kernels

#endif  // DRAFTJIT_TRTLLM_MHA_KERNEL_CUH
