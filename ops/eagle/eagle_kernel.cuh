// The EAGLE family's kernels (include/draftjit/eagle.hpp). Nothing depends on bs, topk, steps, the page size, a width
// or a stride at compile time: one kernel per op and switch set (FLAGS) serves every call.
// - Contiguous draft cache locations: every request's run of topk * steps locations is the run of req_to_token's row
//   that starts at its seq_len, widened to int64. Blocks take (request, tile) items in turn.
// - Draft decode KV indices: for each step, request and branch, the request's row prefix and its extension tokens
//   at the segment's closed-form offset, and kv_indptr from the prefix over positions. Blocks take contiguous runs
//   of (request, split) items and sum the prefixes of their first request once; where the batch's tiles leave SMs
//   without a block, a request's splits also divide its (step, branch) segments among them.
#ifndef DRAFTJIT_EAGLE_KERNEL_CUH
#define DRAFTJIT_EAGLE_KERNEL_CUH

#include "kernel_params.cuh"

// ---- The family's params and switch bits: host and device share them ----

namespace draftjit_kernels {

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
// Blocks take contiguous runs of (request, split) items; split s of a request is tile split s / groups (its tiles
// t, t + splits / groups, ...) into segment group s % groups.
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
  long long splits;             // items per request: tile splits x segment groups, the groups varying fastest
  long long groups;             // segment groups: group g writes segments g * group_segments and on,
  long long group_segments;     // at most, of the steps x topk (step, branch) segments in the order step-major
};

}  // namespace draftjit_kernels

// ---- The kernels: device code, which the host compiler skips ----

#if defined(__CUDACC_RTC__) || defined(__CUDACC__)

#include "common.cuh"

