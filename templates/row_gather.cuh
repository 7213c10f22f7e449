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

// pool_row_of(row) gives the req_to_token row of an output row. bound fits int32 (the host checks it).
template <int THREADS, bool PAGED, class PoolRowOf>
__device__ __forceinline__ void gather_rows(const DsaCommonParams& c, unsigned worker, unsigned workers,
                                            PoolRowOf pool_row_of) {
  enum : int { kColumns = kDsaGatherColumns, kTile = THREADS * kColumns };
  const int bound = static_cast<int>(c.bound);
  const long long tiles = (bound + kTile - 1) / kTile;
  const long long items = c.rows * tiles;
  const DsaConstMatrix src = c.req_to_token;
  const DsaMatrix dst = c.page_table_1;
  const bool vector = aligned_rows(src.data, src.row_stride, src.col_stride) &&
                      aligned_rows(dst.data, dst.row_stride, dst.col_stride);
  for (long long item = worker; item < items; item += workers) {
    const long long row = item / tiles;
    const int col = static_cast<int>(item - row * tiles) * kTile + static_cast<int>(threadIdx.x) * kColumns;
    if (col >= bound) continue;
    const int* in = src.data + pool_row_of(row) * src.row_stride;
    int* out = dst.data + row * dst.row_stride;
    int v[kColumns];
    if (vector && col + kColumns <= bound) {
      const int4 q = __ldg(reinterpret_cast<const int4*>(in + col));
      *reinterpret_cast<int4*>(out + col) = q;
      v[0] = q.x;
      v[1] = q.y;
      v[2] = q.z;
      v[3] = q.w;
    } else {
#pragma unroll
      for (int k = 0; k < kColumns; ++k) {
        if (col + k < bound) {
          v[k] = __ldg(in + (col + k) * src.col_stride);
          out[(col + k) * dst.col_stride] = v[k];
        }
      }
    }
    if constexpr (PAGED) {
      const int page_size = c.page_size;
      int page = col / page_size;  // of column col + k, stepped along with its offset in the page
      int offset = col - page * page_size;
      int* real = c.real_page_table.data + row * c.real_page_table.row_stride;
#pragma unroll
      for (int k = 0; k < kColumns; ++k) {
        if (offset == 0 && col + k < bound) real[page * c.real_page_table.col_stride] = v[k] / page_size;
        if (++offset == page_size) {
          offset = 0;
          ++page;
        }
      }
    }
  }
}

}  // namespace draftjit_kernels

#endif  // DRAFTJIT_ROW_GATHER_CUH
