// TRTLLM-MHA's eager page table (include/draftjit/trtllm_mha_table.hpp): check the arguments, pick the kernel of the
// call's switches (ops::trtllm_mha::spec_for, the TRTLLM family's), fill the family's params struct and launch it.
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>

#include "call_checks.hpp"
#include "call_kernel.hpp"
#include "context_registry.hpp"
#include "draftjit/trtllm_mha_table.hpp"
#include "launch.hpp"
#include "ops/trtllm_mha/family.hpp"
#include "ops/trtllm_mha/ops.hpp"
#include "ops/trtllm_mha/trtllm_mha_kernel.cuh"
#include "prepare_kernels.hpp"

namespace draftjit {
namespace {

namespace k = draftjit_kernels;

constexpr const char* kCall = "trtllm_mha_page_table";

template <class... Args>
void require(bool ok, fmt::format_string<Args...> what, Args&&... args) {
  require_arg(kCall, ok, what, std::forward<Args>(args)...);
}

jit::KernelSpec spec_of(const TrtllmMhaTableSwitches& s) {
  return ops::trtllm_mha::spec_for(ops::trtllm_mha::kPageTableOp,
                                   (s.cache_seqlens == IndexType::Int64 ? k::kTrtllmSeqLens64 : 0) |
                                       (s.req_pool_indices == IndexType::Int32 ? k::kTrtllmPoolIndices32 : 0) |
                                       (s.swa ? k::kTrtllmSwa : 0));
}

bool has_swa(const TrtllmMhaTableArgs& a) { return a.swa_page_table.data != nullptr; }

// Every rule of the header, bs first; the params of a call that passes them. tile: the pages of one item of the
// kernel's gather (its block size x kTrtllmItemPages).
k::TrtllmMhaParams checked_params(const TrtllmMhaTableArgs& a, std::int64_t tile) {
  ops::trtllm_mha::check_bs(a.bs, kCall);
  require(a.page_size >= 1, "page_size = {} must be >= 1", a.page_size);
  for (const auto& [name, indices] :
       {std::pair{"req_pool_indices", &a.req_pool_indices}, {"cache_seqlens", &a.cache_seqlens}}) {
    require(indices->stride >= 0, "{} has a negative stride ({})", name, indices->stride);
  }
  const DeviceMatrix& out = a.page_table;
  check_own_width_table(kCall, "page_table", out, a.bs);
  const ConstDeviceMatrix& tok = a.req_to_token;
  check_token_table(kCall, tok, false, 0, a.page_size);  // sizes and strides: the bound below keeps reads inside
  const bool launched = a.bs > 0 && out.cols > 0;  // upstream's grid (bs, cdiv(num_pages, 4096 / P)) is empty otherwise
  const DeviceMatrix& swa = a.swa_page_table;
  require(!has_swa(a) || (swa.rows == out.rows && swa.cols == out.cols && swa.row_stride == out.row_stride &&
                          swa.col_stride == out.col_stride),
          "swa_page_table ({} x {}, strides {}, {}) must have page_table's shape and strides ({} x {}, strides {}, {})",
          swa.rows, swa.cols, swa.row_stride, swa.col_stride, out.rows, out.cols, out.row_stride, out.col_stride);
  // An empty table has no data: only a launch tells a missing swa_page_table from an empty one.
  require(!launched || has_swa(a) || a.full_to_swa.data == nullptr,
          "full_to_swa needs a swa_page_table of page_table's shape and strides");
  require(a.full_to_swa.length >= 0, "full_to_swa has a negative length ({})", a.full_to_swa.length);
  require(!launched || (a.cache_seqlens.data != nullptr && a.req_pool_indices.data != nullptr &&
                        out.data != nullptr && tok.data != nullptr),
          "cache_seqlens, req_pool_indices, req_to_token and page_table must be non-null");
  // Pages inside both tables' columns, at most INT32_MAX.
  const std::int64_t bound = std::min({out.cols, (tok.cols + a.page_size - 1) / a.page_size,
                                       std::int64_t{std::numeric_limits<std::int32_t>::max()}});
  k::TrtllmMhaParams p{};
  p.req_pool_indices = {a.req_pool_indices.data, a.req_pool_indices.stride};
  p.seq_lens = {a.cache_seqlens.data, a.cache_seqlens.stride};
  p.req_to_token = {tok.data, tok.row_stride, tok.col_stride};
  p.pool_rows = tok.rows;
  p.swa_mapping = reinterpret_cast<const long long*>(a.full_to_swa.data);  // int64_t is long here
  p.swa_entries = a.full_to_swa.length;
  p.bs = static_cast<int>(a.bs);
  p.max_seq_pages = static_cast<int>(bound);
  p.page_size = a.page_size;
  p.tiles_per_row = launched ? (bound + tile - 1) / tile : 0;
  p.page_table = {out.data, out.row_stride, out.col_stride};
  p.swa_page_table = {swa.data, out.row_stride, out.col_stride};  // page_table's strides, as upstream writes it
  return p;
}

}  // namespace

void trtllm_mha_page_table(const TrtllmMhaTableArgs& args, CUstream stream) {
  const jit::KernelSpec spec = spec_of({args.cache_seqlens.type, args.req_pool_indices.type, has_swa(args)});
  const std::int64_t tile = std::int64_t{k::kTrtllmItemPages} * spec.threads;
  const k::TrtllmMhaParams params = checked_params(args, tile);
  const std::int64_t items = params.bs * params.tiles_per_row;
  if (items == 0) return;  // no page to write: nothing launched
  Context& context = current_context();
  const LoadedKernel& kernel = kernel_for_call(context, spec, params.bs, stream, kCall, [] {
    return prepare_advice("prepare_trtllm_mha_table", "trtllm-mha-table");
  });
  // Up to one wave of blocks share the items (rows' page tiles).
  launch(kernel, {wave_blocks(context, kernel, items), static_cast<unsigned>(spec.threads)}, stream, params);
}

void prepare_trtllm_mha_table(const TrtllmMhaTableSwitches& switches) {
  const jit::KernelSpec spec = spec_of(switches);  // before the driver
  prepare_kernels({&spec, 1});
}

}  // namespace draftjit
