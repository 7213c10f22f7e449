// One launch of EAGLE's contiguous draft cache locations (include/draftjit/eagle.hpp): every request's run of
// topk * steps locations is the run of req_to_token's row that starts at its seq_len, widened to int64. Blocks take
// (request, tile) items in turn; nothing depends on bs, the run's length or a width at compile time: one kernel per
// switch set (FLAGS) serves every call.
#ifndef DRAFTJIT_EAGLE_KERNEL_CUH
#define DRAFTJIT_EAGLE_KERNEL_CUH

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

}  // namespace draftjit_kernels

#endif  // DRAFTJIT_EAGLE_KERNEL_CUH
