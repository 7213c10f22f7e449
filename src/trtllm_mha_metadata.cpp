// TRTLLM-MHA's graph metadata (include/draftjit/trtllm_mha.hpp): check the arguments, pick the kernel of the call's
// switches (ops::trtllm_mha::spec_for), fill its params struct and launch it.
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "call_checks.hpp"
#include "call_kernel.hpp"
#include "context_registry.hpp"
#include "draftjit/trtllm_mha.hpp"
#include "launch.hpp"
#include "ops/trtllm_mha/family.hpp"
#include "ops/trtllm_mha/ops.hpp"
#include "ops/trtllm_mha/trtllm_mha_kernel.cuh"
#include "prepare_kernels.hpp"

namespace draftjit {
namespace {

namespace k = draftjit_kernels;

constexpr const char* kCall = "trtllm_mha_graph_metadata";

template <class... Args>
void require(bool ok, fmt::format_string<Args...> what, Args&&... args) {
  require_arg(kCall, ok, what, std::forward<Args>(args)...);
}

int flags_of(const TrtllmMhaSwitches& s) {
  return (s.seq_lens == IndexType::Int64 ? k::kTrtllmSeqLens64 : 0) |
         (s.req_pool_indices == IndexType::Int32 ? k::kTrtllmPoolIndices32 : 0) |
         (s.qlens == IndexType::Int64 ? k::kTrtllmQlens64 : 0) |
         (s.q_mode == QMode::Cumsum ? k::kTrtllmQCumsum : 0) | (s.q_mode == QMode::Strided ? k::kTrtllmQStrided : 0) |
         (s.swa ? k::kTrtllmSwa : 0) | (s.swa_out ? k::kTrtllmSwaOut : 0) |
         (s.skip_page_table ? k::kTrtllmSkipPageTable : 0);
}

// The kernel of these switches (ops::trtllm_mha::spec_for): std::invalid_argument for switches no call has.
jit::KernelSpec spec_of(const TrtllmMhaSwitches& s) {
  return ops::trtllm_mha::spec_for(ops::trtllm_mha::kGraphMetadataOp, flags_of(s));
}

TrtllmMhaSwitches switches_of(const TrtllmMhaArgs& a) {
  TrtllmMhaSwitches s;
  s.seq_lens = a.seq_lens.type;
  s.req_pool_indices = a.req_pool_indices.type;
  s.q_mode = a.q_mode;
  if (a.q_mode == QMode::Cumsum) s.qlens = a.qlens.type;
  s.skip_page_table = a.skip_page_table;
  s.swa = !a.skip_page_table && a.swa_page_table.data != nullptr;
  s.swa_out = a.swa_out_cache_loc.data != nullptr;
  return s;
}

// Every rule of the header, bs first; the params of a call that passes them. tile: the pages of one item of the
// kernel's gather (its block size x kTrtllmItemPages).
k::TrtllmMhaParams checked_params(const TrtllmMhaArgs& a, const TrtllmMhaSwitches& s, std::int64_t tile) {
  ops::trtllm_mha::check_bs(a.bs, kCall);
  require(a.page_size >= 1, "page_size = {} must be >= 1", a.page_size);
  require(a.max_seq_pages >= 0 && a.max_seq_pages <= std::numeric_limits<std::int32_t>::max(),
          "max_seq_pages = {} is outside [0, INT32_MAX]", a.max_seq_pages);
  require(a.q_mode == QMode::None || a.q_mode == QMode::Cumsum || a.q_mode == QMode::Strided,
          "q_mode = {} is none of 0 (none), 1 (cumsum), 2 (strided)", static_cast<int>(a.q_mode));
  for (const auto& [name, indices] : {std::pair{"req_pool_indices", &a.req_pool_indices}, {"seq_lens", &a.seq_lens},
                                      {"qlens", &a.qlens}}) {
    require(indices->stride >= 0, "{} has a negative stride ({})", name, indices->stride);
  }
  require(a.seq_lens.data != nullptr && a.req_pool_indices.data != nullptr && a.cache_seqlens != nullptr &&
              a.cu_seqlens_k != nullptr,
          "seq_lens, req_pool_indices, cache_seqlens and cu_seqlens_k must be non-null");
  require(s.q_mode == QMode::None || a.cu_seqlens_q != nullptr, "cu_seqlens_q must be non-null with q_mode = {}",
          static_cast<int>(a.q_mode));
  require(s.q_mode != QMode::Cumsum || a.qlens.data != nullptr, "qlens must be non-null with q_mode = 1 (cumsum)");
  const bool gathered = !s.skip_page_table && a.max_seq_pages > 0;
  const ConstDeviceMatrix& tok = a.req_to_token;
  check_token_table(kCall, tok, gathered, a.max_seq_pages, a.page_size);
  if (gathered) {
    check_page_table(kCall, "page_table", a.page_table, a.bs, a.max_seq_pages);
    if (s.swa) check_page_table(kCall, "swa_page_table", a.swa_page_table, a.bs, a.max_seq_pages);
  }
  const DeviceInt64s& mapping = a.swa_mapping;
  require(!(s.swa || s.swa_out) || (mapping.data != nullptr && mapping.length >= 0),
          "swa_mapping must be given with swa_page_table or swa_out_cache_loc");
  const std::int64_t out_entries = s.swa_out && a.out_cache_loc.data != nullptr
                                       ? std::clamp<std::int64_t>(a.out_cache_loc.length, 0, a.swa_out_cache_loc.length)
                                       : 0;
  return {{a.req_pool_indices.data, a.req_pool_indices.stride},
          {a.seq_lens.data, a.seq_lens.stride},
          {a.qlens.data, a.qlens.stride},
          {tok.data, tok.row_stride, tok.col_stride},
          tok.rows,
          reinterpret_cast<const long long*>(mapping.data),  // int64_t is long here, the kernels' long long
          mapping.length,
          reinterpret_cast<const long long*>(a.out_cache_loc.data),
          out_entries,
          static_cast<int>(a.bs),
          a.seqlen_offset,
          static_cast<int>(a.max_seq_pages),
          a.page_size,
          a.q_stride,
          gathered ? (a.max_seq_pages + tile - 1) / tile : 0,
          a.cache_seqlens,
          a.cu_seqlens_k,
          a.cu_seqlens_q,
          {a.page_table.data, a.page_table.row_stride, a.page_table.col_stride},
          {a.swa_page_table.data, a.swa_page_table.row_stride, a.swa_page_table.col_stride},
          reinterpret_cast<long long*>(a.swa_out_cache_loc.data),
          s.swa_out ? a.swa_out_cache_loc.length : 0};
}

}  // namespace

void trtllm_mha_graph_metadata(const TrtllmMhaArgs& args, CUstream stream) {
  const TrtllmMhaSwitches switches = switches_of(args);
  const jit::KernelSpec spec = spec_of(switches);  // a call's switches always name a kernel
  const std::int64_t tile = std::int64_t{k::kTrtllmItemPages} * spec.threads;
  const k::TrtllmMhaParams params = checked_params(args, switches, tile);
  if (params.bs == 0) return;  // as upstream: nothing launched, nothing written
  Context& context = current_context();
  const LoadedKernel& kernel = kernel_for_call(context, spec, params.bs, stream, kCall, [] {
    return prepare_advice("prepare_trtllm_mha", "trtllm-mha");
  });
  // Block 0 writes the prefixes; the other blocks share the items (rows' page tiles, then swa_out_cache_loc's
  // tiles), at least one of them however small the wave (block 0 gathers nothing).
  const std::int64_t items = params.bs * params.tiles_per_row + (params.swa_out_entries + tile - 1) / tile;
  launch(kernel, {wave_blocks(context, kernel, items, 1), static_cast<unsigned>(spec.threads)}, stream, params);
}

void prepare_trtllm_mha(const TrtllmMhaSwitches& switches) {
  const jit::KernelSpec spec = spec_of(switches);  // before the driver
  prepare_kernels({&spec, 1});
}

}  // namespace draftjit
