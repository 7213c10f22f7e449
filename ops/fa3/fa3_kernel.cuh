// One launch of FA3's normal-decode or draft-extend metadata (include/draftjit/fa3.hpp): block 0 writes the
// per-request lengths and their prefixes, the other blocks share the page-table rows' live pages (and draft extend's
// SWA out-cache locations). Nothing depends on bs, a width, the page size or seq_len_delta at compile time: one kernel
// per switch set (FLAGS) serves every call. Upstream's arithmetic is kept exactly: int32 sums wrap, pages and tokens
// are divided by an arithmetic shift (floor, not C's `/`).
#ifndef DRAFTJIT_FA3_KERNEL_CUH
#define DRAFTJIT_FA3_KERNEL_CUH

#include "common.cuh"

namespace draftjit_kernels {

// A request's values in the dtypes FLAGS names.
template <int FLAGS>
struct Fa3Requests {
  const Fa3DecodeParams& p;

  // int32(seq_lens[b]) + seq_len_delta modulo 2^32: upstream's int32(seq_lens[b] + delta) in the prefix and
  // int32(seq_lens[b]) + delta in the gather, the same low 32 bits either way.
  __device__ int cache_len(int b) const {
    const long long seq = load_index<(FLAGS & kFa3SeqLens64) != 0>(p.seq_lens, b);
    return static_cast<int>(static_cast<unsigned>(seq) + static_cast<unsigned>(p.seq_len_delta));
  }
  __device__ long long pool_index(int b) const {
    return load_index<(FLAGS & kFa3PoolIndices32) == 0>(p.req_pool_indices, b);
  }
};

// The sum of every lower thread's value over the block, modulo 2^32 (all THREADS threads take part).
template <int THREADS>
__device__ __forceinline__ unsigned block_exclusive_sum(unsigned value) {
  static_assert(THREADS % kWarpThreads == 0 && THREADS / kWarpThreads <= kWarpThreads, "one warp scans the warps");
  constexpr int kWarps = THREADS / kWarpThreads;
  __shared__ unsigned s_before[kWarps];  // each warp's inclusive sum, then the sum of the warps before it
  const unsigned in_warp = warp_inclusive_sum(value);
  const int warp = threadIdx.x / kWarpThreads, lane = threadIdx.x % kWarpThreads;
  if (lane == kWarpThreads - 1) s_before[warp] = in_warp;
  __syncthreads();
  if (warp == 0) {
    const unsigned total = lane < kWarps ? s_before[lane] : 0u;
    const unsigned before = warp_inclusive_sum(total) - total;
    __syncwarp();  // every lane has read its warp's sum before any lane overwrites one
    if (lane < kWarps) s_before[lane] = before;
  }
  __syncthreads();
  const unsigned before = s_before[warp] + in_warp - value;
  __syncthreads();  // every thread has read its warp's offset: a next call may overwrite them
  return before;
}

// out[0] = 0 and out[b + 1] = value(0) + ... + value(b) modulo 2^32 for b < bs, calling store(b, value(b)) too: the
// values of upstream's sequential loop. Each thread owns a run of consecutive requests, sums it, takes its run's
// offset from a block scan of the runs' sums and writes its run. All THREADS threads call it.
template <int THREADS, class Value, class Store>
__device__ __forceinline__ void write_prefix(int bs, int* out, Value value, Store store) {
  const int per = (bs + THREADS - 1) / THREADS;
  const int first = min(bs, static_cast<int>(threadIdx.x) * per);
  const int last = min(bs, first + per);
  unsigned run = 0u;
  for (int b = first; b < last; ++b) run += static_cast<unsigned>(value(b));
  unsigned sum = block_exclusive_sum<THREADS>(run);
  if (threadIdx.x == 0) out[0] = 0;
  for (int b = first; b < last; ++b) {
    const int v = value(b);
    sum += static_cast<unsigned>(v);
    store(b, v);
    out[b + 1] = static_cast<int>(sum);
  }
}

// Block 0: cache_seqlens[b] and cu_seqlens_k[0..bs], cu_seqlens_k[0] = 0 included (upstream's one program writes
// it, bs 0 too).
template <int THREADS, int FLAGS>
__device__ __forceinline__ void write_lengths(const Fa3DecodeParams& p) {
  const Fa3Requests<FLAGS> r{p};
  write_prefix<THREADS>(
      p.bs, p.cu_seqlens_k, [&](int b) { return r.cache_len(b); }, [&](int b, int len) { p.cache_seqlens[b] = len; });
}

// swa_mapping[token * swa_mapping_stride], or false where that entry is outside the mapping (a negative token, or
// one past it: upstream reads out of bounds there; draftjit leaves the page's entry as it was).
__device__ __forceinline__ bool swa_slot(const Fa3DecodeParams& p, int token, long long* slot) {
  const long long at = static_cast<long long>(token) * p.swa_mapping_stride;
  if (at < 0 || at >= p.swa_entries) return false;
  *slot = __ldg(p.swa_mapping + at);
  return true;
}

// One item of row b: up to THREADS x kFa3ItemPages of its live pages, min((L + P - 1) >> shift, max_seq_pages) in
// int32 (L itself for P = 1, the same value). Page p is req_to_token[pool, p << shift] >> shift. A pool index outside
// req_to_token leaves the row as it was (upstream reads out of bounds there).
template <int THREADS, int FLAGS>
__device__ __forceinline__ void gather_pages(const Fa3DecodeParams& p, int b, long long tile) {
  const Fa3Requests<FLAGS> r{p};
  const int shift = p.page_shift;
  const unsigned round_up = (1u << shift) - 1u;
  const int live = min(static_cast<int>(static_cast<unsigned>(r.cache_len(b)) + round_up) >> shift, p.max_seq_pages);
  const long long pool = r.pool_index(b);
  if (pool < 0 || pool >= p.pool_rows) return;
  const int* row = p.req_to_token.data + pool * p.req_to_token.row_stride;
  const long long first = tile * (THREADS * kFa3ItemPages) + threadIdx.x;
  int tokens[kFa3ItemPages];
#pragma unroll
  for (int j = 0; j < kFa3ItemPages; ++j) {  // every load first: one round trip
    const long long page = first + j * THREADS;
    if (page < live) tokens[j] = __ldg(row + (page << shift) * p.req_to_token.col_stride);
  }
#pragma unroll
  for (int j = 0; j < kFa3ItemPages; ++j) {
    const long long page = first + j * THREADS;
    if (page >= live) break;
    p.page_table.data[b * p.page_table.row_stride + page * p.page_table.col_stride] = tokens[j] >> shift;
    if constexpr ((FLAGS & kFa3Swa) != 0) {
      long long slot = 0;
      if (swa_slot(p, tokens[j], &slot)) {  // the int64 slot shifted, then its low 32 bits
        p.swa_page_table.data[b * p.swa_page_table.row_stride + page * p.swa_page_table.col_stride] =
            static_cast<int>(static_cast<unsigned long long>(slot >> shift));
      }
    }
  }
}

template <int THREADS, int FLAGS>
__device__ __forceinline__ void fa3_decode_kernel(const Fa3DecodeParams& p) {
  static_assert(FLAGS >= 0 && FLAGS < kFa3FlagsEnd, "FLAGS: kFa3* switches");
  if (blockIdx.x == 0) {
    write_lengths<THREADS, FLAGS>(p);
    return;
  }
  if constexpr ((FLAGS & kFa3SkipPageTable) != 0) return;
  const long long items = static_cast<long long>(p.bs) * p.tiles_per_row;
  for (long long item = blockIdx.x - 1; item < items; item += gridDim.x - 1) {
    const long long b = quotient(item, p.tiles_per_row);
    gather_pages<THREADS, FLAGS>(p, static_cast<int>(b), item - b * p.tiles_per_row);
  }
}

// One item of swa_out_cache_loc: up to THREADS x kFa3ItemPages entries, swa_out_cache_loc[i] =
// mapping[out_cache_loc[i]] (upstream's per-request runs of n_out / bs tokens cover all n_out entries). A location
// outside the mapping leaves its entry as it was (upstream reads out of bounds there).
template <int THREADS>
__device__ __forceinline__ void translate_locs(const Fa3ExtendParams& p, long long tile) {
  const long long first = tile * (THREADS * kFa3ItemPages) + threadIdx.x;
#pragma unroll
  for (int j = 0; j < kFa3ItemPages; ++j) {
    const long long i = first + j * THREADS;
    if (i >= p.out_entries) break;
    const long long loc = __ldg(p.out_cache_loc + i);
    if (loc >= 0 && loc < p.d.swa_entries) p.swa_out_cache_loc[i] = __ldg(p.d.swa_mapping + loc);
  }
}

// FA3's draft extend: block 0 writes cache_seqlens, cu_seqlens_k and cu_seqlens_q (int32(extend_seq_lens[b]) summed);
// the other blocks share the rows' page tiles and, with kFa3Swa, swa_out_cache_loc's tiles.
template <int THREADS, int FLAGS>
__device__ __forceinline__ void fa3_extend_kernel(const Fa3ExtendParams& p) {
  static_assert(FLAGS >= 0 && FLAGS < kFa3FlagsEnd && (FLAGS & kFa3SkipPageTable) == 0, "FLAGS: kFa3* switches");
  if (blockIdx.x == 0) {
    write_lengths<THREADS, FLAGS>(p.d);
    write_prefix<THREADS>(
        p.d.bs, p.cu_seqlens_q,
        [&](int b) { return static_cast<int>(load_index<(FLAGS & kFa3Ext64) != 0>(p.extend_seq_lens, b)); },
        [](int, int) {});
    return;
  }
  constexpr long long kTile = THREADS * kFa3ItemPages;
  const long long row_items = static_cast<long long>(p.d.bs) * p.d.tiles_per_row;
  const long long out_items = (FLAGS & kFa3Swa) != 0 ? (p.out_entries + kTile - 1) / kTile : 0;
  for (long long item = blockIdx.x - 1; item < row_items + out_items; item += gridDim.x - 1) {
    if (item < row_items) {
      const long long b = quotient(item, p.d.tiles_per_row);
      gather_pages<THREADS, FLAGS>(p.d, static_cast<int>(b), item - b * p.d.tiles_per_row);
    } else {
      translate_locs<THREADS>(p, item - row_items);
    }
  }
}

}  // namespace draftjit_kernels

#endif  // DRAFTJIT_FA3_KERNEL_CUH
