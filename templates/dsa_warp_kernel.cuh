// A DSA step for bs <= kDsaWarpRequests (the unrolled scan's small batches), in which every warp of the grid is
// self-sufficient: lane b holds request b, checks it, and the warp reduces the checks (redux.sync) into the status
// word that every warp computes alike, so that no warp waits on a barrier or on another warp, and with bad data only
// warp 0 writes, and only the status word. Warp 0 then writes the per-request outputs, and the warps walk, in the
// grid's stride, two lists: chunks of 32 output rows (the per-row outputs; each lane finds its row's request by a
// search over the lanes' row prefixes) and the live chunks of every row's gather, kDsaWarpUnits units each (one
// 16-byte load per lane). Request b has rows x live chunks of the latter, so the walk visits only live chunks
// however wide the table, and a chunk finds its request by one ballot over the lanes' prefixes of those counts.
// The block kernel (dsa_kernel.cuh) ran a block-wide reduction, a barrier and a (row, split) walk before its first
// row load: 2.5-2.9x the instructions per warp of upstream's programs, which load their request, then their row,
// then store (docs/PERF.md, issue 29); this path keeps those two round trips and little else.
#ifndef DRAFTJIT_DSA_WARP_KERNEL_CUH
#define DRAFTJIT_DSA_WARP_KERNEL_CUH

#include "dsa_modes.cuh"
#include "row_gather.cuh"

