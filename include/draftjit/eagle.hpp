#pragma once
// EAGLE's contiguous draft cache locations (upstream SGLang's Triton kernel assign_draft_cache_locs_contiguous,
// kernels/ops/speculative/cache_locs.py @ 15b72bd8, read 2026-12-06; docs/BACKENDS.md, section 5a): with C = topk *
// speculative_num_steps, out_cache_loc[b * C + j] = int64(req_to_token[req_pool_indices[b], seq_lens[b] + j]) for
// j < C, the draft tokens' KV slots the scheduler reserved after each request's prefix (page size 1, or topk 1).
//
// One asynchronous, graph-capturable launch on `stream`, none for bs == 0 or C == 0 (upstream's grid (bs,) does no
// copy then). The kernel is specialised by the input dtypes alone (EagleSwitches), never by bs, topk, steps, widths
// or strides, where upstream's Triton compiles per pool_len, topk and steps (its constexprs).
//
// Bad arguments throw std::invalid_argument before anything is launched: bs outside [0, kMaxEagleBs], topk or
// speculative_num_steps outside [0, INT32_MAX] or their product past INT32_MAX, pool_len other than req_to_token's
// columns (upstream's row base is pool * pool_len), an out_cache_loc shorter than bs * C, a negative size or stride,
// a null pointer that is read or written. Upstream checks nothing; where its result is undefined draftjit reads and
// writes nothing out of bounds: a pool index outside req_to_token's rows leaves the request's C entries as they
// were, and so does a column seq_lens[b] + j outside req_to_token's columns (upstream's precondition
// seq_lens[b] + C <= pool_len broken: it reads the next row, or past the table).
#include <cstdint>

#include "draftjit/device_arrays.hpp"
#include "draftjit/draftjit.hpp"

namespace draftjit {

inline constexpr int kMaxEagleBs = 65536;

struct EagleCacheLocsArgs {
  DeviceIndices req_pool_indices{nullptr, IndexType::Int64};  // [bs] rows of req_to_token, int64 or int32
  ConstDeviceMatrix req_to_token{};                  // [pool rows, pool_len]
  DeviceIndices seq_lens{nullptr, IndexType::Int64};          // [bs] int64 or int32: each run's first column
  MutableDeviceInt64s out_cache_loc{};               // [>= bs * topk * speculative_num_steps]
  std::int64_t pool_len = 0;                         // req_to_token's columns, as upstream's caller passes them
  std::int64_t topk = 1;
  std::int64_t speculative_num_steps = 1;
  std::int64_t bs = 0;                               // 0 ..= kMaxEagleBs (upstream's grid)
};

// See the top of this file.
void assign_draft_cache_locs_contiguous(const EagleCacheLocsArgs& args, CUstream stream);

// The switches of the kernel a call launches: what prepare_eagle_cache_locs needs to load it before a capture.
struct EagleSwitches {
  IndexType seq_lens = IndexType::Int64;
  IndexType req_pool_indices = IndexType::Int64;
};

// Compiles (or loads from the caches) and loads into the current context the kernel of these switches, so that a
// later call, or a CUDA graph capture, does no JIT work.
void prepare_eagle_cache_locs(const EagleSwitches& switches = {});

}  // namespace draftjit
