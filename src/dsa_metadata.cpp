// The DSA calls (include/draftjit/dsa.hpp): check the arguments, pick the kernel (ops::dsa::spec_for), fill its params
// struct and launch it, one launch per call.
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "call_kernel.hpp"
#include "capture_mode.hpp"
#include "context_registry.hpp"
#include "draftjit/dsa.hpp"
#include "launch.hpp"
#include "prepare_kernels.hpp"
#include "ops/dsa/family.hpp"

namespace draftjit {
namespace {

namespace k = draftjit_kernels;

static_assert(kMaxDsaBound + std::int64_t{jit::kMaxThreads} * k::kDsaGatherColumns - 1 <=
                  std::numeric_limits<std::int32_t>::max(),
              "a gather tile past the widest bound must index in int32");

// Throws std::invalid_argument "<call>: <what>" unless ok. Checks bs first: every other rule depends on it.
class Checker {
 public:
  Checker(const char* call, std::int64_t bs) : call_(call) { ops::dsa::check_bs(bs, call); }
  template <class... Args>
  void require(bool ok, fmt::format_string<Args...> what, Args&&... args) const {
    if (!ok) throw std::invalid_argument(fmt::format("{}: {}", call_, fmt::format(what, std::forward<Args>(args)...)));
  }
  const char* call() const { return call_; }

