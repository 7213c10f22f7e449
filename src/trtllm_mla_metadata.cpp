// TRTLLM-MLA's graph metadata (include/draftjit/trtllm_mla.hpp): check the arguments, pick the kernel of the call's
// switches (ops::trtllm_mha::spec_for, the TRTLLM family's), fill the family's params struct and launch it.
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>

#include "call_checks.hpp"
#include "call_kernel.hpp"
#include "context_registry.hpp"
#include "draftjit/trtllm_mla.hpp"
#include "launch.hpp"
#include "ops/trtllm_mha/family.hpp"
#include "ops/trtllm_mha/ops.hpp"
#include "ops/trtllm_mha/trtllm_mha_kernel.cuh"
#include "prepare_kernels.hpp"

namespace draftjit {
namespace {

namespace k = draftjit_kernels;

constexpr const char* kCall = "trtllm_mla_graph_metadata";

template <class... Args>
void require(bool ok, fmt::format_string<Args...> what, Args&&... args) {
  require_arg(kCall, ok, what, std::forward<Args>(args)...);
}

jit::KernelSpec spec_of(const TrtllmMlaSwitches& s) {
  return ops::trtllm_mha::spec_for(ops::trtllm_mha::kMlaGraphMetadataOp,
                                   (s.seq_lens == IndexType::Int64 ? k::kTrtllmSeqLens64 : 0) |
                                       (s.req_pool_indices == IndexType::Int32 ? k::kTrtllmPoolIndices32 : 0));
}

// Every rule of the header, bs first; the params of a call that passes them. tile: the pages of one item of the
// kernel's gather (its block size x kTrtllmItemPages).
k::TrtllmMhaParams checked_params(const TrtllmMlaArgs& a, std::int64_t tile) {
  ops::trtllm_mha::check_bs(a.bs, kCall);
  require(a.page_size >= 1, "page_size = {} must be >= 1", a.page_size);
  for (const auto& [name, indices] : {std::pair{"req_pool_indices", &a.req_pool_indices}, {"seq_lens", &a.seq_lens}}) {
    require(indices->stride >= 0, "{} has a negative stride ({})", name, indices->stride);
  }
  const DeviceMatrix& out = a.block_kv_indices;
  check_own_width_table(kCall, "block_kv_indices", out, a.bs);
  const ConstDeviceMatrix& tok = a.req_to_token;
  check_token_table(kCall, tok, false, 0, a.page_size);  // sizes and strides: the bound below keeps reads inside
  const bool launched = a.bs > 0 && out.cols > 0;  // upstream's grid (bs, cdiv(W, 4096 / P)) is empty otherwise
  require(!launched || (a.seq_lens.data != nullptr && a.req_pool_indices.data != nullptr && out.data != nullptr &&
                        tok.data != nullptr),
          "seq_lens, req_pool_indices, req_to_token and block_kv_indices must be non-null");
  // Pages inside both tables' columns, at most INT32_MAX (no int32 length has more).
  const std::int64_t bound = std::min({out.cols, (tok.cols + a.page_size - 1) / a.page_size,
                                       std::int64_t{std::numeric_limits<std::int32_t>::max()}});
  k::TrtllmMhaParams p{};
  p.req_pool_indices = {a.req_pool_indices.data, a.req_pool_indices.stride};
  p.seq_lens = {a.seq_lens.data, a.seq_lens.stride};
  p.req_to_token = {tok.data, tok.row_stride, tok.col_stride};
  p.pool_rows = tok.rows;
  p.bs = static_cast<int>(a.bs);
  p.seqlen_offset = a.seqlen_offset;
  p.max_seq_pages = static_cast<int>(bound);
  p.page_size = a.page_size;
  // Every row has a first tile when upstream launches, for seq_lens_k; the others cover the bound.
  p.tiles_per_row = launched ? std::max<std::int64_t>(1, (bound + tile - 1) / tile) : 0;
  p.cache_seqlens = a.seq_lens_k;
  p.page_table = {out.data, out.row_stride, out.col_stride};
  return p;
}

}  // namespace

void trtllm_mla_graph_metadata(const TrtllmMlaArgs& args, CUstream stream) {
  const jit::KernelSpec spec = spec_of({args.seq_lens.type, args.req_pool_indices.type});
  const std::int64_t tile = std::int64_t{k::kTrtllmItemPages} * spec.threads;
  const k::TrtllmMhaParams params = checked_params(args, tile);
  const std::int64_t items = params.bs * params.tiles_per_row;
  if (items == 0) return;  // as upstream's empty grid: nothing launched, nothing written
  Context& context = current_context();
  const LoadedKernel& kernel = kernel_for_call(context, spec, params.bs, stream, kCall, [] {
    return prepare_advice("prepare_trtllm_mla", "trtllm-mla");
  });
  // Up to one wave of blocks share the items (rows' page tiles).
  launch(kernel, {wave_blocks(context, kernel, items), static_cast<unsigned>(spec.threads)}, stream, params);
}

void prepare_trtllm_mla(const TrtllmMlaSwitches& switches) {
  const jit::KernelSpec spec = spec_of(switches);  // before the driver
  prepare_kernels({&spec, 1});
}

}  // namespace draftjit
