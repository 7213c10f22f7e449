// The bulk of a DSA step's bytes: every output row's page-table row gathered from its request's req_to_token row
// over the row's live prefix (the request's KV length rounded up to kDsaLiveColumns, clipped to the bound):
// page_table_1[row, j] = req_to_token[pool_row, j], and with PAGED the real page table beside it, real_page_table[row,
// j / P] = req_to_token[pool_row, j] / P for j % P == 0; with REAL_ONLY only the real page table, whose columns are
// then the units the threads take (one load each, P columns apart). Columns past the live prefix are not touched.
// Blocks take (request, split) pairs, split s of a request taking its tiles s, s + splits, ... and storing each into
// every row of the request (they all copy the same source row): the host picks splits so that a few long rows
// spread over the GPU as well as many short ones, and a short row in a wide table costs only its live tiles. Rows
// with unit column strides and 16-byte alignment move four columns per load and store.
#ifndef DRAFTJIT_ROW_GATHER_CUH
#define DRAFTJIT_ROW_GATHER_CUH

#include "common.cuh"

namespace draftjit_kernels {

__device__ __forceinline__ bool aligned_rows(const int* data, long long row_stride, long long col_stride) {
  return col_stride == 1 && row_stride % 4 == 0 && (reinterpret_cast<unsigned long long>(data) & 15u) == 0;
}

// A request's rows in the gather: where their page-table row comes from, how many of its columns are live (the same
// for every row of the request), and which output rows receive it.
struct GatherGroup {
  long long pool_row;
  int live;
  long long first_row;
  int rows;
};

// The live columns of a row whose request has KV length kv: ceil(kv / kDsaLiveColumns) * kDsaLiveColumns, in [0,
// bound].
__device__ __forceinline__ long long live_columns(long long kv, long long bound) {
  const long long blocks = kv > 0 ? (kv + kDsaLiveColumns - 1) / kDsaLiveColumns : 0;
  return min(blocks * kDsaLiveColumns, bound);
}

// Tiles (or items) a thread has in flight at once: all their loads are issued before the first store.
enum : int { kGatherInFlight = 2 };

// One thread's units [unit, unit + kDsaGatherColumns) of one tile of a row, loaded and then stored: the loads of a
// thread's tiles are all issued before the first store, so their round trips overlap.
struct GatherPart {
  long long row;  // -1: no units of this tile for this thread
  int unit;
  int limit;      // the row's live units
  int v[kDsaGatherColumns];
};

// in: the source row; stride: elements between two units' sources.
__device__ __forceinline__ void load_part(const int* in, long long stride, bool vector, GatherPart& part) {
  if (vector && part.unit + kDsaGatherColumns <= part.limit) {
    const int4 q = __ldg(reinterpret_cast<const int4*>(in + part.unit));
    part.v[0] = q.x;
    part.v[1] = q.y;
    part.v[2] = q.z;
    part.v[3] = q.w;
    return;
  }
#pragma unroll
  for (int k = 0; k < kDsaGatherColumns; ++k) {
    if (part.unit + k < part.limit) part.v[k] = __ldg(in + (part.unit + k) * stride);
  }
}

// Units are columns: page_table_1, and with PAGED the real page table's entries among them.
template <bool PAGED>
__device__ __forceinline__ void store_columns(const DsaCommonParams& c, const Divisor& by_page, bool vector,
                                              const GatherPart& part) {
  const Matrix& dst = c.page_table_1;
  int* out = dst.data + part.row * dst.row_stride;
  if (vector && part.unit + kDsaGatherColumns <= part.limit) {
    *reinterpret_cast<int4*>(out + part.unit) = make_int4(part.v[0], part.v[1], part.v[2], part.v[3]);
  } else {
#pragma unroll
    for (int k = 0; k < kDsaGatherColumns; ++k) {
      if (part.unit + k < part.limit) out[(part.unit + k) * dst.col_stride] = part.v[k];
    }
  }
  if constexpr (PAGED) {
    const int page_size = c.page_size;
    int page = by_page(part.unit);  // of column unit + k, stepped along with its offset in the page
    int offset = part.unit - page * page_size;
    int* real = c.real_page_table.data + part.row * c.real_page_table.row_stride;
#pragma unroll
    for (int k = 0; k < kDsaGatherColumns; ++k) {
      if (offset == 0 && part.unit + k < part.limit) real[page * c.real_page_table.col_stride] = by_page(part.v[k]);
      if (++offset == page_size) {
        offset = 0;
        ++page;
      }
    }
  }
}

// Units are the real page table's columns.
__device__ __forceinline__ void store_real(const DsaCommonParams& c, const Divisor& by_page, const GatherPart& part) {
  int* real = c.real_page_table.data + part.row * c.real_page_table.row_stride;
#pragma unroll
  for (int k = 0; k < kDsaGatherColumns; ++k) {
    if (part.unit + k < part.limit) real[(part.unit + k) * c.real_page_table.col_stride] = by_page(part.v[k]);
  }
}

// How a step's gathers read and write: the source stride between two units, and whether rows move four columns per
// 16-byte load and store.
template <int FLAGS>
struct GatherLayout {
  long long src_stride;
  bool vector;
  Divisor by_page;

