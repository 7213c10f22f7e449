// The FA3 family's kernels (include/draftjit/fa3.hpp), one launch each. Normal decode and draft extend: block 0
// writes the per-request lengths and their prefixes, the other blocks share the page-table rows' live pages (and draft
// extend's SWA out-cache locations). The SWA speculative page table: every block takes row tiles. The KV-split count:
// one block. Nothing depends on bs, a width, the page size or seq_len_delta at compile time: one kernel per switch set
// (FLAGS) serves every call. Upstream's arithmetic is kept exactly: int32 sums wrap, pages and tokens are divided by
// an arithmetic shift (floor, not C's `/`).
#ifndef DRAFTJIT_FA3_KERNEL_CUH
#define DRAFTJIT_FA3_KERNEL_CUH

#include "kernel_params.cuh"

// ---- The family's params and switch bits: host and device share them ----

namespace draftjit_kernels {

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

}  // namespace draftjit_kernels

// ---- The kernels: device code, which the host compiler skips ----

#if defined(__CUDACC_RTC__) || defined(__CUDACC__)

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

// Block 0: cache_seqlens[b], cu_seqlens_k[0..bs] and, for draft extend (EXTEND), cu_seqlens_q[0..bs] summing
// int32(extend_seq_lens[b]); entry 0 of each is written 0 (upstream's one program writes it, bs 0 too).
template <int THREADS, int FLAGS, bool EXTEND>
__device__ __forceinline__ void write_lengths(const Fa3DecodeParams& p, const IndexArray& extend_seq_lens,
                                              int* cu_seqlens_q) {
  const Fa3Requests<FLAGS> r{p};
  if (threadIdx.x == 0) {
    p.cu_seqlens_k[0] = 0;
    if constexpr (EXTEND) cu_seqlens_q[0] = 0;
  }
  request_prefixes<THREADS, EXTEND>(
      p.bs,
      [&](int b) {
        const long long ext = EXTEND ? load_index<(FLAGS & kFa3Ext64) != 0>(extend_seq_lens, b) : 0;
        return RequestSums{static_cast<unsigned>(r.cache_len(b)), static_cast<unsigned>(ext)};
      },
      [&](int b, RequestSums len, RequestSums sum) {
        p.cache_seqlens[b] = static_cast<int>(len.k);
        p.cu_seqlens_k[b + 1] = static_cast<int>(sum.k);
        if constexpr (EXTEND) cu_seqlens_q[b + 1] = static_cast<int>(sum.q);
      });
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
    write_lengths<THREADS, FLAGS, false>(p, IndexArray{}, nullptr);
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
    write_lengths<THREADS, FLAGS, true>(p.d, p.extend_seq_lens, p.cu_seqlens_q);
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

// Upstream's prepare_swa_spec_page_table_triton: row m of dst over its columns n < min(A + B, cover), where A =
// seq_len_a[m / repeat] and B = seq_len_b[m] are summed in their dtypes (two int32 values wrap as upstream's do):
// dst[m, n] = a[m / repeat, n] for n < A (0 past a's columns), else b[m, n - A] (0 past b's columns). Columns past
// that keep what they held. Every block takes items, tiles of THREADS x kFa3ItemPages columns of one row.
template <int THREADS, int FLAGS>
__device__ __forceinline__ void fa3_swa_spec_kernel(const Fa3SpecTableParams& p) {
  static_assert(FLAGS >= 0 && FLAGS < kFa3FlagsEnd, "FLAGS: kFa3* switches");
  constexpr bool kA64 = (FLAGS & kFa3SeqLenA64) != 0, kB64 = (FLAGS & kFa3SeqLenB64) != 0;
  const long long items = p.rows * p.tiles_per_row;
  for (long long item = blockIdx.x; item < items; item += gridDim.x) {
    const long long m = quotient(item, p.tiles_per_row);
    const long long request = quotient(m, p.repeat);
    const long long len_a = load_index<kA64>(p.seq_len_a, static_cast<int>(request));
    const long long len_b = load_index<kB64>(p.seq_len_b, static_cast<int>(m));
    const long long total =
        kA64 || kB64 ? len_a + len_b : static_cast<int>(static_cast<unsigned>(len_a) + static_cast<unsigned>(len_b));
    const long long live = min(total, p.cover);
    const long long first = (item - m * p.tiles_per_row) * (THREADS * kFa3ItemPages) + threadIdx.x;
    int values[kFa3ItemPages];
#pragma unroll
    for (int j = 0; j < kFa3ItemPages; ++j) {  // every load first: one round trip
      const long long n = first + j * THREADS;
      if (n >= live) break;
      if (n < len_a) {
        values[j] = n < p.a_cols ? __ldg(p.a.data + request * p.a.row_stride + n * p.a.col_stride) : 0;
      } else {
        values[j] = n - len_a < p.b_cols ? __ldg(p.b.data + m * p.b.row_stride + (n - len_a) * p.b.col_stride) : 0;
      }
    }
#pragma unroll
    for (int j = 0; j < kFa3ItemPages; ++j) {
      const long long n = first + j * THREADS;
      if (n >= live) break;
      p.dst.data[m * p.dst.row_stride + n * p.dst.col_stride] = values[j];
    }
  }
}

// WIDE ? long long : int, the dtype of a length array, and its bits unsigned (for upstream's wrapping arithmetic).
template <bool WIDE>
struct LengthType {
  using type = int;
  using bits = unsigned;
};
template <>
struct LengthType<true> {
  using type = long long;
  using bits = unsigned long long;
};

// Upstream's `tl.cdiv(a, b)`, (a + b - 1) // b: wrapping add, truncating division.
template <class T>
__device__ __forceinline__ T cdiv(T a, T b) {
  using U = typename LengthType<sizeof(T) == 8>::bits;
  return static_cast<T>(static_cast<U>(a) + static_cast<U>(b) - 1u) / b;
}

// The block's maximum and minimum of each thread's (hi, lo) over THREADS threads (every thread calls it, once).
template <int THREADS, class T>
__device__ __forceinline__ void block_max_min(T* hi, T* lo) {
  static_assert(THREADS % kWarpThreads == 0 && THREADS / kWarpThreads <= kWarpThreads, "one warp reduces the warps");
  __shared__ T s_hi[THREADS / kWarpThreads], s_lo[THREADS / kWarpThreads];
#pragma unroll
  for (int offset = kWarpThreads / 2; offset > 0; offset /= 2) {
    *hi = max(*hi, __shfl_xor_sync(kFullWarp, *hi, offset));
    *lo = min(*lo, __shfl_xor_sync(kFullWarp, *lo, offset));
  }
  const int warp = threadIdx.x / kWarpThreads;
  if (threadIdx.x % kWarpThreads == 0) {
    s_hi[warp] = *hi;
    s_lo[warp] = *lo;
  }
  __syncthreads();
  for (int w = 0; w < THREADS / kWarpThreads; ++w) {
    *hi = max(*hi, s_hi[w]);
    *lo = min(*lo, s_lo[w]);
  }
}

// Upstream's get_num_kv_splits_triton in one block, values in seq_lens' dtype T as upstream's: Mx the largest length
// (at least 0 when lanes > num_seq, upstream's masked lanes), Mn the least (Mx when 10 Mn > 8 Mx, wrapping as
// upstream's products do); uneven_batch = Mn < Mx; the split counts from two chunk sizes, cdiv(Mx, min(cdiv(Mx, Mn),
// max_kv_splits)) and cdiv(Mx, min(cdiv(cores, grid), max_kv_splits)) with cores = int(device_core_count *
// max(lg2.approx(float(Mx) / 64), 1)), Triton's fast log2, and grid the attention kernel's programs per split; each
// length's count max(cdiv(L, c1), cdiv(L, c2)) written num_group times. A zero divisor (a zero or negative least
// length, say; upstream divides by it) writes no count.
template <int THREADS, int FLAGS>
__device__ __forceinline__ void fa3_kv_splits_kernel(const Fa3KvSplitsParams& p) {
  static_assert(FLAGS >= 0 && FLAGS < kFa3FlagsEnd, "FLAGS: kFa3* switches");
  constexpr bool kWide = (FLAGS & kFa3SeqLens64) != 0;
  using T = typename LengthType<kWide>::type;
  using U = typename LengthType<kWide>::bits;
  constexpr T kLeast = static_cast<T>(static_cast<U>(1) << (sizeof(T) * 8 - 1));
  const auto length = [&](int s) { return static_cast<T>(load_index<kWide>(p.seq_lens, s)); };
  T hi = p.lanes > p.num_seq ? T(0) : kLeast, lo = ~kLeast;  // upstream's masked lanes load 0 for the max
  for (int s = threadIdx.x; s < p.num_seq; s += THREADS) {
    hi = max(hi, length(s));
    lo = min(lo, length(s));
  }
  block_max_min<THREADS>(&hi, &lo);
  lo = min(lo, hi);  // and the max for the min (so with no length, Mn = Mx)
  if (static_cast<T>(static_cast<U>(hi) * 8u) < static_cast<T>(static_cast<U>(lo) * 10u)) lo = hi;
  if (threadIdx.x == 0 && p.uneven_batch != nullptr) *p.uneven_batch = lo < hi ? 1 : 0;
  if (lo == 0) return;
  const T splits_1 = min(cdiv(hi, lo), static_cast<T>(p.max_kv_splits));
  if (splits_1 == 0) return;
  const T chunk_1 = cdiv(hi, splits_1);
  const float log2_len = __log2f(static_cast<float>(hi) / 64.0f);  // lg2.approx.f32, as Triton's tl.log2
  const int cores = __float2int_rz(static_cast<float>(p.device_core_count) * fmaxf(log2_len, 1.0f));
  const int group = p.num_head / p.num_kv_head;  // the host refuses num_kv_head 0
  const int block_h = min(16, group);
  if (group != 1 && block_h == 0) return;
  const unsigned per_seq = static_cast<unsigned>(p.num_seq) * static_cast<unsigned>(p.num_group);
  const int heads = group == 1 ? p.num_head : cdiv(p.num_head, block_h);  // per (seq, group): programs of the grid
  const int grid = static_cast<int>(per_seq * static_cast<unsigned>(heads));
  if (grid == 0) return;
  const int splits_2 = min(cdiv(cores, grid), p.max_kv_splits);
  if (splits_2 == 0) return;
  const T chunk_2 = cdiv(hi, static_cast<T>(splits_2));
  if (chunk_1 == 0 || chunk_2 == 0) return;
  for (int s = threadIdx.x; s < p.num_seq; s += THREADS) {
    const int count = static_cast<int>(max(cdiv(length(s), chunk_1), cdiv(length(s), chunk_2)));
    for (int i = 0; i < p.num_group; ++i) p.num_kv_splits[static_cast<long long>(s) * p.num_group + i] = count;
  }
}

}  // namespace draftjit_kernels

#endif  // defined(__CUDACC_RTC__) || defined(__CUDACC__)

#endif  // DRAFTJIT_FA3_KERNEL_CUH
