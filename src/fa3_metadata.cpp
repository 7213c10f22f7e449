// FA3's metadata calls (include/draftjit/fa3.hpp): check the arguments, pick the kernel of the call's
// switches (ops::fa3::spec_for), fill its params struct and launch it.
#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <utility>

#include "call_checks.hpp"
#include "call_kernel.hpp"
#include "context_registry.hpp"
#include "draftjit/fa3.hpp"
#include "launch.hpp"
#include "ops/fa3/fa3_kernel.cuh"
#include "ops/fa3/family.hpp"
#include "prepare_kernels.hpp"

namespace draftjit {
namespace {

namespace k = draftjit_kernels;

constexpr const char* kDecodeCall = "fa3_decode_metadata";
constexpr const char* kExtendCall = "fa3_draft_extend_metadata";
constexpr const char* kSpecTableCall = "fa3_swa_spec_page_table";
constexpr const char* kKvSplitsCall = "fa3_num_kv_splits";
constexpr std::int32_t kMaxPageSize = std::int32_t{1} << 30;  // a shift of at most 30 keeps P - 1 an int32
constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();

Fa3DecodeSwitches switches_of(const Fa3DecodeArgs& a) {
  Fa3DecodeSwitches s;
  s.seq_lens = a.seq_lens.type;
  s.req_pool_indices = a.req_pool_indices.type;
  s.skip_page_table = a.skip_page_table;
  s.swa = !a.skip_page_table && a.swa_page_table.data != nullptr;
  return s;
}

// Every rule of the header, bs first; the params of a call that passes them. Draft extend's call checks its
// decode-shaped part here too, under its own name.
k::Fa3DecodeParams checked_params(const Fa3DecodeArgs& a, const Fa3DecodeSwitches& s, const char* call) {
  const auto require = [call]<class... Args>(bool ok, fmt::format_string<Args...> what, Args&&... args) {
    require_arg(call, ok, what, std::forward<Args>(args)...);
  };
  ops::fa3::check_bs(a.bs, call);
  require(a.page_size >= 1 && a.page_size <= kMaxPageSize && std::has_single_bit(static_cast<unsigned>(a.page_size)),
          "page_size = {} must be a power of two in [1, 2^30]", a.page_size);
  require(a.max_seq_pages >= 0 && a.max_seq_pages <= kInt32Max,
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
  check_token_table(call, tok, gathered, a.max_seq_pages, a.page_size);
  if (gathered) {
    check_page_table(call, "page_table", a.page_table, a.bs, a.max_seq_pages);
    if (s.swa) check_page_table(call, "swa_page_table", a.swa_page_table, a.bs, a.max_seq_pages);
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

// Launches the kernel of spec with params on stream: `leading` blocks (block 0, which writes the lengths and the
// prefixes, or none), then up to one wave of workers (at least one) sharing the items (rows' page tiles, then draft
// extend's out-cache tiles).
template <class Params>
void launch_items(const jit::KernelSpec& spec, const Params& params, int bs, std::int64_t items, CUstream stream,
                  const char* call, const char* kind, int leading = 1) {
  Context& context = current_context();
  const LoadedKernel& kernel = kernel_for_call(context, spec, bs, stream, call, [kind] {
    return prepare_advice("prepare_fa3", kind);
  });
  launch(kernel, {wave_blocks(context, kernel, items, leading), static_cast<unsigned>(spec.threads)}, stream, params);
}

// Draft extend's arguments as the decode's checks take them (delta 0, mapping stride 1, the page table's columns
// as the bound), and the rules of its own.
Fa3DecodeArgs decode_shaped(const Fa3ExtendArgs& a) {
  const auto require = [](bool ok, std::string_view what) { require_arg(kExtendCall, ok, "{}", what); };
  require(a.cu_seqlens_q != nullptr, "cu_seqlens_q must be non-null");
  require(a.extend_seq_lens.stride >= 0, "extend_seq_lens has a negative stride");
  require(a.bs <= 0 || a.extend_seq_lens.data != nullptr, "extend_seq_lens must be non-null for bs > 0");
  if (a.full_to_swa_index_mapping.data != nullptr) {
    // A table of no columns is never written, and an empty tensor's address may be null.
    require(a.swa_page_table.data != nullptr || a.page_table.cols == 0,
            "swa_page_table must be given with full_to_swa_index_mapping");
    require(a.out_cache_loc.data != nullptr && a.swa_out_cache_loc.data != nullptr,
            "out_cache_loc and swa_out_cache_loc must be given with full_to_swa_index_mapping");
    require(a.out_cache_loc.length >= 0 && a.swa_out_cache_loc.length >= a.out_cache_loc.length,
            "swa_out_cache_loc must hold out_cache_loc's entries");
  }
  Fa3DecodeArgs d;
  d.cache_seqlens = a.cache_seqlens;
  d.cu_seqlens_k = a.cu_seqlens_k;
  d.page_table = a.page_table;
  d.req_to_token = a.req_to_token;
  d.req_pool_indices = a.req_pool_indices;
  d.max_seq_pages = a.page_table.cols;
  d.seq_lens = a.seq_lens;
  d.page_size = a.page_size;
  if (a.full_to_swa_index_mapping.data != nullptr) d.swa_page_table = a.swa_page_table;
  d.swa_mapping = a.full_to_swa_index_mapping;
  d.bs = a.bs;
  return d;
}

}  // namespace

void fa3_decode_metadata(const Fa3DecodeArgs& args, CUstream stream) {
  const Fa3DecodeSwitches switches = switches_of(args);
  const k::Fa3DecodeParams params = checked_params(args, switches, kDecodeCall);
  // As upstream's grid (bs, cdiv(max_seq_pages, cols)): empty at bs 0, unless skip_page_table or max_seq_pages == 0
  // make it (1, 1), whose one program writes cu_seqlens_k[0] = 0.
  if (params.bs == 0 && params.tiles_per_row > 0) return;
  launch_items(ops::fa3::spec_for(switches), params, params.bs, params.bs * params.tiles_per_row, stream, kDecodeCall,
               "fa3-decode");
}

void fa3_draft_extend_metadata(const Fa3ExtendArgs& args, CUstream stream) {
  ops::fa3::check_bs(args.bs, kExtendCall);
  const Fa3DecodeArgs decode = decode_shaped(args);
  Fa3ExtendSwitches switches;
  switches.seq_lens = args.seq_lens.type;
  switches.req_pool_indices = args.req_pool_indices.type;
  switches.extend_seq_lens = args.extend_seq_lens.type;
  switches.swa = args.full_to_swa_index_mapping.data != nullptr;
  k::Fa3DecodeParams d = checked_params(decode, switches_of(decode), kExtendCall);
  if (d.bs == 0) return;  // upstream's grid (0, k), or its error before any launch with SWA
  // The mapping translates out_cache_loc even where no page table is gathered (a table of no columns).
  d.swa_entries = switches.swa ? args.full_to_swa_index_mapping.length : 0;
  const std::int64_t out_entries = switches.swa ? args.out_cache_loc.length : 0;
  const k::Fa3ExtendParams params{d,
                                  {args.extend_seq_lens.data, args.extend_seq_lens.stride},
                                  args.cu_seqlens_q,
                                  reinterpret_cast<const long long*>(args.out_cache_loc.data),
                                  reinterpret_cast<long long*>(args.swa_out_cache_loc.data),
                                  out_entries};
  const jit::KernelSpec spec = ops::fa3::spec_for(switches);
  const std::int64_t tile = std::int64_t{k::kFa3ItemPages} * spec.threads;
  launch_items(spec, params, d.bs, d.bs * d.tiles_per_row + (out_entries + tile - 1) / tile, stream, kExtendCall,
               "fa3-extend");
}

void fa3_swa_spec_page_table(const Fa3SpecTableArgs& args, CUstream stream) {
  ops::fa3::check_bs(args.bs, kSpecTableCall);
  const std::int64_t repeat = args.speculative_num_draft_tokens;
  require_arg(kSpecTableCall, repeat >= 0 && repeat * args.bs <= kInt32Max,
          "speculative_num_draft_tokens = {} is negative or takes bs * it past INT32_MAX", repeat);
  const std::int64_t rows = repeat * args.bs;
  for (const auto& [name, indices] : {std::pair{"seq_len_a", &args.seq_len_a}, {"seq_len_b", &args.seq_len_b}}) {
    require_arg(kSpecTableCall, indices->stride >= 0, "{} has a negative stride ({})", name, indices->stride);
    require_arg(kSpecTableCall, rows == 0 || indices->data != nullptr, "{} must be non-null", name);
  }
  for (const auto& [name, table, least] :
       {std::tuple{"page_table_a", &args.page_table_a, args.bs}, {"page_table_b", &args.page_table_b, rows}}) {
    require_arg(kSpecTableCall, table->rows >= least && table->cols >= 0 && table->row_stride >= 0 &&
                                    table->col_stride >= 0 && (rows == 0 || table->cols == 0 || table->data != nullptr),
                "{} is {} x {} with strides {}, {}: it must be non-null with >= {} rows and no negative stride", name,
                table->rows, table->cols, table->row_stride, table->col_stride, least);
  }
  const DeviceMatrix& dst = args.page_table_dst;
  require_arg(kSpecTableCall, dst.rows >= rows && dst.cols >= 0 && dst.row_stride >= 0 && dst.col_stride >= 0 &&
                                  (rows == 0 || dst.cols == 0 || dst.data != nullptr),
              "page_table_dst is {} x {} with strides {}, {}: it must be non-null with >= {} rows and no negative "
              "stride", dst.rows, dst.cols, dst.row_stride, dst.col_stride, rows);
  const Fa3SpecTableSwitches switches{args.seq_len_a.type, args.seq_len_b.type};
  const jit::KernelSpec spec = ops::fa3::spec_for(switches);
  constexpr std::int64_t kUpstreamBlock = 256;  // upstream's BLOCK_N: its grid covers whole blocks of columns
  const std::int64_t cover = std::min(
      (args.page_table_a.cols + args.page_table_b.cols + kUpstreamBlock - 1) / kUpstreamBlock * kUpstreamBlock,
      dst.cols);
  const std::int64_t tile = std::int64_t{k::kFa3ItemPages} * spec.threads;
  const k::Fa3SpecTableParams params{{args.seq_len_a.data, args.seq_len_a.stride},
                                     {args.seq_len_b.data, args.seq_len_b.stride},
                                     {args.page_table_a.data, args.page_table_a.row_stride,
                                      args.page_table_a.col_stride},
                                     {args.page_table_b.data, args.page_table_b.row_stride,
                                      args.page_table_b.col_stride},
                                     {dst.data, dst.row_stride, dst.col_stride},
                                     args.page_table_a.cols,
                                     args.page_table_b.cols,
                                     cover,
                                     rows,
                                     repeat,
                                     (cover + tile - 1) / tile};
  if (rows == 0 || cover == 0) return;  // upstream's grid (0, k), or no column to write
  launch_items(spec, params, static_cast<int>(args.bs), rows * params.tiles_per_row, stream, kSpecTableCall,
               "fa3-swa-spec", 0);
}

void fa3_num_kv_splits(const Fa3KvSplitsArgs& args, CUstream stream) {
  ops::fa3::check_bs(args.num_seq, kKvSplitsCall);
  require_arg(kKvSplitsCall, args.lanes >= std::max<std::int64_t>(args.num_seq, 1) && args.lanes <= kInt32Max,
              "lanes (upstream's MAX_NUM_SEQ) = {} must be in [max(num_seq, 1) = {}, INT32_MAX]", args.lanes,
              std::max<std::int64_t>(args.num_seq, 1));
  require_arg(kKvSplitsCall, args.seq_lens.stride >= 0, "seq_lens has a negative stride ({})", args.seq_lens.stride);
  if (args.num_seq > 0) {
    for (const auto& [name, value] : {std::pair{"num_group", args.num_group}, {"num_head", args.num_head},
                                      {"num_kv_head", args.num_kv_head}, {"max_kv_splits", args.max_kv_splits},
                                      {"device_core_count", args.device_core_count}}) {
      require_arg(kKvSplitsCall, value >= 1 && value <= kInt32Max, "{} = {} is outside [1, INT32_MAX]", name, value);
    }
    require_arg(kKvSplitsCall, args.num_head >= args.num_kv_head,
                "num_head = {} is below num_kv_head = {} (upstream divides by zero then)", args.num_head,
                args.num_kv_head);
    require_arg(kKvSplitsCall, args.num_seq * args.num_group <= kInt32Max,
                "num_seq * num_group = {} * {} is past INT32_MAX", args.num_seq, args.num_group);
    require_arg(kKvSplitsCall, args.num_kv_splits != nullptr && args.seq_lens.data != nullptr,
                "num_kv_splits and seq_lens must be non-null for num_seq = {} > 0", args.num_seq);
  }
  const k::Fa3KvSplitsParams params{{args.seq_lens.data, args.seq_lens.stride},
                                    args.num_kv_splits,
                                    args.uneven_batch,
                                    static_cast<int>(args.num_seq),
                                    static_cast<int>(args.lanes),
                                    static_cast<int>(args.num_group),
                                    static_cast<int>(args.num_head),
                                    static_cast<int>(args.num_kv_head),
                                    static_cast<int>(args.max_kv_splits),
                                    static_cast<int>(args.device_core_count)};
  if (args.num_seq == 0 && args.uneven_batch == nullptr) return;  // nothing to write
  const Fa3KvSplitsSwitches switches{args.seq_lens.type};
  launch_items(ops::fa3::spec_for(switches), params, params.num_seq, 1, stream, kKvSplitsCall, "fa3-kv-splits", 0);
}

void prepare_fa3(const Fa3DecodeSwitches& switches) { prepare_kernel(ops::fa3::spec_for(switches)); }
void prepare_fa3(const Fa3ExtendSwitches& switches) { prepare_kernel(ops::fa3::spec_for(switches)); }
void prepare_fa3(const Fa3SpecTableSwitches& switches) { prepare_kernel(ops::fa3::spec_for(switches)); }
void prepare_fa3(const Fa3KvSplitsSwitches& switches) { prepare_kernel(ops::fa3::spec_for(switches)); }

}  // namespace draftjit