namespace draftjit_kernels {

// The first lane whose ends value is above t, for each lane's own t: ends is nondecreasing over the lanes, and lane
// LANES - 1's (and every later lane's) is the total, so for t below it log2(LANES) rounds find it (for a t past the
// total the lane is meaningless, and callers discard it). Every lane takes part.
template <int LANES>
__device__ __forceinline__ int warp_find(unsigned ends, unsigned t) {
  constexpr int kSpan = [] {  // the least power of two >= LANES
    int span = 1;
    while (span < LANES) span *= 2;
    return span;
  }();
  int lane = 0;
#pragma unroll
  for (int step = kSpan / 2; step > 0; step /= 2) {
    if (__shfl_sync(kFullWarp, ends, lane + step - 1) <= t) lane += step;
  }
  return lane;
}

template <class Mode, int BS, int FLAGS>
__device__ __forceinline__ void dsa_warp_kernel(const typename Mode::Params& p) {
  static_assert(BS >= 0 && BS <= kDsaWarpRequests && kDsaWarpRequests == kWarpThreads, "one request per lane");
  constexpr int kLanes = BS > 0 ? BS : 1;  // the lanes that hold requests: the scans below need log2(kLanes) rounds
  const DsaCommonParams& c = p.c;
  const int lane = threadIdx.x % kWarpThreads;
  const long long warp = (static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarpThreads;
  const long long warps = static_cast<long long>(gridDim.x) * blockDim.x / kWarpThreads;

  DsaChecks mine;
  StepRequest r = {0, 0, {0, 0}, 0, 0};  // past bs: no rows, nothing summed
  if (lane < BS) r = check_step_request<Mode, FLAGS>(p, lane, mine);
  const int status = step_status<Mode>(p, unpack_checks(warp_checks<Mode::kExtend>(mine)));
  if (status != 0) {
    if (warp == 0 && lane == 0 && c.status != nullptr) *c.status = status;
    return;
  }
  // The status is clean: every sum below is at most INT32_MAX, so 32-bit prefixes are exact.
  const auto rows = static_cast<unsigned>(r.rows.count);
  const unsigned row_end = warp_inclusive_sum<kLanes>(rows);
  const DsaLengths<FLAGS> lengths(c.topk, c.kpool);

  if (warp == 0) {
    const auto cache = static_cast<unsigned>(r.cache_len);
    const unsigned cache_end = warp_inclusive_sum<kLanes>(cache);
    if (lane < BS) {
      c.cache_seqlens[lane] = static_cast<int>(cache);
      c.cu_seqlens_k[lane] = static_cast<int>(cache_end - cache);
    }
    if (lane == min(BS, kWarpThreads - 1)) c.cu_seqlens_k[BS] = static_cast<int>(cache_end);
    if (lane == 0) {
      c.dsa_cu_seqlens_k[0] = 0;
      if (c.status != nullptr) *c.status = 0;
    }
  }

  // The per-row outputs, from the last warp down, so that warp 0's chunks start after its request outputs.
  const long long row_chunks = (c.rows + kDsaWarpRequests - 1) / kDsaWarpRequests;
  if (warps - 1 - warp < row_chunks) {
    const auto dsa = static_cast<unsigned>(r.dsa_sum);
    const unsigned dsa_before = warp_inclusive_sum<kLanes>(dsa) - dsa;
    for (long long chunk = warps - 1 - warp; chunk < row_chunks; chunk += warps) {
      const long long row = chunk * kWarpThreads + lane;
      const int b = warp_find<kLanes>(row_end, static_cast<unsigned>(row));
      const long long base = __shfl_sync(kFullWarp, r.rows.base, b);
      const unsigned start = __shfl_sync(kFullWarp, row_end - rows, b);
      const unsigned before = __shfl_sync(kFullWarp, dsa_before, b);
      constexpr bool kCtx = (FLAGS & kDsaCtxLens2d) != 0;
      const int cache_len = kCtx ? static_cast<int>(__shfl_sync(kFullWarp, r.cache_len, b)) : 0;
      if (row < c.rows) {
        const long long local = row - start;
        const long long length = max(base + local, 0LL);
        if constexpr (Mode::kExpanded) p.seqlens_expanded[row] = static_cast<int>(length);
        c.dsa_cache_seqlens[row] = static_cast<int>(lengths.of(length));
        c.dsa_cu_seqlens_k[row + 1] = static_cast<int>(before + lengths.rows_sum(base, local + 1));
        if constexpr (kCtx) {
          const Matrix& ctx = p.ctx_lens_2d;
          ctx.data[b * ctx.row_stride + local * ctx.col_stride] = cache_len;
        }
      }
    }
  }

  // The gather: request b's items are its rows x its live chunks, numbered request by request.
  const GatherLayout<FLAGS> layout(c);
  const int limit = rows > 0 ? layout.units(live_columns(r.cache_len, c.bound)) : 0;
  const auto chunks = static_cast<unsigned>((limit + kDsaWarpUnits - 1) / kDsaWarpUnits);
  const unsigned long long items = static_cast<unsigned long long>(rows) * chunks;
  const unsigned long long item_end = warp_inclusive_sum<kLanes>(items);
  const unsigned long long all_items = __shfl_sync(kFullWarp, item_end, kWarpThreads - 1);
  for (auto first = static_cast<unsigned long long>(warp); first < all_items; first += kGatherInFlight * warps) {
    GatherPart parts[kGatherInFlight];
#pragma unroll
    for (int s = 0; s < kGatherInFlight; ++s) {
      const unsigned long long item = first + s * warps;
      parts[s].row = -1;
      if (item >= all_items) continue;  // the same in every lane
      const int b = __popc(__ballot_sync(kFullWarp, item_end <= item));
      const auto local = static_cast<long long>(item - __shfl_sync(kFullWarp, item_end - items, b));
      const long long request_chunks = __shfl_sync(kFullWarp, chunks, b);
      const long long row_local = Mode::kExpanded ? quotient(local, request_chunks) : 0;
      const long long pool = __shfl_sync(kFullWarp, r.pool, b);
      const unsigned start = __shfl_sync(kFullWarp, row_end - rows, b);
      parts[s].limit = __shfl_sync(kFullWarp, limit, b);
      parts[s].unit = static_cast<int>(local - row_local * request_chunks) * kDsaWarpUnits + lane * kDsaGatherColumns;
      if (parts[s].unit >= parts[s].limit) continue;
      parts[s].row = start + row_local;
      layout.load(c, pool, parts[s]);
    }
#pragma unroll
    for (int s = 0; s < kGatherInFlight; ++s) {
      if (parts[s].row >= 0) layout.store(c, parts[s]);
    }
  }
}

}  // namespace draftjit_kernels

#endif  // DRAFTJIT_DSA_WARP_KERNEL_CUH
