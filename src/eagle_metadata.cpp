// The EAGLE family's calls (include/draftjit/eagle.hpp), the draft cache locations and the draft KV indices: check
// the arguments, pick the kernel of the call's switches (ops::eagle::spec_for), fill its params struct, launch it.
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <tuple>
#include <utility>

#include "call_checks.hpp"
#include "call_kernel.hpp"
#include "context_registry.hpp"
#include "draftjit/eagle.hpp"
#include "launch.hpp"
#include "ops/eagle/eagle_kernel.cuh"
#include "ops/eagle/family.hpp"
#include "ops/eagle/ops.hpp"
#include "prepare_kernels.hpp"

namespace draftjit {
namespace {

namespace k = draftjit_kernels;

constexpr const char* kCall = "assign_draft_cache_locs_contiguous";

template <class... Args>
void require(bool ok, fmt::format_string<Args...> what, Args&&... args) {
  require_arg(kCall, ok, what, std::forward<Args>(args)...);
}

jit::KernelSpec spec_of(const EagleSwitches& s) {
  return ops::eagle::spec_for(ops::eagle::kDraftCacheLocsOp,
                              (s.seq_lens == IndexType::Int64 ? k::kEagleSeqLens64 : 0) |
                                  (s.req_pool_indices == IndexType::Int32 ? k::kEaglePoolIndices32 : 0));
}

// Every rule of the header, bs first; the params of a call that passes them. tile: the locations of one item of the
// kernel (its block size x kEagleItemLocs).
k::EagleCacheLocsParams checked_params(const EagleCacheLocsArgs& a, std::int64_t tile) {
  ops::eagle::check_bs(a.bs, kCall);
  constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();
  require(a.topk >= 0 && a.topk <= kInt32Max && a.speculative_num_steps >= 0 && a.speculative_num_steps <= kInt32Max,
          "topk = {} and speculative_num_steps = {} must be in [0, INT32_MAX]", a.topk, a.speculative_num_steps);
  const std::int64_t run = a.topk * a.speculative_num_steps;
  require(run <= kInt32Max, "topk * speculative_num_steps = {} is past INT32_MAX", run);
  for (const auto& [name, indices] : {std::pair{"req_pool_indices", &a.req_pool_indices}, {"seq_lens", &a.seq_lens}}) {
    require(indices->stride >= 0, "{} has a negative stride ({})", name, indices->stride);
  }
  const ConstDeviceMatrix& tok = a.req_to_token;
  check_token_table(kCall, tok, false, 0, 1);  // sizes and strides: the kernel keeps its reads inside
  require(a.pool_len == tok.cols,
          "pool_len = {} is not req_to_token's {} columns (upstream's row base is pool index * pool_len)", a.pool_len,
          tok.cols);
  const std::int64_t entries = a.bs * run;
  require(a.out_cache_loc.length >= entries,
          "out_cache_loc has {} entries, fewer than bs * topk * speculative_num_steps = {}", a.out_cache_loc.length,
          entries);
  require(entries == 0 || (a.seq_lens.data != nullptr && a.req_pool_indices.data != nullptr && tok.data != nullptr &&
                           a.out_cache_loc.data != nullptr),
          "req_pool_indices, req_to_token, seq_lens and out_cache_loc must be non-null");
  k::EagleCacheLocsParams p{};
  p.req_pool_indices = {a.req_pool_indices.data, a.req_pool_indices.stride};
  p.seq_lens = {a.seq_lens.data, a.seq_lens.stride};
  p.req_to_token = {tok.data, tok.row_stride, tok.col_stride};
  p.pool_rows = tok.rows;
  p.pool_cols = tok.cols;
  p.bs = static_cast<int>(a.bs);
  p.run = run;
  p.tiles_per_run = (run + tile - 1) / tile;
  p.out_cache_loc = reinterpret_cast<long long*>(a.out_cache_loc.data);  // int64_t is long here, the kernels' long long
  return p;
}

}  // namespace

void assign_draft_cache_locs_contiguous(const EagleCacheLocsArgs& args, CUstream stream) {
  const jit::KernelSpec spec = spec_of({args.seq_lens.type, args.req_pool_indices.type});
  const std::int64_t tile = std::int64_t{k::kEagleItemLocs} * spec.threads;
  const k::EagleCacheLocsParams params = checked_params(args, tile);
  const std::int64_t items = params.bs * params.tiles_per_run;
  if (items == 0) return;  // as upstream: no copy, nothing written
  Context& context = current_context();
  const LoadedKernel& kernel = kernel_for_call(context, spec, params.bs, stream, kCall, [] {
    return prepare_advice("prepare_eagle_cache_locs", "draft-locs");
  });
  // Up to one wave of blocks share the items (requests' tiles).
  launch(kernel, {wave_blocks(context, kernel, items), static_cast<unsigned>(spec.threads)}, stream, params);
}

void prepare_eagle_cache_locs(const EagleSwitches& switches) {
  const jit::KernelSpec spec = spec_of(switches);  // before the driver
  prepare_kernels({&spec, 1});
}

namespace {

constexpr const char* kDraftKvCall = "generate_draft_decode_kv_indices";

template <class... Args>
void require_kv(bool ok, fmt::format_string<Args...> what, Args&&... args) {
  require_arg(kDraftKvCall, ok, what, std::forward<Args>(args)...);
}

jit::KernelSpec spec_of(const EagleDraftKvSwitches& s) {
  return ops::eagle::spec_for(ops::eagle::kDraftDecodeKvIndicesOp,
                              (s.req_pool_indices == IndexType::Int32 ? k::kEaglePoolIndices32 : 0) |
                                  (s.paged_kernel_lens == IndexType::Int64 ? k::kEagleLens64 : 0) |
                                  (s.positions == IndexType::Int32 ? k::kEaglePositions32 : 0) |
                                  (s.kv_indices == IndexType::Int64 ? k::kEagleOut64 : 0));
}

// Every rule of the header, bs first; the params of a call that passes them (splits 1: the launch picks them).
k::EagleDraftKvParams checked_params(const EagleDraftKvArgs& a) {
  ops::eagle::check_bs(a.bs, kDraftKvCall);
  constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();
  const std::int64_t steps = a.speculative_num_steps, topk = a.topk;
  require_kv(topk >= 0 && topk <= kInt32Max && steps >= 0 && steps <= kInt32Max,
             "topk = {} and speculative_num_steps = {} must be in [0, INT32_MAX]", topk, steps);
  const std::int64_t tokens = a.bs * topk;  // N
  require_kv(tokens * steps <= kInt32Max, "bs * topk * speculative_num_steps = {} is past INT32_MAX", tokens * steps);
  const std::int64_t launched = tokens * steps;
  // upstream's masked sums reach index upper - 1: below the count they sum a truncated prefix
  for (const auto& [name, upper, count] : {std::tuple{"bs_upper", a.bs_upper, a.bs},
                                           {"iter_upper", a.iter_upper, steps},
                                           {"num_tokens_upper", a.num_tokens_upper, tokens}}) {
    require_kv(launched == 0 || upper >= count, "{} = {} is below its count {}", name, upper, count);
  }
  require_kv(a.page_size >= 1, "page_size = {} must be at least 1", a.page_size);
  for (const auto& [name, indices] : {std::pair{"req_pool_indices", &a.req_pool_indices},
                                      {"paged_kernel_lens", &a.paged_kernel_lens}, {"positions", &a.positions}}) {
    require_kv(indices->stride >= 0, "{} has a negative stride ({})", name, indices->stride);
  }
  const ConstDeviceMatrix& tok = a.req_to_token;
  check_token_table(kDraftKvCall, tok, false, 0, 1);  // sizes and strides: the kernel keeps its reads inside
  require_kv(a.pool_len == tok.cols,
             "pool_len = {} is not req_to_token's {} columns (upstream's row base is pool index * pool_len)",
             a.pool_len, tok.cols);
  require_kv(a.kv_indices_stride >= 0, "kv_indices_stride = {} is negative", a.kv_indices_stride);
  require_kv(a.kv_indptr.type == IndexType::Int32, "kv_indptr must be int32");
  if (launched != 0) {
    require_kv(a.kv_indptr_stride > tokens, "kv_indptr_stride = {} leaves no room for entries 1 ..= bs * topk = {}",
               a.kv_indptr_stride, tokens);
    const std::int64_t reach = (steps - 1) * a.kv_indptr_stride + tokens + 1;
    require_kv(a.kv_indptr.length >= reach, "kv_indptr has {} entries, fewer than (steps - 1) * kv_indptr_stride + "
               "bs * topk + 1 = {}", a.kv_indptr.length, reach);
    require_kv(a.req_pool_indices.data != nullptr && a.paged_kernel_lens.data != nullptr && tok.data != nullptr &&
                   a.kv_indices.data != nullptr && a.kv_indptr.data != nullptr && a.positions.data != nullptr,
               "req_pool_indices, req_to_token, paged_kernel_lens, kv_indices, kv_indptr and positions must be "
               "non-null");
  }
  k::EagleDraftKvParams p{};
  p.req_pool_indices = {a.req_pool_indices.data, a.req_pool_indices.stride};
  p.lens = {a.paged_kernel_lens.data, a.paged_kernel_lens.stride};
  p.positions = {a.positions.data, a.positions.stride};
  p.req_to_token = {tok.data, tok.row_stride, tok.col_stride};
  p.pool_rows = tok.rows;
  p.pool_cols = tok.cols;
  p.kv_indices = a.kv_indices.data;
  p.kv_indices_stride = a.kv_indices_stride;
  p.kv_indices_length = a.kv_indices.length;
  p.kv_indptr = static_cast<int*>(a.kv_indptr.data);
  p.kv_indptr_stride = a.kv_indptr_stride;
  p.bs = static_cast<int>(launched == 0 ? 0 : a.bs);
  p.topk = static_cast<int>(topk);
  p.steps = static_cast<int>(steps);
  p.page_size = a.page_size;
  p.splits = 1;
  p.groups = 1;
  p.group_segments = steps * topk;
  return p;
}

}  // namespace

void generate_draft_decode_kv_indices(const EagleDraftKvArgs& args, CUstream stream) {
  const jit::KernelSpec spec = spec_of(EagleDraftKvSwitches{args.paged_kernel_lens.type, args.positions.type,
                                                            args.req_pool_indices.type, args.kv_indices.type});
  k::EagleDraftKvParams params = checked_params(args);
  if (params.bs == 0) return;  // as upstream's empty grid: nothing written
  Context& context = current_context();
  const LoadedKernel& kernel = kernel_for_call(context, spec, params.bs, stream, kDraftKvCall, [] {
    return prepare_advice("prepare_eagle_draft_kv", "draft-kv");
  });
  // Up to one wave of blocks share the (request, split) items; a request's row prefix (at most req_to_token's
  // columns) splits into up to as many tiles as it has, so that a few long requests still fill the wave; where
  // even then some SMs would have no block (a few short rows), each tile split's segments divide into groups too,
  // as many as keep the items within the wave: one item per block, since a block's fixed chain (its prefix sums,
  // loads and index arithmetic) costs about as much as a short row's stores. Where every SM has a block, groups
  // only add chains (bs 64, width 4096: 2 groups were 0.5-1 us slower than none, PERF step 18).
  const std::int64_t wave = resident_wave(context, kernel);
  const std::int64_t tile = std::int64_t{k::kEagleItemLocs} * spec.threads;
  const std::int64_t tiles = std::max<std::int64_t>(1, (params.pool_cols + tile - 1) / tile);
  const std::int64_t tile_splits = std::clamp<std::int64_t>((wave + params.bs - 1) / params.bs, 1, tiles);
  const std::int64_t segments = params.group_segments;
  const std::int64_t tile_items = params.bs * tile_splits;
  const std::int64_t groups =
      tile_items < context.sm_count() ? std::clamp<std::int64_t>(wave / tile_items, 1, segments) : 1;
  params.group_segments = (segments + groups - 1) / groups;
  params.groups = (segments + params.group_segments - 1) / params.group_segments;
  params.splits = tile_splits * params.groups;
  const auto blocks = static_cast<unsigned>(std::min<std::int64_t>(std::int64_t{params.bs} * params.splits, wave));
  launch(kernel, {blocks, static_cast<unsigned>(spec.threads)}, stream, params);
}

void prepare_eagle_draft_kv(const EagleDraftKvSwitches& switches) {
  const jit::KernelSpec spec = spec_of(switches);  // before the driver
  prepare_kernels({&spec, 1});
}

}  // namespace draftjit
