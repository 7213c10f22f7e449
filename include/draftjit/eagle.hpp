#pragma once
// The EAGLE family: its draft cache locations, then its draft KV indices (below).
//
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

// EAGLE's per-step draft decode KV indices (upstream SGLang's raw Triton kernel generate_draft_decode_kv_indices, same
// file; docs/BACKENDS.md, section 5b). With S = speculative_num_steps, K = topk, N = bs * K, R = req_to_token, for
// step d (it = d + 1), request q (len_q = paged_kernel_lens[q], cum_q = sum of len_r for r < q) and branch k:
// - base = cum_q * K + q * it * K + k * (len_q + it), the segment's first entry in step d's row of kv_indices, which
//   starts at d * kv_indices_stride;
// - kv_indices[d, base + j] = R[pool_q, j] for j < len_q, then kv_indices[d, base + len_q + e] = R[pool_q, e0 + e]
//   for e < it, with e0 = len_q + k * S, or with page_size P > 1 and K > 1 the branch's own pages:
//   e0 = (len_q - len_q % P) + k * cdiv(len_q % P + S, P) * P + len_q % P (C's / and %, as Triton's);
// - kv_indptr[d, z] = int32(sum of positions[x] for x < z, plus z * it) for 1 <= z <= N (row d at
//   d * kv_indptr_stride). Entry 0 of each row is never written, nor those past N: they keep what they held.
// Offsets come from paged_kernel_lens, kv_indptr from positions (padded graph rows may fill them differently).
// With int32 lengths the offsets wrap in 32 bits, as upstream's.
//
// Upstream launches a grid (S, bs, K), or (S * blocks, bs, K) with NUM_STEPS = S: the same values, which the drop-in
// (draftjit.sglang) turns into speculative_num_steps, bs and topk. One asynchronous, graph-capturable launch on
// `stream`, none when S, bs or K is 0 (upstream's empty grid). The kernel is specialised by the dtypes alone
// (EagleDraftKvSwitches), where upstream's Triton compiles per pool_len, both strides, the uppers and the page size.
//
// Bad arguments throw std::invalid_argument before anything is launched: bs outside [0, kMaxEagleBs], topk or
// speculative_num_steps outside [0, INT32_MAX] or bs * topk * steps past INT32_MAX, an upper below its count
// (bs_upper < bs, iter_upper < S, num_tokens_upper < N: upstream would sum a truncated prefix), page_size < 1,
// pool_len other than req_to_token's columns, a negative kv_indices_stride, a kv_indptr_stride <= N or a kv_indptr
// shorter than (S - 1) * kv_indptr_stride + N + 1, a negative size or stride, a null pointer that is used. Where
// upstream's result is undefined draftjit reads and writes nothing out of bounds: a pool index outside
// req_to_token's rows leaves the request's kv_indices entries as they were (kv_indptr is still written), and so does
// a column of R outside its columns, an entry outside [0, kv_indices_stride) of its step's row or past kv_indices.
struct EagleDraftKvArgs {
  DeviceIndices req_pool_indices{nullptr, IndexType::Int64};  // [bs] rows of req_to_token, int64 or int32
  ConstDeviceMatrix req_to_token{};                           // [pool rows, pool_len]
  DeviceIndices paged_kernel_lens{};                          // [bs] int32 or int64
  MutableDeviceIndices kv_indices{};                          // flat, int32 or int64: S rows of kv_indices_stride
  MutableDeviceIndices kv_indptr{};                           // flat, int32: S rows of kv_indptr_stride
  DeviceIndices positions{nullptr, IndexType::Int64};         // [bs * topk] int64 or int32
  std::int64_t pool_len = 0;                                  // req_to_token's columns
  std::int64_t kv_indices_stride = 0;
  std::int64_t kv_indptr_stride = 0;
  std::int64_t bs_upper = 0;                                  // >= bs (upstream: next_power_of_2(bs))
  std::int64_t iter_upper = 0;                                // >= speculative_num_steps
  std::int64_t num_tokens_upper = 0;                          // >= bs * topk
  std::int64_t page_size = 1;
  std::int64_t speculative_num_steps = 1;                     // upstream's grid (or NUM_STEPS)
  std::int64_t topk = 1;                                      // upstream's grid
  std::int64_t bs = 0;                                        // 0 ..= kMaxEagleBs (upstream's grid)
};

// See above.
void generate_draft_decode_kv_indices(const EagleDraftKvArgs& args, CUstream stream);

// The switches of the kernel a draft KV call launches.
struct EagleDraftKvSwitches {
  IndexType paged_kernel_lens = IndexType::Int32;
  IndexType positions = IndexType::Int64;
  IndexType req_pool_indices = IndexType::Int64;
  IndexType kv_indices = IndexType::Int32;
};

// As prepare_eagle_cache_locs, for the draft KV kernel of these switches.
void prepare_eagle_draft_kv(const EagleDraftKvSwitches& switches = {});

}  // namespace draftjit