namespace draftjit_kernels {

// Tile `tile` of request b's run: out_cache_loc[b * run + j] = req_to_token[pool_b, seq_lens[b] + j], every load
// first. A pool index outside req_to_token's rows, or a column outside its columns (upstream's precondition
// seq_lens[b] + run <= pool_len broken: it reads another row, or past the table), leaves the entry as it was.
template <int THREADS, int FLAGS>
__device__ __forceinline__ void copy_run(const EagleCacheLocsParams& p, int b, long long tile) {
  const long long pool = load_index<(FLAGS & kEaglePoolIndices32) == 0>(p.req_pool_indices, b);
  if (pool < 0 || pool >= p.pool_rows) return;
  const long long start = load_index<(FLAGS & kEagleSeqLens64) != 0>(p.seq_lens, b);
  const int* row = p.req_to_token.data + pool * p.req_to_token.row_stride;
  const long long first = tile * (THREADS * kEagleItemLocs) + threadIdx.x;
  int tokens[kEagleItemLocs];
#pragma unroll
  for (int k = 0; k < kEagleItemLocs; ++k) {
    const long long j = first + k * THREADS;
    const long long column = start + j;
    if (j < p.run && column >= 0 && column < p.pool_cols) tokens[k] = __ldg(row + column * p.req_to_token.col_stride);
  }
#pragma unroll
  for (int k = 0; k < kEagleItemLocs; ++k) {
    const long long j = first + k * THREADS;
    const long long column = start + j;
    if (j < p.run && column >= 0 && column < p.pool_cols) p.out_cache_loc[b * p.run + j] = tokens[k];
  }
}

template <int THREADS, int FLAGS>
__device__ __forceinline__ void eagle_cache_locs_kernel(const EagleCacheLocsParams& p) {
  static_assert(FLAGS >= 0 && FLAGS < kEagleFlagsEnd, "FLAGS: kEagle* switches");
  for (long long item = blockIdx.x; item < p.bs * p.tiles_per_run; item += gridDim.x) {
    const long long b = quotient(item, p.tiles_per_run);
    copy_run<THREADS, FLAGS>(p, static_cast<int>(b), item - b * p.tiles_per_run);
  }
}

// ---- generate_draft_decode_kv_indices ----

// Two sums, to every thread of the block, which all call it with the same n and m: of first(i) for i < min(n, m) and
// of second(i) for i < m. Where m is 0 it returns at once, with no barrier, as for every block whose first request
// is 0. Its caller has n = q <= m = q * topk, or topk = 0, where no segment reads the first sum.
template <int THREADS, class First, class Second>
__device__ __forceinline__ void block_sums(long long n, First first, long long m, Second second, long long& first_sum,
                                           long long& second_sum) {
  constexpr int kWarps = THREADS / kWarpThreads;
  first_sum = second_sum = 0;
  if (m == 0) return;
  for (long long i = threadIdx.x; i < m; i += THREADS) {
    if (i < n) first_sum += first(i);
    second_sum += second(i);
  }
#pragma unroll
  for (int d = kWarpThreads / 2; d > 0; d /= 2) {
    first_sum += __shfl_xor_sync(kFullWarp, first_sum, d);
    second_sum += __shfl_xor_sync(kFullWarp, second_sum, d);
  }
  // Called once per block: no earlier reader of the scratch to wait for.
  __shared__ long long s_warps[2][kWarps];
  if (threadIdx.x % kWarpThreads == 0) {
    s_warps[0][threadIdx.x / kWarpThreads] = first_sum;
    s_warps[1][threadIdx.x / kWarpThreads] = second_sum;
  }
  __syncthreads();
  first_sum = second_sum = 0;
#pragma unroll
  for (int w = 0; w < kWarps; ++w) {
    first_sum += s_warps[0][w];
    second_sum += s_warps[1][w];
  }
}

// x as upstream computes it: in int32 (wrapping) where its lengths are int32, else in int64.
template <int FLAGS>
__device__ __forceinline__ long long in_lens_width(unsigned long long x) {
  if constexpr ((FLAGS & kEagleLens64) != 0) return static_cast<long long>(x);
  return static_cast<int>(static_cast<unsigned>(x));
}

// Where segment (it = step + 1, request q, branch k) starts in its step's row: the segments of the requests before
// q (cum their lengths' sum), then q's branches before k, each len + it long.
template <int FLAGS>
__device__ __forceinline__ long long segment_base(const EagleDraftKvParams& p, long long cum, int q, int it, int k,
                                                  long long len) {
  using U = unsigned long long;
  const U topk = static_cast<unsigned>(p.topk);
  // q * it * topk is int32 upstream too: the host keeps bs * steps * topk within INT32_MAX.
  return in_lens_width<FLAGS>(U(cum) * topk + U(q) * U(it) * topk + U(k) * (U(len) + U(it)));
}

// The column of req_to_token where branch k's extension starts: right after the prefix, steps per branch, or with
// pages (page_size > 1 and topk > 1) on the branch's own pages after the prefix's last full page, at the same
// offset in the page as the prefix's end. C's truncating / and %, as Triton's // and %.
template <int FLAGS>
__device__ __forceinline__ long long extension_start(const EagleDraftKvParams& p, int k, long long len) {
  using U = unsigned long long;
  const long long size = p.page_size;
  if (size == 1 || p.topk == 1) return in_lens_width<FLAGS>(U(len) + U(k) * U(p.steps));
  const long long last = in_lens_width<FLAGS>(U(len % size));
  const long long pages = in_lens_width<FLAGS>(U(last + p.steps + size - 1)) / size;
  return in_lens_width<FLAGS>(U(len / size * size) + U(k) * U(pages) * U(size) + U(last));
}

template <int FLAGS>
__device__ __forceinline__ void store_kv_index(const EagleDraftKvParams& p, int step, long long column, int token) {
  if (column < 0 || column >= p.kv_indices_stride) return;
  const long long at = step * p.kv_indices_stride + column;
  if (at >= p.kv_indices_length) return;
  if constexpr ((FLAGS & kEagleOut64) != 0) {
    static_cast<long long*>(p.kv_indices)[at] = token;
  } else {
    static_cast<int*>(p.kv_indices)[at] = token;
  }
}

template <int FLAGS>
__device__ __forceinline__ long long load_position(const EagleDraftKvParams& p, long long x) {
  return load_index<(FLAGS & kEaglePositions32) == 0>(p.positions, static_cast<int>(x));
}

// Request q's length and row, and the prefix columns the kernel copies: at most the row's columns, and none where
// its pool index is outside req_to_token's rows.
struct DraftKvRow {
  long long len;
  const int* row;
  long long live;
  bool ok;
};

template <int FLAGS>
__device__ __forceinline__ DraftKvRow draft_kv_row(const EagleDraftKvParams& p, int q) {
  const long long len = load_index<(FLAGS & kEagleLens64) != 0>(p.lens, q);
  const long long pool = load_index<(FLAGS & kEaglePoolIndices32) == 0>(p.req_pool_indices, q);
  const bool ok = pool >= 0 && pool < p.pool_rows;
  return {len, p.req_to_token.data + (ok ? pool : 0) * p.req_to_token.row_stride, ok ? min(len, p.pool_cols) : 0, ok};
}

// Whether item (q, split) of row r writes anything: tile split 0 writes its group's extensions and kv_indptr
// entries, a later one only the row tiles it reaches.
template <int THREADS>
__device__ __forceinline__ bool draft_kv_item_writes(const EagleDraftKvParams& p, long long split, const DraftKvRow& r) {
  const long long tile_split = quotient(split, p.groups);
  return tile_split == 0 || tile_split * (THREADS * kEagleItemLocs) < r.live;
}

// Item (q, split): the row tiles t, t + tile splits, ... of request q's prefix (t: the tile split) into the segments
// of its group; tile split 0 also writes its group's extensions and kv_indptr entries. cum: the lengths of the
// requests before q; positions: the sum of positions[x] for x < q * topk; r: q's row.
template <int THREADS, int FLAGS>
__device__ __forceinline__ void draft_kv_item(const EagleDraftKvParams& p, int q, long long split, long long cum,
                                              long long positions, const DraftKvRow& r) {
  constexpr int kTile = THREADS * kEagleItemLocs;
  const long long len = r.len, live = r.live;
  const int* row = r.row;
  const long long segments = static_cast<long long>(p.steps) * p.topk;
  const long long tile_split = quotient(split, p.groups), tile_splits = quotient(p.splits, p.groups);
  const long long first_segment = (split - tile_split * p.groups) * p.group_segments;
  const long long end_segment = min(first_segment + p.group_segments, segments);
  const int first_step = static_cast<int>(quotient(first_segment, p.topk));
  for (long long first = tile_split * kTile + threadIdx.x; first - threadIdx.x < live; first += tile_splits * kTile) {
    int tokens[kEagleItemLocs];
#pragma unroll
    for (int i = 0; i < kEagleItemLocs; ++i) {
      const long long j = first + i * THREADS;
      if (j < live) tokens[i] = __ldg(row + j * p.req_to_token.col_stride);
    }
    int d = first_step, k = static_cast<int>(first_segment - static_cast<long long>(first_step) * p.topk);
    for (long long segment = first_segment; segment < end_segment; ++segment) {
      const long long base = segment_base<FLAGS>(p, cum, q, d + 1, k, len);
#pragma unroll
      for (int i = 0; i < kEagleItemLocs; ++i) {
        const long long j = first + i * THREADS;
        if (j < live) store_kv_index<FLAGS>(p, d, base + j, tokens[i]);
      }
      if (++k == p.topk) {
        k = 0;
        ++d;
      }
    }
  }
  if (tile_split != 0) return;
  // The group's extensions: (segment of step d and branch k, token e < d + 1), one per thread in turn. Each group
  // writes its own segments' extensions and kv_indptr entries, so that no block's chain holds them all.
  for (long long t = threadIdx.x; r.ok && t < (end_segment - first_segment) * p.steps; t += THREADS) {
    const long long segment = first_segment + quotient(t, p.steps);
    const int e = static_cast<int>(t - (segment - first_segment) * p.steps);
    const int d = static_cast<int>(quotient(segment, p.topk));
    const int k = static_cast<int>(segment - static_cast<long long>(d) * p.topk);
    if (e > d) continue;
    const long long column = extension_start<FLAGS>(p, k, len) + e;
    if (column < 0 || column >= p.pool_cols) continue;
    const int token = __ldg(row + column * p.req_to_token.col_stride);
    store_kv_index<FLAGS>(p, d, segment_base<FLAGS>(p, cum, q, d + 1, k, len) + len + e, token);
  }
  // kv_indptr[d, z] for segment (d, k), z = q * topk + k + 1: the positions before z plus z * (d + 1). Request q
  // writes entries q * topk + 1 ..= (q + 1) * topk, so the last one writes bs * topk with no block summing every
  // position.
  for (long long segment = first_segment + threadIdx.x; segment < end_segment; segment += THREADS) {
    const int d = static_cast<int>(quotient(segment, p.topk));
    const int k = static_cast<int>(segment - static_cast<long long>(d) * p.topk);
    const long long z = static_cast<long long>(q) * p.topk + k + 1;
    long long before = positions;
    for (long long x = z - k - 1; x < z; ++x) before += load_position<FLAGS>(p, x);
    p.kv_indptr[d * p.kv_indptr_stride + z] = static_cast<int>(static_cast<unsigned long long>(before + z * (d + 1)));
  }
}

template <int THREADS, int FLAGS>
__device__ __forceinline__ void eagle_draft_kv_kernel(const EagleDraftKvParams& p) {
  static_assert(FLAGS >= 0 && FLAGS < kEagleFlagsEnd, "FLAGS: kEagle* switches");
  const long long items = static_cast<long long>(p.bs) * p.splits;
  const long long first = items * blockIdx.x / gridDim.x, last = items * (blockIdx.x + 1) / gridDim.x;
  if (first >= last) return;  // the whole block
  int q = static_cast<int>(quotient(first, p.splits));
  DraftKvRow row = draft_kv_row<FLAGS>(p, q);
  // A block of one item that writes nothing (a tile split past a short row, in a wide table) leaves before the sums,
  // which then cost only the blocks that write.
  if (last - first == 1 && !draft_kv_item_writes<THREADS>(p, first - static_cast<long long>(q) * p.splits, row)) return;
  // The prefixes of the block's first request, once; later requests add theirs as the block reaches them.
  long long cum, positions;
  block_sums<THREADS>(
      q, [&](long long r) { return load_index<(FLAGS & kEagleLens64) != 0>(p.lens, static_cast<int>(r)); },
      static_cast<long long>(q) * p.topk, [&](long long x) { return load_position<FLAGS>(p, x); }, cum, positions);
  for (long long item = first; item < last; ++item) {
    for (; q < quotient(item, p.splits); ++q) {
      cum += row.len;
      for (long long x = static_cast<long long>(q) * p.topk; x < static_cast<long long>(q + 1) * p.topk; ++x) {
        positions += load_position<FLAGS>(p, x);
      }
      row = draft_kv_row<FLAGS>(p, q + 1);
    }
    draft_kv_item<THREADS, FLAGS>(p, q, item - static_cast<long long>(q) * p.splits, cum, positions, row);
  }
}

}  // namespace draftjit_kernels

#endif  // defined(__CUDACC_RTC__) || defined(__CUDACC__)

#endif  // DRAFTJIT_EAGLE_KERNEL_CUH