  __device__ explicit GatherLayout(const DsaCommonParams& c) : by_page((FLAGS & kDsaPaged) != 0 ? c.page_size : 1) {
    constexpr bool kRealOnly = (FLAGS & kDsaRealOnly) != 0;
    src_stride = kRealOnly ? c.req_to_token.col_stride * c.page_size : c.req_to_token.col_stride;
    vector = !kRealOnly && aligned_rows(c.req_to_token.data, c.req_to_token.row_stride, c.req_to_token.col_stride) &&
             aligned_rows(c.page_table_1.data, c.page_table_1.row_stride, c.page_table_1.col_stride);
  }
  // The row's live units: columns, or with kDsaRealOnly the real page table's.
  __device__ int units(long long live) const {
    return static_cast<int>((FLAGS & kDsaRealOnly) != 0 ? by_page(live + by_page.d - 1) : live);
  }
  __device__ void load(const DsaCommonParams& c, long long pool_row, GatherPart& part) const {
    load_part(c.req_to_token.data + pool_row * c.req_to_token.row_stride, src_stride, vector, part);
  }
  __device__ void store(const DsaCommonParams& c, const GatherPart& part) const {
    if constexpr ((FLAGS & kDsaRealOnly) != 0) {
      store_real(c, by_page, part);
    } else {
      store_columns<(FLAGS & kDsaPaged) != 0>(c, by_page, vector, part);
    }
  }
  // The part's units into output rows [part.row, part.row + rows).
  __device__ void store_rows(const DsaCommonParams& c, GatherPart part, int rows) const {
    for (int r = 0; r < rows; ++r, ++part.row) store(c, part);
  }
};

// Worker `worker` of `workers` takes its (group, split) pairs over groups [0, groups); group_of(g) gives group g's
// GatherGroup. Every tile is loaded once and stored into each row of its group. bound fits int32 (the host checks it).
template <int THREADS, int FLAGS, class GroupOf>
__device__ __forceinline__ void gather_groups(const DsaCommonParams& c, int groups, unsigned worker, unsigned workers,
                                              GroupOf group_of) {
  enum : int { kTile = THREADS * kDsaGatherColumns, kStep = kGatherInFlight };
  const GatherLayout<FLAGS> layout(c);
  const long long pairs = static_cast<long long>(groups) * c.splits;
  for (long long pair = worker; pair < pairs; pair += workers) {
    const int group = static_cast<int>(quotient(pair, c.splits));
    const int split = static_cast<int>(pair - static_cast<long long>(group) * c.splits);
    const GatherGroup source = group_of(group);
    if (source.rows <= 0) continue;
    const int limit = layout.units(source.live);
    const int tiles = (limit + kTile - 1) / kTile;
    for (int first = split; first < tiles; first += kStep * c.splits) {
      GatherPart parts[kStep];
#pragma unroll
      for (int s = 0; s < kStep; ++s) {
        const int tile = first + s * c.splits;
        parts[s].row = -1;
        if (tile >= tiles) continue;
        parts[s].unit = tile * kTile + static_cast<int>(threadIdx.x) * kDsaGatherColumns;
        parts[s].limit = limit;
        if (parts[s].unit >= limit) continue;
        parts[s].row = source.first_row;
        layout.load(c, source.pool_row, parts[s]);
      }
#pragma unroll
      for (int s = 0; s < kStep; ++s) {
        if (parts[s].row >= 0) layout.store_rows(c, parts[s], source.rows);
      }
    }
  }
}

}  // namespace draftjit_kernels

#endif  // DRAFTJIT_ROW_GATHER_CUH
