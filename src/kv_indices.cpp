// The KV index builders (include/draftjit/kv_indices.hpp): check the arguments, pick the kernel of the call's
// switches (ops::kv_indices::spec_for), fill the family's params struct and launch it over (request, split) pairs.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <initializer_list>
#include <utility>

#include "call_checks.hpp"
#include "call_kernel.hpp"
#include "context_registry.hpp"
#include "draftjit/kv_indices.hpp"
#include "launch.hpp"
#include "ops/kv_indices/family.hpp"
#include "ops/kv_indices/kv_indices_kernel.cuh"
#include "ops/kv_indices/ops.hpp"
#include "prepare_kernels.hpp"

namespace draftjit {
namespace {

namespace k = draftjit_kernels;

constexpr const char* kFlashmlaCall = "flashmla_kv_indices";
constexpr const char* kChunkedCall = "chunked_prefix_kv_indices";
constexpr std::int32_t kFlashmlaBlockTokens = 4096;  // upstream's block: 4096 / P pages, so P divides it
constexpr std::int32_t kMaxEntryPageSize = std::int32_t{1} << 30;

// The switches of the window every op reads: kv_start_idx and its dtype, the lengths' and pool indices' dtypes.
template <class Switches>
int window_flags(const Switches& s) {
  return (s.start ? k::kKvStart : 0) | (s.start && s.kv_start_idx == IndexType::Int64 ? k::kKvStart64 : 0) |
         (s.page_kernel_lens == IndexType::Int64 ? k::kKvLens64 : 0) |
         (s.req_pool_indices == IndexType::Int32 ? k::kKvPoolIndices32 : 0);
}

int flags_of(const FlashinferKvIndicesSwitches& s) {
  return window_flags(s) | (s.entry ? k::kKvEntry : 0) | (s.map ? k::kKvMap : 0) |
         (s.kv_indices == IndexType::Int64 ? k::kKvOut64 : 0);
}

int flags_of(const FlashmlaKvIndicesSwitches& s) { return window_flags(s); }

template <class Switches, class Args>
Switches window_switches_of(const Args& a) {
  Switches s;
  s.start = a.kv_start_idx.data != nullptr;
  s.kv_start_idx = a.kv_start_idx.type;
  s.page_kernel_lens = a.page_kernel_lens.type;
  s.req_pool_indices = a.req_pool_indices.type;
  return s;
}

FlashinferKvIndicesSwitches switches_of(const FlashinferKvIndicesArgs& a) {
  auto s = window_switches_of<FlashinferKvIndicesSwitches>(a);
  s.entry = a.entry_page_size > 1;
  s.map = a.token_mapping.data != nullptr;
  s.kv_indices = a.kv_indices.type;
  return s;
}

// The checks every op of the family shares, bs first: req_to_token's sizes and strides, and the per-request arrays'
// strides and, for bs > 0, their addresses (at bs 0 they are not read, and an empty tensor's address may be null).
// The starts (kv_start_idx) are optional in some ops: null means absent.
void check_common(const char* call, std::int64_t bs, const ConstDeviceMatrix& tok,
                  std::pair<const char*, const DeviceIndices*> starts,
                  std::initializer_list<std::pair<const char*, const DeviceIndices*>> required) {
  ops::kv_indices::check_bs(bs, call);
  check_token_table(call, tok, false, 0, 1);
  require_arg(call, bs == 0 || tok.rows == 0 || tok.cols == 0 || tok.data != nullptr,
              "req_to_token must be non-null");
  require_arg(call, starts.second->stride >= 0, "{} has a negative stride ({})", starts.first, starts.second->stride);
  for (const auto& [name, indices] : required) {
    require_arg(call, indices->stride >= 0, "{} has a negative stride ({})", name, indices->stride);
    require_arg(call, bs == 0 || indices->data != nullptr, "{} must be non-null for bs = {} > 0", name, bs);
  }
}

// The params every op fills alike.
k::KvIndicesParams common_params(std::int64_t bs, const ConstDeviceMatrix& tok, const DeviceIndices& pool,
                                 const DeviceIndices& lens, const DeviceIndices& starts, std::int32_t page_size) {
  k::KvIndicesParams p{};
  p.req_to_token = {tok.data, tok.row_stride, tok.col_stride};
  p.pool_rows = tok.rows;
  p.columns = tok.cols;
  p.req_pool_indices = {pool.data, pool.stride};
  p.lens = {lens.data, lens.stride};
  p.starts = {starts.data, starts.stride};
  p.bs = static_cast<int>(bs);
  p.splits = 1;
  p.page_size = page_size;
  return p;
}

// Launches spec over params.bs requests whose widest window is `units` positions or pages: up to one wave of blocks
// take (request, split) pairs, one pair per block while bs fits a wave (each request cut into as many splits as the
// wave holds, at most its tiles), so an empty pair costs its block one window load and nothing more; past a wave
// each block walks bs / wave requests whole. Nothing is launched when no request can write anything.
void launch_pairs(const jit::KernelSpec& spec, k::KvIndicesParams params, std::int64_t units, CUstream stream,
                  const char* call, const char* kind) {
  const std::int64_t tile = std::int64_t{spec.threads} * k::kKvItemsPerThread;
  const std::int64_t tiles = (units + tile - 1) / tile;
  if (params.bs == 0 || tiles == 0) return;
  Context& context = current_context();
  const LoadedKernel& kernel = kernel_for_call(context, spec, params.bs, stream, call, [kind] {
    return prepare_advice("prepare_kv_indices", kind);
  });
  const std::int64_t wave = resident_wave(context, kernel);
  const std::int64_t splits = std::clamp<std::int64_t>(wave / params.bs, 1, tiles);
  params.splits = static_cast<int>(splits);
  const auto blocks = static_cast<unsigned>(std::min(params.bs * splits, wave));
  launch(kernel, {blocks, static_cast<unsigned>(spec.threads)}, stream, params);
}

// The names a CSR call's arguments have in its op (FlashInfer's, or the chunked prefix's), for its messages.
struct CsrNames {
  const char* starts;
  const char* lens;
  const char* indptr;
  const char* out;
};

// FlashInfer's CSR writer, for either op that is one: checks, the kernel of `op` (with the switch bits every call of
// it has besides the arguments'), the launch.
void csr_kv_indices(const FlashinferKvIndicesArgs& a, const ops::OpDescription& op, const CsrNames& names,
                    int always, const char* kind, CUstream stream) {
  const char* call = op.name;
  check_common(call, a.bs, a.req_to_token, {names.starts, &a.kv_start_idx},
               {{"req_pool_indices", &a.req_pool_indices}, {names.lens, &a.page_kernel_lens},
                {names.indptr, &a.kv_indptr}});
  require_arg(call, a.kv_indptr.type == IndexType::Int32, "{} must be int32", names.indptr);
  require_arg(call, a.entry_page_size >= 1 && a.entry_page_size <= kMaxEntryPageSize,
              "entry_page_size = {} is outside [1, 2^30]", a.entry_page_size);
  require_arg(call, a.kv_indices.length >= 0 && (a.kv_indices.data != nullptr || a.kv_indices.length == 0),
              "{} must be non-null (or empty)", names.out);
  require_arg(call, a.token_mapping.length >= 0, "token_mapping has a negative length");
  const jit::KernelSpec spec = ops::kv_indices::spec_for(op, flags_of(switches_of(a)) | always);
  k::KvIndicesParams p = common_params(a.bs, a.req_to_token, a.req_pool_indices, a.page_kernel_lens, a.kv_start_idx,
                                       a.entry_page_size);
  p.kv_indptr = {a.kv_indptr.data, a.kv_indptr.stride};
  p.kv_indices = a.kv_indices.data;
  p.kv_entries = a.kv_indices.length;
  p.token_mapping = reinterpret_cast<const long long*>(a.token_mapping.data);  // int64_t is long here
  p.mapping_entries = a.token_mapping.length;
  // A window writes only positions in (-E, columns * E): at most (columns + 1) * E - 1 of them.
  const std::int64_t columns = a.kv_indices.length == 0 ? 0 : a.req_to_token.cols;
  const std::int64_t units = columns == 0 ? 0 : (columns + 1) * a.entry_page_size - 1;
  launch_pairs(spec, p, units, stream, call, kind);
}

// The chunked prefix's arguments as FlashInfer's (E = 1, no mapping).
FlashinferKvIndicesArgs csr_args_of(const ChunkedPrefixKvIndicesArgs& c) {
  FlashinferKvIndicesArgs a;
  a.req_to_token = c.req_to_token;
  a.req_pool_indices = c.req_pool_indices;
  a.page_kernel_lens = c.chunk_seq_lens;
  a.kv_indptr = c.chunk_cu_seq_lens;
  a.kv_start_idx = c.chunk_start_idx;
  a.kv_indices = c.chunk_kv_indices;
  a.bs = c.bs;
  return a;
}

}  // namespace

void flashinfer_kv_indices(const FlashinferKvIndicesArgs& a, CUstream stream) {
  csr_kv_indices(a, ops::kv_indices::kFlashinferKvIndicesOp,
                 {"kv_start_idx", "page_kernel_lens", "kv_indptr", "kv_indices"}, 0, "kv-indices", stream);
}

void chunked_prefix_kv_indices(const ChunkedPrefixKvIndicesArgs& c, CUstream stream) {
  ops::kv_indices::check_bs(c.bs, kChunkedCall);  // bs first
  // Every start is read: at bs > 0 chunk_start_idx must be given (check_common allows an absent start).
  require_arg(kChunkedCall, c.bs <= 0 || c.chunk_start_idx.data != nullptr,
              "chunk_start_idx must be non-null for bs = {} > 0", c.bs);
  csr_kv_indices(csr_args_of(c), ops::kv_indices::kChunkedPrefixKvIndicesOp,
                 {"chunk_start_idx", "chunk_seq_lens", "chunk_cu_seq_lens", "chunk_kv_indices"}, k::kKvStart,
                 "chunked-prefix", stream);
}

void flashmla_kv_indices(const FlashmlaKvIndicesArgs& a, CUstream stream) {
  const char* call = kFlashmlaCall;
  check_common(call, a.bs, a.req_to_token, {"kv_start_idx", &a.kv_start_idx},
               {{"req_pool_indices", &a.req_pool_indices}, {"page_kernel_lens", &a.page_kernel_lens}});
  const bool power_of_two = a.page_size >= 1 && std::has_single_bit(static_cast<unsigned>(a.page_size));
  require_arg(call, power_of_two && a.page_size <= kFlashmlaBlockTokens,
              "page_size = {} must be a power of two in [1, 4096]", a.page_size);
  const DeviceMatrix& t = a.kv_indices;
  require_arg(call, t.rows >= 0 && t.cols >= 0 && t.row_stride >= 0 && t.col_stride >= 0,
              "kv_indices has a negative size or stride ({} x {}, strides {}, {})", t.rows, t.cols, t.row_stride,
              t.col_stride);
  require_arg(call, t.rows >= a.bs, "kv_indices has {} rows, fewer than bs = {}", t.rows, a.bs);
  require_arg(call, t.data != nullptr || t.cols == 0 || a.bs == 0, "kv_indices must be non-null");
  const jit::KernelSpec spec = ops::kv_indices::spec_for(
      ops::kv_indices::kFlashmlaKvIndicesOp, flags_of(window_switches_of<FlashmlaKvIndicesSwitches>(a)));
  k::KvIndicesParams p = common_params(a.bs, a.req_to_token, a.req_pool_indices, a.page_kernel_lens, a.kv_start_idx,
                                       a.page_size);
  p.block_table = {t.data, t.row_stride, t.col_stride};
  p.block_columns = t.cols;
  launch_pairs(spec, p, a.req_to_token.cols == 0 ? 0 : t.cols, stream, call, "flashmla");
}

void prepare_kv_indices(const FlashinferKvIndicesSwitches& switches) {
  const jit::KernelSpec spec =  // before the driver
      ops::kv_indices::spec_for(ops::kv_indices::kFlashinferKvIndicesOp, flags_of(switches));
  prepare_kernels({&spec, 1});
}

void prepare_kv_indices(const FlashmlaKvIndicesSwitches& switches) {
  const jit::KernelSpec spec =  // before the driver
      ops::kv_indices::spec_for(ops::kv_indices::kFlashmlaKvIndicesOp, flags_of(switches));
  prepare_kernels({&spec, 1});
}

void prepare_kv_indices(const ChunkedPrefixKvIndicesSwitches& switches) {
  FlashinferKvIndicesSwitches csr;
  csr.start = true;
  csr.kv_start_idx = switches.chunk_start_idx;
  csr.page_kernel_lens = switches.chunk_seq_lens;
  csr.req_pool_indices = switches.req_pool_indices;
  csr.kv_indices = switches.chunk_kv_indices;
  const jit::KernelSpec spec =  // before the driver
      ops::kv_indices::spec_for(ops::kv_indices::kChunkedPrefixKvIndicesOp, flags_of(csr));
  prepare_kernels({&spec, 1});
}

}  // namespace draftjit
