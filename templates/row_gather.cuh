// The bulk of a DSA step's bytes: every output row's page-table row gathered from its request's req_to_token row,
// page_table_1[row, j] = req_to_token[pool_row, j] for j < bound, and with PAGED the real page table beside it,
// real_page_table[row, j / P] = page_table_1[row, j] / P for j % P == 0. Columns at and past the bound are not
// touched. Blocks stride over (row, column tile) items, so a few long rows spread over the GPU as well as many short
// ones (worker w of `workers` takes items w, w + workers, ...); rows with unit column strides and 16-byte alignment move four columns per load and store.
#ifndef DRAFTJIT_ROW_GATHER_CUH
#define DRAFTJIT_ROW_GATHER_CUH

#include "kernel_params.cuh"

namespace draftjit_kernels {

__device__ __forceinline__ bool aligned_rows(const int* data, long long row_stride, long long col_stride) {
  return col_stride == 1 && row_stride % 4 == 0 && (reinterpret_cast<unsigned long long>(data) & 15u) == 0;
}

// One thread's columns [col, col + kDsaGatherColumns) of one item's row, loaded and then stored: the loads of a
// thread's items are all issued before the first store, so their round trips overlap.
struct GatherPart {
  long long row;  // -1: no columns of this item for this thread
  int col;
  int v[kDsaGatherColumns];
};

__device__ __forceinline__ void load_part(const DsaConstMatrix& src, long long pool_row, int bound, bool vector,
                                          GatherPart& part) {
  const int* in = src.data + pool_row * src.row_stride;
  if (vector && part.col + kDsaGatherColumns <= bound) {
    const int4 q = __ldg(reinterpret_cast<const int4*>(in + part.col));
    part.v[0] = q.x;
    part.v[1] = q.y;
    part.v[2] = q.z;
    part.v[3] = q.w;
    return;
  }
#pragma unroll
  for (int k = 0; k < kDsaGatherColumns; ++k) {
    if (part.col + k < bound) part.v[k] = __ldg(in + (part.col + k) * src.col_stride);
  }
}

template <bool PAGED>
__device__ __forceinline__ void store_part(const DsaCommonParams& c, int bound, bool vector, const GatherPart& part) {
  const DsaMatrix& dst = c.page_table_1;
  int* out = dst.data + part.row * dst.row_stride;
  if (vector && part.col + kDsaGatherColumns <= bound) {
    *reinterpret_cast<int4*>(out + part.col) = make_int4(part.v[0], part.v[1], part.v[2], part.v[3]);
  } else {
#pragma unroll
    for (int k = 0; k < kDsaGatherColumns; ++k) {
      if (part.col + k < bound) out[(part.col + k) * dst.col_stride] = part.v[k];
    }
  }
  if constexpr (PAGED) {
    const int page_size = c.page_size;
    int page = part.col / page_size;  // of column col + k, stepped along with its offset in the page
    int offset = part.col - page * page_size;
    int* real = c.real_page_table.data + part.row * c.real_page_table.row_stride;
#pragma unroll
    for (int k = 0; k < kDsaGatherColumns; ++k) {
      if (offset == 0 && part.col + k < bound) real[page * c.real_page_table.col_stride] = part.v[k] / page_size;
      if (++offset == page_size) {
        offset = 0;
        ++page;
      }
    }
  }
}

// pool_row_of(row) gives the req_to_token row of an output row. bound fits int32 (the host checks it).
template <int THREADS, bool PAGED, class PoolRowOf>
__device__ __forceinline__ void gather_rows(const DsaCommonParams& c, unsigned worker, unsigned workers,
                                            PoolRowOf pool_row_of) {
  enum : int { kTile = THREADS * kDsaGatherColumns, kStep = 2 };  // kStep: items a thread has in flight at once
  const int bound = static_cast<int>(c.bound);
  const long long tiles = (bound + kTile - 1) / kTile;
  const long long items = c.rows * tiles;
  const bool vector = aligned_rows(c.req_to_token.data, c.req_to_token.row_stride, c.req_to_token.col_stride) &&
                      aligned_rows(c.page_table_1.data, c.page_table_1.row_stride, c.page_table_1.col_stride);
  for (long long first = worker; first < items; first += static_cast<long long>(kStep) * workers) {
    GatherPart parts[kStep];
#pragma unroll
    for (int s = 0; s < kStep; ++s) {
      const long long item = first + static_cast<long long>(s) * workers;
      parts[s].row = -1;
      if (item >= items) continue;
      const long long row = item / tiles;
      parts[s].col = static_cast<int>(item - row * tiles) * kTile + static_cast<int>(threadIdx.x) * kDsaGatherColumns;
      if (parts[s].col >= bound) continue;
      parts[s].row = row;
      load_part(c.req_to_token, pool_row_of(row), bound, vector, parts[s]);
    }
#pragma unroll
    for (int s = 0; s < kStep; ++s) {
      if (parts[s].row >= 0) store_part<PAGED>(c, bound, vector, parts[s]);
    }
  }
}

}  // namespace draftjit_kernels

#endif  // DRAFTJIT_ROW_GATHER_CUH
