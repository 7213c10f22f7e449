// FA3's normal-decode metadata (include/draftjit/fa3.hpp): check the arguments, pick the kernel of the call's
// switches (ops::fa3::spec_for), fill its params struct and launch it.
#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "call_checks.hpp"
#include "call_kernel.hpp"
#include "context_registry.hpp"
#include "draftjit/fa3.hpp"
#include "launch.hpp"
#include "ops/fa3/family.hpp"
#include "prepare_kernels.hpp"

namespace draftjit {
namespace {

namespace k = draftjit_kernels;

constexpr const char* kCall = "fa3_decode_metadata";
constexpr std::int32_t kMaxPageSize = std::int32_t{1} << 30;  // a shift of at most 30 keeps P - 1 an int32

template <class... Args>
void require(bool ok, fmt::format_string<Args...> what, Args&&... args) {
  require_arg(kCall, ok, what, std::forward<Args>(args)...);
}

Fa3DecodeSwitches switches_of(const Fa3DecodeArgs& a) {
  Fa3DecodeSwitches s;
  s.seq_lens = a.seq_lens.type;
  s.req_pool_indices = a.req_pool_indices.type;
  s.skip_page_table = a.skip_page_table;
  s.swa = !a.skip_page_table && a.swa_page_table.data != nullptr;
  return s;
}

// Every rule of the header, bs first; the params of a call that passes them.
k::Fa3DecodeParams checked_params(const Fa3DecodeArgs& a, const Fa3DecodeSwitches& s) {
  ops::fa3::check_bs(a.bs, kCall);
  require(a.page_size >= 1 && a.page_size <= kMaxPageSize && std::has_single_bit(static_cast<unsigned>(a.page_size)),
          "page_size = {} must be a power of two in [1, 2^30]", a.page_size);
  require(a.max_seq_pages >= 0 && a.max_seq_pages <= std::numeric_limits<std::int32_t>::max(),
          "max_seq_pages = {} is outside [0, INT32_MAX]", a.max_seq_pages);
  require(a.swa_mapping_stride == 0 || a.swa_mapping_stride == 1, "swa_mapping_stride = {} must be 0 or 1",
          a.swa_mapping_stride);
  for (const auto& [name, indices] : {std::pair{"req_pool_indices", &a.req_pool_indices}, {"seq_lens", &a.seq_lens}}) {
    require(indices->stride >= 0, "{} has a negative stride ({})", name, indices->stride);
  }
  require(a.cu_seqlens_k != nullptr, "cu_seqlens_k must be non-null");
  // At bs 0 they are neither read nor written, and an empty tensor's address may be null (torch's
  // __cuda_array_interface__ gives 0 for one).
  require(a.bs == 0 || (a.seq_lens.data != nullptr && a.req_pool_indices.data != nullptr && a.cache_seqlens != nullptr),
          "seq_lens, req_pool_indices and cache_seqlens must be non-null for bs = {} > 0", a.bs);
  const bool gathered = !s.skip_page_table && a.max_seq_pages > 0;
  const ConstDeviceMatrix& tok = a.req_to_token;
  check_token_table(kCall, tok, gathered, a.max_seq_pages, a.page_size);
  if (gathered) {
    check_page_table(kCall, "page_table", a.page_table, a.bs, a.max_seq_pages);
    if (s.swa) check_page_table(kCall, "swa_page_table", a.swa_page_table, a.bs, a.max_seq_pages);
  }
  const DeviceInt64s& mapping = a.swa_mapping;
  require(!s.swa || (mapping.data != nullptr && mapping.length >= 0), "swa_mapping must be given with swa_page_table");
  const std::int64_t tile = std::int64_t{k::kFa3ItemPages} * ops::fa3::spec_for(s).threads;
  return {{a.req_pool_indices.data, a.req_pool_indices.stride},
          {a.seq_lens.data, a.seq_lens.stride},
          {tok.data, tok.row_stride, tok.col_stride},
          tok.rows,
          reinterpret_cast<const long long*>(mapping.data),  // int64_t is long here, the kernels' long long
          s.swa ? mapping.length : 0,
          a.swa_mapping_stride,
          static_cast<int>(a.bs),
          a.seq_len_delta,
          static_cast<int>(a.max_seq_pages),
          std::countr_zero(static_cast<unsigned>(a.page_size)),
          gathered ? (a.max_seq_pages + tile - 1) / tile : 0,
          a.cache_seqlens,
          a.cu_seqlens_k,
          {a.page_table.data, a.page_table.row_stride, a.page_table.col_stride},
          {a.swa_page_table.data, a.swa_page_table.row_stride, a.swa_page_table.col_stride}};
}

}  // namespace

void fa3_decode_metadata(const Fa3DecodeArgs& args, CUstream stream) {
  const Fa3DecodeSwitches switches = switches_of(args);
  const k::Fa3DecodeParams params = checked_params(args, switches);
  // As upstream's grid (bs, cdiv(max_seq_pages, cols)): empty at bs 0, unless skip_page_table or max_seq_pages == 0
  // make it (1, 1), whose one program writes cu_seqlens_k[0] = 0.
  if (params.bs == 0 && params.tiles_per_row > 0) return;
  const jit::KernelSpec spec = ops::fa3::spec_for(switches);
  Context& context = current_context();
  const LoadedKernel& kernel = kernel_for_call(context, spec, params.bs, stream, kCall, [] {
    return std::string("Call draftjit::prepare_fa3 for these switches (Python: draftjit.prepare(bs, "
                       "kind=\"fa3-decode\", switches=...)) before capturing");
  });
  // Block 0 writes the lengths and the prefix; up to one wave of workers (at least one) share the rows' page tiles.
  const std::int64_t items = params.bs * params.tiles_per_row;
  const std::int64_t workers = std::max<std::int64_t>(1, std::int64_t{context.sm_count()} * kernel.blocks_per_sm - 1);
  const auto blocks = static_cast<unsigned>(1 + std::min(items, workers));
  launch(kernel, {blocks, static_cast<unsigned>(spec.threads)}, stream, params);
}

void prepare_fa3(const Fa3DecodeSwitches& switches) {
  const jit::KernelSpec spec = ops::fa3::spec_for(switches);  // before the driver
  prepare_kernels({&spec, 1});
}

}  // namespace draftjit