 private:
  const char* call_;
};

void check_matrix(const Checker& check, std::string_view name, std::int64_t rows, std::int64_t cols,
                  std::int64_t row_stride, std::int64_t col_stride, bool written, std::int64_t need_rows,
                  std::int64_t need_cols, const void* data) {
  check.require(rows >= 0 && cols >= 0 && row_stride >= 0 && col_stride >= 0,
                "{} has a negative size or stride ({} x {}, strides {}, {})", name, rows, cols, row_stride,
                col_stride);
  if (!written) return;
  check.require(data != nullptr, "{} must be non-null", name);
  check.require(rows >= need_rows && cols >= need_cols, "{} is {} x {}, smaller than the {} x {} the call writes",
                name, rows, cols, need_rows, need_cols);
}

void check_indices(const Checker& check, std::string_view name, const DeviceIndices& a, bool read) {
  check.require(a.stride >= 0, "{} has a negative stride ({})", name, a.stride);
  check.require(!read || a.data != nullptr, "{} must be non-null", name);
}

// The checks every mode shares, for `rows` output rows of `bound` page-table columns; returns the kernel's common
// params. table_rows: the rows the page tables must hold (the mode's rows; draft extend's come from its data, and
// its capacity covers them instead).
k::DsaCommonParams common_params(const Checker& check, const DsaCommonArgs& a, std::int64_t rows, std::int64_t bound,
                                 std::int64_t table_rows) {
  check.require(a.dsa_index_topk >= 0, "dsa_index_topk = {} is negative", a.dsa_index_topk);
  check.require(a.real_page_size >= 1, "real_page_size = {} must be >= 1", a.real_page_size);
  check.require(rows == 0 || a.index_kpool >= 1, "index_kpool = {} must be >= 1", a.index_kpool);
  check.require(bound >= 0 && bound <= kMaxDsaBound, "the column bound {} is outside [0, {}] (kMaxDsaBound)", bound,
                kMaxDsaBound);
  check.require(a.row_capacity >= 0, "row_capacity = {} is negative", a.row_capacity);
  const bool requests = a.bs > 0;
  check_indices(check, "seq_lens", a.seq_lens, requests);
  check_indices(check, "req_pool_indices", a.req_pool_indices, requests);
  check.require(!requests || a.cache_seqlens != nullptr, "cache_seqlens must be non-null for bs = {}", a.bs);
  check.require(a.cu_seqlens_k != nullptr && a.dsa_cu_seqlens_k != nullptr,
                "cu_seqlens_k and dsa_cu_seqlens_k must be non-null (their first entry is always written)");
  check.require(rows == 0 || a.dsa_cache_seqlens != nullptr, "dsa_cache_seqlens must be non-null for {} rows", rows);
  const ConstDeviceMatrix& tok = a.req_to_token;
  check_matrix(check, "req_to_token", tok.rows, tok.cols, tok.row_stride, tok.col_stride, rows > 0 && bound > 0, 1,
               bound, tok.data);
  const bool gathered = table_rows > 0 && bound > 0;
  const bool paged = a.real_page_size > 1;
  const DeviceMatrix& page = a.page_table_1;
  check.require(paged || !gathered || page.data != nullptr,
                "page_table_1 must be non-null when real_page_size is 1 (it is then the only table written)");
  check_matrix(check, "page_table_1", page.rows, page.cols, page.row_stride, page.col_stride,
               gathered && page.data != nullptr, table_rows, bound, page.data);
  const DeviceMatrix& real = a.real_page_table;
  if (paged) {
    check_matrix(check, "real_page_table", real.rows, real.cols, real.row_stride, real.col_stride, gathered,
                 table_rows, (bound + a.real_page_size - 1) / a.real_page_size, real.data);
  }
  return {{a.seq_lens.data, a.seq_lens.stride},
          {a.req_pool_indices.data, a.req_pool_indices.stride},
          {tok.data, tok.row_stride, tok.col_stride},
          tok.rows,
          static_cast<int>(a.bs),
          a.dsa_index_topk,
          a.real_page_size,
          a.index_kpool,
          rows,
          bound,
          1,
          a.cache_seqlens,
          a.cu_seqlens_k,
          a.dsa_cache_seqlens,
          a.dsa_cu_seqlens_k,
          {page.data, page.row_stride, page.col_stride},
          {paged ? real.data : nullptr, real.row_stride, real.col_stride},
          a.status};
}

DsaSwitches switches_of(const DsaCommonArgs& a) {
  DsaSwitches s;
  s.seq_lens = a.seq_lens.type;
  s.req_pool_indices = a.req_pool_indices.type;
  s.paged = a.real_page_size > 1;
  s.kpool = a.index_kpool > 1;
  s.real_only = s.paged && a.page_table_1.data == nullptr;
  return s;
}

// The grid of the block kernels: kDsaOutputBlocks for the per-request and per-row outputs, and the rest of one wave
// for the row gather by request (templates/row_gather.cuh), which every block follows with the checks over all
// requests, so past a wave more blocks would only repeat them. Requests are cut into splits so that there are
// kPairsPerWorker (request, split) pairs per worker where their tiles allow: live prefixes differ from request to
// request, and with one pair per worker the longest set the time (decode bs 256 at 131072 columns ran 1.06-1.10x
// upstream's time, whose grid has 8192 programs). The warp kernels (bs <= kDsaWarpRequests,
// templates/dsa_warp_kernel.cuh) walk their items by warp: as many warps as the widest rows could give items (per-row
// output chunks and gather chunks), up to a wave.
constexpr std::int64_t kPairsPerWorker = 4;

struct DsaGrid {
  unsigned blocks;
  int splits;
};

DsaGrid dsa_grid(const k::DsaCommonParams& c, bool real_only, const jit::KernelSpec& spec, std::int64_t wave) {
  const std::int64_t units = real_only ? (c.bound + c.page_size - 1) / c.page_size : c.bound;
  if (spec.scan == jit::Scan::Unrolled && spec.slots <= k::kDsaWarpRequests) {
    const std::int64_t warps_per_block = spec.threads / k::kDsaWarpRequests;
    const std::int64_t most = wave * warps_per_block;
    // Rows past a wave change nothing here, and draft extend's total_len may be any int64 (its status word, not
    // the host, rejects one past the capacity): clamped first, the sums stay far from overflow.
    const std::int64_t rows = std::min<std::int64_t>(c.rows, most);
    const std::int64_t chunks = (units + k::kDsaWarpUnits - 1) / k::kDsaWarpUnits;
    const std::int64_t row_chunks = (rows + k::kDsaWarpRequests - 1) / k::kDsaWarpRequests;
    const std::int64_t warps = std::clamp<std::int64_t>(rows * chunks + row_chunks, 1, most);
    return {static_cast<unsigned>((warps + warps_per_block - 1) / warps_per_block), 1};
  }
  const std::int64_t tile = std::int64_t{spec.threads} * k::kDsaGatherColumns;
  const std::int64_t tiles = (units + tile - 1) / tile;  // of the widest live prefix
  // The kernel's groups are the bs requests when there are rows; past kPairsPerWorker waves of them, one split.
  const std::int64_t groups = c.rows > 0 ? std::min<std::int64_t>(c.bs, kPairsPerWorker * wave) : 0;
  const std::int64_t most = std::max<std::int64_t>(wave - k::kDsaOutputBlocks, 0);
  const std::int64_t workers = std::clamp<std::int64_t>(groups * tiles, 0, most);
  std::int64_t splits = 1;
  if (groups > 0) {
    const std::int64_t wanted = (kPairsPerWorker * workers + groups - 1) / groups;
    splits = std::clamp<std::int64_t>(wanted, 1, std::max<std::int64_t>(tiles, 1));
  }
  return {static_cast<unsigned>(k::kDsaOutputBlocks + workers), static_cast<int>(splits)};
}

template <class Params>
void launch_dsa(DsaMode mode, Params params, const DsaSwitches& switches, const Tuning& tuning, CUstream stream,
                const char* call) {
  const jit::KernelSpec spec = ops::dsa::spec_for(mode, params.c.bs, switches, tuning);
  Context& context = current_context();
  const LoadedKernel& kernel = kernel_for_call(context, spec, params.c.bs, stream, call, [] {
    return std::string("Call draftjit::prepare_dsa for this mode, bs and switches (Python: draftjit.prepare_dsa) "
                       "before capturing");
  });
  const DsaGrid grid = dsa_grid(params.c, switches.real_only, spec, resident_wave(context, kernel));
  params.c.splits = grid.splits;
  launch(kernel, {grid.blocks, static_cast<unsigned>(spec.threads)}, stream, params);
}

}  // namespace

void dsa_decode_metadata(const DsaDecodeArgs& args, CUstream stream, const Tuning& tuning) {
  const DsaCommonArgs& a = args.common;
  const Checker check("dsa_decode_metadata", a.bs);
  validate(tuning);
  check.require(a.row_capacity >= a.bs, "row_capacity = {} is below bs = {}", a.row_capacity, a.bs);
  const k::DsaDecodeParams params{common_params(check, a, a.bs, args.max_len, a.bs)};
  launch_dsa(DsaMode::Decode, params, switches_of(a), tuning, stream, check.call());
}

void dsa_target_verify_metadata(const DsaTargetVerifyArgs& args, CUstream stream, const Tuning& tuning) {
  const DsaCommonArgs& a = args.common;
  const Checker check("dsa_target_verify_metadata", a.bs);
  validate(tuning);
  check.require(args.next_n >= 1, "next_n = {} must be >= 1", args.next_n);
  const std::int64_t rows = a.bs * args.next_n;
  check.require(a.row_capacity >= rows, "row_capacity = {} is below bs * next_n = {}", a.row_capacity, rows);
  check.require(rows == 0 || args.seqlens_expanded != nullptr, "seqlens_expanded must be non-null for {} rows", rows);
  const DeviceMatrix& ctx = args.paged_mqa_ctx_lens_2d;
  const bool ctx_lens = ctx.data != nullptr;
  if (ctx_lens) {
    check_matrix(check, "paged_mqa_ctx_lens_2d", ctx.rows, ctx.cols, ctx.row_stride, ctx.col_stride, rows > 0, a.bs,
                 args.next_n, ctx.data);
  }
  const k::DsaTargetVerifyParams params{common_params(check, a, rows, args.max_seqlen_k, rows), args.next_n,
                                        args.seqlens_expanded, {ctx.data, ctx.row_stride, ctx.col_stride}};
  DsaSwitches switches = switches_of(a);
  switches.ctx_lens_2d = ctx_lens;
  launch_dsa(DsaMode::TargetVerify, params, switches, tuning, stream, check.call());
}

void dsa_draft_extend_metadata(const DsaDraftExtendArgs& args, CUstream stream, const Tuning& tuning) {
  const DsaCommonArgs& a = args.common;
  const Checker check("dsa_draft_extend_metadata", a.bs);
  validate(tuning);
  check.require(args.total_len >= 0, "total_len = {} is negative", args.total_len);
  check_indices(check, "extend_seq_lens", args.extend_seq_lens, a.bs > 0);
  // The rows come from the device's extend lengths: the kernel checks total_len against them and against the
  // capacity, the rows every per-row output holds (the page tables' rows too, where anything is gathered).
  std::int64_t capacity = a.row_capacity;
  if (args.max_seqlen_k > 0) {
    if (a.page_table_1.data != nullptr) capacity = std::min(capacity, a.page_table_1.rows);
    if (a.real_page_size > 1) capacity = std::min(capacity, a.real_page_table.rows);
  }
  check.require(capacity == 0 || args.seqlens_expanded != nullptr,
                "seqlens_expanded must be non-null for row_capacity = {}", a.row_capacity);
  const std::int64_t table_rows = std::min(args.total_len, capacity);
  const k::DsaDraftExtendParams params{common_params(check, a, args.total_len, args.max_seqlen_k, table_rows),
                                       {args.extend_seq_lens.data, args.extend_seq_lens.stride}, capacity,
                                       args.seqlens_expanded};
  DsaSwitches switches = switches_of(a);
  switches.extend_seq_lens = args.extend_seq_lens.type;
  switches.static_extend = args.static_extend_len;
  launch_dsa(DsaMode::DraftExtend, params, switches, tuning, stream, check.call());
}

void prepare_dsa(DsaMode mode, std::int64_t bs, const DsaSwitches& switches, const Tuning& tuning) {
  const Checker check("prepare_dsa", bs);
  validate(tuning);
  const jit::KernelSpec spec = ops::dsa::spec_for(mode, static_cast<int>(bs), switches, tuning);  // before the driver
  prepare_kernels({&spec, 1});
}

}  // namespace draftjit
