// The DSA metadata step (include/draftjit/dsa.hpp), every mode against the CPU reference (tests/reference/). Each
// buffer a call may touch starts poisoned twice, on the device and in the reference's host copy, and after the call
// the two must agree element for element over the whole allocation: a write past the bound, past the mode's rows,
// into a stride gap, past the end, or on bad data then shows as a difference from the reference, which writes only
// what the definitions say.
#include <cuda.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <functional>
#include <limits>
#include <mutex>
#include <numeric>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "draftjit/dsa.hpp"
#include "draftjit/stats.hpp"
#include "gpu_support.hpp"
#include "reference/dsa_reference.hpp"

using namespace draftjit;
namespace ref = draftjit::reference;
using draftjit::test::compare_ints;
using draftjit::test::DeviceInts;
using draftjit::test::kGuard;
using draftjit::test::kPoison;

namespace {

using I32 = std::vector<std::int32_t>;
using I64 = std::vector<std::int64_t>;

constexpr std::int32_t U = kPoison;  // in expected rows: untouched
constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();
constexpr std::int64_t kHalf = std::int64_t{1} << 30;  // two or three of these pass INT32_MAX
constexpr DsaMode kModes[] = {DsaMode::Decode, DsaMode::TargetVerify, DsaMode::DraftExtend};
// The context lengths; kLongContext only with bs 1..3.
constexpr std::int64_t kContexts[] = {1, 127, 128, 129, 4096};
constexpr std::int64_t kLongContext = 131072;
// Largest page table the sweep builds (64 MiB): bs 4096 with context 4096 in full would be the product the issue
// rules out, and the reference's host copies double every byte.
constexpr std::int64_t kMaxCells = std::int64_t{1} << 24;

const char* name(DsaMode mode) {
  if (mode == DsaMode::Decode) return "decode";
  return mode == DsaMode::TargetVerify ? "target verify" : "draft extend";
}

const char* name(IndexType type) { return type == IndexType::Int64 ? "int64" : "int32"; }

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

std::int64_t uniform(std::mt19937& rng, std::int64_t lo, std::int64_t hi) {
  return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
}
bool one_in(std::mt19937& rng, std::int64_t n) { return uniform(rng, 1, n) == 1; }
std::int32_t pick(std::mt19937& rng, std::initializer_list<std::int32_t> values) {
  return values.begin()[uniform(rng, 0, static_cast<std::int64_t>(values.size()) - 1)];
}

// Fresh each run, and printed with every failure; DRAFTJIT_TEST_SEED replays a failing one.
unsigned suite_seed() {
  const char* fixed = std::getenv("DRAFTJIT_TEST_SEED");  // NOLINT(concurrency-mt-unsafe): read before any thread
  return fixed != nullptr ? static_cast<unsigned>(std::stoul(fixed)) : std::random_device{}();
}

// An output table relative to what the call needs: rows past the mode's rows (or bs), columns past the bound (or
// next_n), padding past the columns in each row, a column stride.
struct Shape {
  std::int64_t extra_rows = 0;
  std::int64_t extra_cols = 1;
  std::int64_t row_pad = 0;
  std::int64_t col_stride = 1;
};

// One call, on the host: what random_spec and the edits of the cases below work on.
struct Spec {
  DsaMode mode = DsaMode::Decode;
  I64 seq, pool, ext;  // ext: draft extend only
  IndexType seq_type = IndexType::Int32;
  IndexType pool_type = IndexType::Int64;
  IndexType ext_type = IndexType::Int32;  // draft extend only
  // Elements between consecutive values of seq_lens, req_pool_indices, extend_seq_lens (the gaps hold -1, which
  // read as a value would be bad data); with stride 0 the device holds the first value alone.
  std::int64_t seq_stride = 1, pool_stride = 1, ext_stride = 1;
  std::int64_t pool_rows = 1, token_cols = 0, token_row_pad = 0, token_col_stride = 1;
  std::int64_t bound = 0;  // max_len or max_seqlen_k
  std::int32_t topk = 0, page_size = 1, kpool = 1, next_n = 1;
  bool ctx_lens_2d = false;    // target verify
  bool static_extend = false;  // draft extend: static_extend_len, the extend lengths all equal unless a case breaks it
  bool no_page_table_1 = false;  // page_table_1 left out (data null), which needs page_size > 1
  bool with_status = true;
  std::int64_t total_len = 0;  // draft extend
  std::int64_t row_capacity = 0;
  Shape page{}, real{}, ctx{};
  unsigned token_seed = 0;
  bool example_tokens = false;  // the reference unit test's 10 * (r + 1) + c + 1 instead of random tokens

  std::int64_t bs() const { return static_cast<std::int64_t>(seq.size()); }
  std::int64_t rows() const {
    if (mode == DsaMode::Decode) return bs();
    return mode == DsaMode::TargetVerify ? bs() * next_n : total_len;
  }
};

DsaSwitches switches(const Spec& s) {
  const bool extend = s.mode == DsaMode::DraftExtend;
  return {.seq_lens = s.seq_type,
          .req_pool_indices = s.pool_type,
          .paged = s.page_size > 1,
          .kpool = s.kpool > 1,
          .ctx_lens_2d = s.mode == DsaMode::TargetVerify && s.ctx_lens_2d,
          .extend_seq_lens = extend ? s.ext_type : IndexType::Int32,
          .static_extend = extend && s.static_extend,
          .real_only = s.page_size > 1 && s.no_page_table_1};
}

// The extend lengths all equal to the first, as static_extend_len promises.
void make_static(Spec& s) {
  if (!s.ext.empty()) std::fill(s.ext.begin(), s.ext.end(), s.ext[0]);
}

void set_switches(Spec& s, const DsaSwitches& on, std::int32_t page_size = 64, std::int32_t kpool = 4) {
  const bool extend = s.mode == DsaMode::DraftExtend;
  s.seq_type = on.seq_lens;
  s.pool_type = on.req_pool_indices;
  s.page_size = on.paged ? page_size : 1;
  s.kpool = on.kpool ? kpool : 1;
  s.ctx_lens_2d = on.ctx_lens_2d && s.mode == DsaMode::TargetVerify;
  s.ext_type = extend ? on.extend_seq_lens : IndexType::Int32;
  s.static_extend = on.static_extend && extend;
  s.no_page_table_1 = on.real_only && on.paged;
  if (s.static_extend) make_static(s);
}

// total_len from the extend lengths, and row_capacity `spare` rows past the mode's rows.
void fit_capacity(Spec& s, std::int64_t spare = 0) {
  s.total_len = std::accumulate(s.ext.begin(), s.ext.end(), std::int64_t{0});
  s.row_capacity = s.rows() + spare;
}

// Around the context; in draft extend at least the extend length but for one in ten, as on padded graph rows
// (where the newest upstream clamps the expanded lengths at 0).
void random_seq_lens(Spec& s, std::mt19937& rng) {
  s.seq.clear();
  for (std::size_t b = 0; b < s.pool.size(); ++b) {
    const std::int64_t e = s.ext.empty() ? 0 : s.ext[b];
    s.seq.push_back(!s.ext.empty() && one_in(rng, 10) ? uniform(rng, 0, e) : e + uniform(rng, 0, s.token_cols + 8));
  }
}

// Pool indices anywhere in req_to_token, repeats allowed (a pool row reused); extend lengths in [0, max_ext], all
// equal under static_extend_len.
void random_requests(Spec& s, std::int64_t bs, std::mt19937& rng, std::int64_t max_ext = 4) {
  s.pool_rows = bs + uniform(rng, 1, 3);
  s.pool.clear();
  s.ext.clear();
  for (std::int64_t b = 0; b < bs; ++b) {
    s.pool.push_back(uniform(rng, 0, s.pool_rows - 1));
    if (s.mode == DsaMode::DraftExtend) s.ext.push_back(uniform(rng, 0, max_ext));
  }
  if (s.static_extend) make_static(s);
  random_seq_lens(s, rng);
}

// Good data with random switches, strides, spare rows and columns: the kernel must get all of them right at once.
Spec random_spec(DsaMode mode, std::int64_t bs, std::int64_t ctx, std::mt19937& rng, std::int64_t max_ext = 4) {
  Spec s;
  s.mode = mode;
  s.token_cols = ctx;
  s.token_row_pad = uniform(rng, 0, 3);
  s.token_col_stride = ctx <= 4096 && one_in(rng, 8) ? 2 : 1;
  s.bound = one_in(rng, 4) ? uniform(rng, 0, ctx) : ctx;
  s.seq_type = one_in(rng, 2) ? IndexType::Int64 : IndexType::Int32;
  s.pool_type = one_in(rng, 2) ? IndexType::Int32 : IndexType::Int64;
  s.topk = static_cast<std::int32_t>(one_in(rng, 8) ? 2048 : uniform(rng, 0, ctx + 8));  // both sides of the min
  s.page_size = pick(rng, {1, 1, 64, 3});
  s.kpool = pick(rng, {1, 1, 4});
  s.no_page_table_1 = s.page_size > 1 && one_in(rng, 3);
  for (std::int64_t* stride : {&s.seq_stride, &s.pool_stride, &s.ext_stride}) *stride = one_in(rng, 4) ? 3 : 1;
  if (mode == DsaMode::TargetVerify) {
    s.next_n = static_cast<std::int32_t>(uniform(rng, 1, 4));
    s.ctx_lens_2d = one_in(rng, 2);
  }
  if (mode == DsaMode::DraftExtend) {
    s.ext_type = one_in(rng, 2) ? IndexType::Int64 : IndexType::Int32;
    s.static_extend = one_in(rng, 4);
  }
  s.with_status = !one_in(rng, 8);
  for (Shape* t : {&s.page, &s.real, &s.ctx}) {
    *t = {.extra_rows = uniform(rng, 0, 2),
          .extra_cols = uniform(rng, 1, 3),
          .row_pad = one_in(rng, 2) ? uniform(rng, 1, 5) : 0,
          .col_stride = 1};
  }
  random_requests(s, bs, rng, max_ext);
  fit_capacity(s, one_in(rng, 4) ? uniform(rng, 1, 40) : 0);
  s.token_seed = static_cast<unsigned>(rng());
  return s;
}

// New values in the shapes a captured call baked in: the same bs and total_len, so the extend lengths are shuffled.
void renew_inputs(Spec& s, std::mt19937& rng) {
  std::shuffle(s.ext.begin(), s.ext.end(), rng);
  for (std::int64_t& p : s.pool) p = uniform(rng, 0, s.pool_rows - 1);
  random_seq_lens(s, rng);
  s.token_seed = static_cast<unsigned>(rng());
}

std::string describe(const Spec& s) {
  const auto shape = [](const Shape& t) {
    return fmt::format("+{}r+{}c pad {} cs {}", t.extra_rows, t.extra_cols, t.row_pad, t.col_stride);
  };
  return fmt::format(
      "{} bs={} bound={} req_to_token {}x{} (pad {}, col stride {}) seq_lens {} (stride {}) pool {} (stride {}) "
      "extend_seq_lens {} (stride {}) static={} topk={} P={} kpool={} next_n={} ctx_lens_2d={} total_len={} "
      "row_capacity={} status={} page_table_1 {}{} real_page_table {} ctx {}",
      name(s.mode), s.bs(), s.bound, s.pool_rows, s.token_cols, s.token_row_pad, s.token_col_stride,
      name(s.seq_type), s.seq_stride, name(s.pool_type), s.pool_stride, name(s.ext_type), s.ext_stride,
      s.static_extend, s.topk, s.page_size, s.kpool, s.next_n, s.ctx_lens_2d, s.total_len, s.row_capacity,
      s.with_status, s.no_page_table_1 ? "left out, " : "", shape(s.page), shape(s.real), shape(s.ctx));
}

// An int32 buffer on the device and the reference's copy of it, both poisoned, kGuard entries longer than `size`
// so that a write just past the end shows.
struct Twin {
  explicit Twin(std::int64_t size_)
      : size(size_), host(static_cast<std::size_t>(size_ + kGuard), kPoison), device(host.size()) {
    device.poison();
  }
  std::int64_t size;
  I32 host;
  DeviceInts device;

  std::int32_t* get() const { return device.get(); }
  std::span<std::int32_t> span() { return {host.data(), static_cast<std::size_t>(size)}; }
  I32 values() const {  // the device's, for checks by hand
    I32 all = device.download();
    all.resize(static_cast<std::size_t>(size));
    return all;
  }
  void poison() {
    std::fill(host.begin(), host.end(), kPoison);
    device.poison();
  }
  void upload() { device.upload(host); }
  std::string mismatch(const char* what) const { return compare_ints(device.download(), host, what); }
};

// Element (r, c) at r * row_stride + c * col_stride, the layout the API and the reference share.
struct Mat {
  Mat(std::int64_t rows_, std::int64_t cols_, std::int64_t row_pad, std::int64_t col_stride_)
      : rows(rows_),
        cols(cols_),
        col_stride(col_stride_),
        row_stride(cols_ * col_stride_ + row_pad),
        buf(rows_ <= 0 || cols_ <= 0 ? 0 : (rows_ - 1) * row_stride + (cols_ - 1) * col_stride_ + 1) {}
  Mat(std::int64_t rows_, std::int64_t cols_, const Shape& shape)
      : Mat(rows_ + shape.extra_rows, cols_ + shape.extra_cols, shape.row_pad, shape.col_stride) {}
  std::int64_t rows, cols, col_stride, row_stride;
  Twin buf;

  std::int32_t& at(std::int64_t r, std::int64_t c) {
    return buf.host[static_cast<std::size_t>(r * row_stride + c * col_stride)];
  }
  I32 row(std::int64_t r) const {  // the device's
    const I32 all = buf.device.download();
    I32 out;
    for (std::int64_t c = 0; c < cols; ++c) {
      out.push_back(all[static_cast<std::size_t>(r * row_stride + c * col_stride)]);
    }
    return out;
  }
  DeviceMatrix device() const { return {buf.get(), rows, cols, row_stride, col_stride}; }
  ConstDeviceMatrix const_device() const { return {buf.get(), rows, cols, row_stride, col_stride}; }
  ref::Table table() { return {buf.host.data(), rows, cols, row_stride, col_stride}; }
  ref::ConstTable const_table() const { return {buf.host.data(), rows, cols, row_stride, col_stride}; }
};

// seq_lens, req_pool_indices or extend_seq_lens in the call's dtype and stride, on the device and on the host:
// value b at element b * stride, -1 in the gaps.
struct Indices {
  Indices(const I64& values, IndexType type_, std::int64_t stride_)
      : type(type_),
        size(static_cast<std::int64_t>(values.size())),
        stride(stride_),
        storage(size == 0 ? 0 : (size - 1) * stride + 1),
        device(static_cast<std::size_t>(storage) * (type_ == IndexType::Int64 ? 2 : 1)) {
    set(values);
  }
  IndexType type;
  std::int64_t size, stride, storage;
  I64 wide;
  I32 narrow;
  DeviceInts device;

  void set(const I64& values) {
    REQUIRE(static_cast<std::int64_t>(values.size()) == size);
    wide.assign(static_cast<std::size_t>(storage), -1);
    for (std::int64_t b = size - 1; b >= 0; --b) {  // with stride 0 the first value is the one left
      wide[static_cast<std::size_t>(b * stride)] = values[static_cast<std::size_t>(b)];
    }
    narrow.clear();
    for (std::int64_t v : wide) narrow.push_back(static_cast<std::int32_t>(v));
    const bool is64 = type == IndexType::Int64;
    const std::size_t bytes = wide.size() * (is64 ? sizeof(std::int64_t) : sizeof(std::int32_t));
    const void* source = is64 ? static_cast<const void*>(wide.data()) : static_cast<const void*>(narrow.data());
    if (bytes > 0) REQUIRE_CUDA(cudaMemcpy(device.get(), source, bytes, cudaMemcpyHostToDevice));
  }
  DeviceIndices device_view() const { return {device.get(), type, stride}; }
  ref::Ints ints() const {
    if (type == IndexType::Int64) return ref::Ints::strided(std::span<const std::int64_t>(wide), size, stride);
    return ref::Ints::strided(std::span<const std::int32_t>(narrow), size, stride);
  }
};

// The arguments of one call; the argument tests edit them before launching.
struct Call {
  DsaMode mode = DsaMode::Decode;
  DsaDecodeArgs decode{};
  DsaTargetVerifyArgs verify{};
  DsaDraftExtendArgs extend{};

  DsaCommonArgs& common() {
    if (mode == DsaMode::Decode) return decode.common;
    return mode == DsaMode::TargetVerify ? verify.common : extend.common;
  }
  std::int64_t& bound() {
    if (mode == DsaMode::Decode) return decode.max_len;
    return mode == DsaMode::TargetVerify ? verify.max_seqlen_k : extend.max_seqlen_k;
  }
  void launch(cudaStream_t stream, const Tuning& tuning = {}) const {
    const auto s = reinterpret_cast<CUstream>(stream);
    if (mode == DsaMode::Decode) {
      dsa_decode_metadata(decode, s, tuning);
    } else if (mode == DsaMode::TargetVerify) {
      dsa_target_verify_metadata(verify, s, tuning);
    } else {
      dsa_draft_extend_metadata(extend, s, tuning);
    }
  }
};

// A spec's buffers; every output sized exactly as the spec says, so that its extra rows and columns are poison the
// reference leaves alone.
struct DsaProblem {
  explicit DsaProblem(Spec spec_)
      : spec(std::move(spec_)),
        seq(spec.seq, spec.seq_type, spec.seq_stride),
        pool(spec.pool, spec.pool_type, spec.pool_stride),
        ext(spec.ext, spec.ext_type, spec.ext_stride),
        tokens(spec.pool_rows, spec.token_cols, spec.token_row_pad, spec.token_col_stride),
        cache(spec.bs()),
        cu(spec.bs() + 1),
        dsa(spec.row_capacity),
        dsa_cu(spec.row_capacity + 1),
        expanded(spec.row_capacity),
        status(1),
        page(spec.row_capacity, spec.bound, spec.page),
        real(spec.row_capacity, spec.page_size > 1 ? ceil_div(spec.bound, spec.page_size) : 0, spec.real),
        ctx(spec.bs(), spec.next_n, spec.ctx) {
    write_inputs();
  }
  Spec spec;
  Indices seq, pool, ext;
  Mat tokens;
  Twin cache, cu, dsa, dsa_cu, expanded, status;
  Mat page, real, ctx;

  // Every buffer a call writes or must leave alone, by its argument's name.
  template <class Self>
  static auto outputs(Self& self) {
    using T = decltype(&self.cache);
    return std::array<std::pair<const char*, T>, 9>{{{"cache_seqlens", &self.cache},
                                                     {"cu_seqlens_k", &self.cu},
                                                     {"dsa_cache_seqlens", &self.dsa},
                                                     {"dsa_cu_seqlens_k", &self.dsa_cu},
                                                     {"seqlens_expanded", &self.expanded},
                                                     {"status", &self.status},
                                                     {"page_table_1", &self.page.buf},
                                                     {"real_page_table", &self.real.buf},
                                                     {"paged_mqa_ctx_lens_2d", &self.ctx.buf}}};
  }

  // spec's inputs into the buffers the call reads (the same ones each time, as a captured graph needs).
  void write_inputs() {
    seq.set(spec.seq);
    pool.set(spec.pool);
    ext.set(spec.ext);
    std::mt19937 rng(spec.token_seed);
    std::uniform_int_distribution<std::int32_t> token(0, std::numeric_limits<std::int32_t>::max());
    for (std::int64_t r = 0; r < tokens.rows; ++r) {
      for (std::int64_t c = 0; c < tokens.cols; ++c) {
        tokens.at(r, c) = spec.example_tokens ? static_cast<std::int32_t>(10 * (r + 1) + c + 1) : token(rng);
      }
    }
    tokens.buf.upload();
    // cudaMemcpy and cudaMemset may still be in flight here, and the calls run on non-blocking streams.
    REQUIRE_CUDA(cudaDeviceSynchronize());
  }
  void poison_outputs() {
    for (auto& [what, twin] : outputs(*this)) twin->poison();
    REQUIRE_CUDA(cudaDeviceSynchronize());
  }

  Call call() const {
    const DsaCommonArgs common{.seq_lens = seq.device_view(),
                               .req_pool_indices = pool.device_view(),
                               .bs = spec.bs(),
                               .req_to_token = tokens.const_device(),
                               .dsa_index_topk = spec.topk,
                               .real_page_size = spec.page_size,
                               .index_kpool = spec.kpool,
                               .cache_seqlens = cache.get(),
                               .cu_seqlens_k = cu.get(),
                               .dsa_cache_seqlens = dsa.get(),
                               .dsa_cu_seqlens_k = dsa_cu.get(),
                               .row_capacity = spec.row_capacity,
                               .page_table_1 = spec.no_page_table_1 ? DeviceMatrix{} : page.device(),
                               .real_page_table = real.device(),
                               .status = spec.with_status ? status.get() : nullptr};
    Call c{.mode = spec.mode};
    c.decode = {.common = common, .max_len = spec.bound};
    c.verify = {.common = common,
                .next_n = spec.next_n,
                .max_seqlen_k = spec.bound,
                .seqlens_expanded = expanded.get(),
                .paged_mqa_ctx_lens_2d = spec.ctx_lens_2d ? ctx.device() : DeviceMatrix{}};
    c.extend = {.common = common,
                .extend_seq_lens = ext.device_view(),
                .total_len = spec.total_len,
                .max_seqlen_k = spec.bound,
                .seqlens_expanded = expanded.get(),
                .static_extend_len = spec.static_extend};
    return c;
  }

  // The reference on the host copies; the device's status word must then hold what it returns.
  std::int32_t run_reference() {
    ref::DsaCommon c;
    c.seq_lens = seq.ints();
    c.req_pool_indices = pool.ints();
    c.req_to_token = tokens.const_table();
    c.topk = spec.topk;
    c.page_size = spec.page_size;
    c.index_kpool = spec.kpool;
    c.cache_seqlens = cache.span();
    c.cu_seqlens_k = cu.span();
    c.dsa_cache_seqlens = dsa.span();
    c.dsa_cu_seqlens_k = dsa_cu.span();
    c.page_table_1 = spec.no_page_table_1 ? ref::Table{} : page.table();
    c.real_page_table = real.table();
    std::int32_t result = kDsaOk;
    if (spec.mode == DsaMode::Decode) {
      result = ref::dsa_decode({.common = c, .max_len = spec.bound});
    } else if (spec.mode == DsaMode::TargetVerify) {
      result = ref::dsa_target_verify({.common = c,
                                       .next_n = spec.next_n,
                                       .max_seqlen_k = spec.bound,
                                       .seqlens_expanded = expanded.span(),
                                       .paged_mqa_ctx_lens_2d = spec.ctx_lens_2d ? ctx.table() : ref::Table{}});
    } else {
      result = ref::dsa_draft_extend({.common = c,
                                      .extend_seq_lens = ext.ints(),
                                      .total_len = spec.total_len,
                                      .max_seqlen_k = spec.bound,
                                      .seqlens_expanded = expanded.span(),
                                      .static_extend_len = spec.static_extend});
    }
    if (spec.with_status) status.host[0] = result;
    return result;
  }

  // Empty when the device and the host copies agree everywhere; else the first difference.
  std::string mismatch() const {
    for (const auto& [what, twin] : outputs(*this)) {
      if (std::string error = twin->mismatch(what); !error.empty()) return error;
    }
    return {};
  }
};

void expect_agree(const DsaProblem& p) {
  const std::string error = p.mismatch();
  CHECK_MESSAGE(error.empty(), error);
}

// Launches p's call, runs the reference, and compares every buffer. Returns the reference's status.
std::int32_t check_call(DsaProblem& p, cudaStream_t stream, const Tuning& tuning = {}) {
  const auto launch = [&] { p.call().launch(stream, tuning); };
  CHECK_NOTHROW(launch());
  const std::int32_t want = p.run_reference();
  expect_agree(p);
  return want;
}

// A non-blocking stream, like SGLang's capture streams: nothing orders it after the legacy default stream.
struct Stream {
  Stream() { REQUIRE_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking)); }
  ~Stream() { cudaStreamDestroy(stream); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  operator cudaStream_t() const { return stream; }
  cudaStream_t stream = nullptr;
};

// p's call captured once; the capture is ended whatever the call does, so a failure cannot leave the stream
// capturing for the cases after.
class Graph {
 public:
  Graph(const DsaProblem& p, cudaStream_t stream, const Tuning& tuning = {}) {
    REQUIRE_CUDA(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
    std::string failure;
    try {
      p.call().launch(stream, tuning);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    cudaGraph_t graph = nullptr;
    const cudaError_t ended = cudaStreamEndCapture(stream, &graph);
    REQUIRE_MESSAGE(failure.empty(), failure);
    REQUIRE(ended == cudaSuccess);
    REQUIRE_CUDA(cudaGraphInstantiate(&exec_, graph, 0));
    REQUIRE_CUDA(cudaGraphDestroy(graph));
  }
  ~Graph() {
    if (exec_ != nullptr) cudaGraphExecDestroy(exec_);
  }
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  void replay(cudaStream_t stream) {
    REQUIRE_CUDA(cudaGraphLaunch(exec_, stream));
    REQUIRE_CUDA(cudaStreamSynchronize(stream));
  }

 private:
  cudaGraphExec_t exec_ = nullptr;
};

// A cold sweep is mostly NVRTC time, so its kernels are loaded first from several threads (each with device 0's
// primary context current, the one the calls use).
void prepare_all(const std::vector<Spec>& specs, const Tuning& tuning = {}) {
  struct Kernel {
    DsaMode mode;
    std::int64_t bs;
    DsaSwitches on;
  };
  std::set<std::tuple<DsaMode, std::int64_t, IndexType, IndexType, bool, bool, bool, IndexType, bool, bool>> seen;
  std::vector<Kernel> kernels;
  for (const Spec& s : specs) {
    const DsaSwitches on = switches(s);
    if (seen.emplace(s.mode, s.bs(), on.seq_lens, on.req_pool_indices, on.paged, on.kpool, on.ctx_lens_2d,
                     on.extend_seq_lens, on.static_extend, on.real_only)
            .second) {
      kernels.push_back({s.mode, s.bs(), on});
    }
  }
  std::atomic<std::size_t> next{0};
  std::mutex mutex;
  std::string failures;
  std::vector<std::thread> threads;
  const unsigned count = std::clamp(std::thread::hardware_concurrency(), 1u, 16u);
  for (unsigned t = 0; t < count; ++t) {
    threads.emplace_back([&] {
      cudaSetDevice(0);
      for (std::size_t i = next++; i < kernels.size(); i = next++) {
        try {
          prepare_dsa(kernels[i].mode, kernels[i].bs, kernels[i].on, tuning);
        } catch (const std::exception& e) {
          const std::lock_guard lock(mutex);
          failures += fmt::format("prepare_dsa({}, bs {}): {}\n", name(kernels[i].mode), kernels[i].bs, e.what());
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK_MESSAGE(failures.empty(), failures);
}

// Good data only: every call must write exactly what the reference writes, and a zero status word.
void run_good_specs(const std::vector<Spec>& specs, const Tuning& tuning = {}) {
  prepare_all(specs, tuning);
  const Stream stream;
  for (const Spec& spec : specs) {
    const std::string call = describe(spec);
    CAPTURE(call);
    DsaProblem p(spec);
    CHECK(check_call(p, stream, tuning) == kDsaOk);
  }
}

std::vector<std::int64_t> suite_batch_sizes() {
  std::vector<std::int64_t> sizes;
  for (std::int64_t bs = 0; bs <= 130; ++bs) sizes.push_back(bs);
  for (std::int64_t pow2 : {256, 512, 1024, 2048, 4096}) {
    for (std::int64_t bs : {pow2 - 1, pow2, pow2 + 1}) sizes.push_back(bs);
  }
  sizes.push_back(kMaxDsaBs - 1);
  sizes.push_back(kMaxDsaBs);
  return sizes;
}

// Each bs with one context (the next in kContexts, or a smaller one where the tables would pass kMaxCells), so
// each context gets a spread of bs; the long context with bs 1..3.
std::vector<Spec> sweep_specs(DsaMode mode, std::mt19937& rng) {
  std::vector<Spec> specs;
  const std::vector<std::int64_t> sizes = suite_batch_sizes();
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    std::size_t c = i % std::size(kContexts);
    while (c > 0 && sizes[i] * 4 * kContexts[c] > kMaxCells) --c;  // 4: the most rows per request (next_n, ext)
    specs.push_back(random_spec(mode, sizes[i], kContexts[c], rng));
  }
  for (std::int64_t bs = 1; bs <= 3; ++bs) specs.push_back(random_spec(mode, bs, kLongContext, rng));
  return specs;
}

void run_sweep(DsaMode mode) {
  REQUIRE_CUDA(cudaSetDevice(0));
  const unsigned seed = suite_seed();
  CAPTURE(seed);
  std::mt19937 rng(seed);
  run_good_specs(sweep_specs(mode, rng));
}

// `kernels` new kernels, each compiled or read from a disk cache an earlier run may have filled, and loaded.
void expect_kernels(const JitStats& jit, std::size_t kernels) {
  CHECK(jit.compiles + jit.disk_hits == kernels);
  CHECK(jit.module_loads == kernels);
}

// The reference unit test's examples (tests/unit/dsa_reference_test.cpp), whose expected values were computed by
// hand: req_to_token 4 x 6 holding 10 * (r + 1) + c + 1, output tables 6 columns wide.
Spec example_spec(DsaMode mode, I64 seq, I64 pool, std::int64_t bound, std::int32_t topk, std::int32_t page_size) {
  Spec s;
  s.mode = mode;
  s.seq = std::move(seq);
  s.pool = std::move(pool);
  s.pool_rows = 4;
  s.token_cols = 6;
  s.example_tokens = true;
  s.bound = bound;
  s.topk = topk;
  s.page_size = page_size;
  s.page.extra_cols = 6 - bound;
  s.real.extra_cols = 6 - (page_size > 1 ? ceil_div(bound, page_size) : 0);
  fit_capacity(s);
  return s;
}

// Empty when every element of m's rows from column `from` on is still poison on the device; else the first that is
// not. A check of the live prefixes that does not go through the reference.
std::string tail_mismatch(const Mat& m, std::int64_t from, const char* what) {
  const I32 all = m.buf.device.download();
  for (std::int64_t r = 0; r < m.rows; ++r) {
    for (std::int64_t c = from; c < m.cols; ++c) {
      const std::int32_t v = all[static_cast<std::size_t>(r * m.row_stride + c * m.col_stride)];
      if (v != kPoison) return fmt::format("{}[{}, {}] = {}, past the live prefixes, was written", what, r, c, v);
    }
  }
  return {};
}

// Two problems run on the same inputs and equally poisoned buffers must have written the same outputs.
void expect_same_outputs(const DsaProblem& a, const DsaProblem& b) {
  const auto a_outputs = DsaProblem::outputs(a);
  const auto b_outputs = DsaProblem::outputs(b);
  for (std::size_t i = 0; i < a_outputs.size(); ++i) {
    const std::string error =
        compare_ints(a_outputs[i].second->device.download(), b_outputs[i].second->device.download(),
                     a_outputs[i].first);
    CHECK_MESSAGE(error.empty(), error);
  }
}

}  // namespace

TEST_CASE("dsa decode: every suite bs and context against the reference") { run_sweep(DsaMode::Decode); }

TEST_CASE("dsa target verify: every suite bs and context with next_n 1..4 and optional paged_mqa_ctx_lens_2d") {
  run_sweep(DsaMode::TargetVerify);
}

TEST_CASE("dsa draft extend: every suite bs and context with extend lengths 0..4") {
  run_sweep(DsaMode::DraftExtend);
}

TEST_CASE("dsa draft extend: zero-length and long extends, rows only past index total_len, total_len = 0") {
  REQUIRE_CUDA(cudaSetDevice(0));
  const unsigned seed = suite_seed();
  CAPTURE(seed);
  std::mt19937 rng(seed);
  std::vector<Spec> specs;
  for (std::int64_t bs : {1, 3, 64, 100, 3000}) {
    Spec none = random_spec(DsaMode::DraftExtend, bs, 128, rng, 0);  // every extend empty
    fit_capacity(none, one_in(rng, 2) ? 0 : 5);
    specs.push_back(none);
  }
  for (std::int64_t bs : {3, 64}) specs.push_back(random_spec(DsaMode::DraftExtend, bs, 127, rng, 700));
  Spec one_long = random_spec(DsaMode::DraftExtend, 4, 128, rng);  // one request carries every token
  one_long.ext = {0, 0, 5000, 0};
  one_long.static_extend = false;  // unequal lengths: random_spec may have drawn the static promise
  one_long.seq = {7, 0, 6000, 3};
  fit_capacity(one_long);
  specs.push_back(one_long);
  Spec clamped = one_long;  // and a padded one, most of whose rows clamp at 0
  clamped.seq = {7, 0, 100, 3};
  specs.push_back(clamped);
  run_good_specs(specs);
  // The gather goes by request: requests past index total_len still own rows (a grid or loop bounded by the rows
  // instead of bs would leave them out), in the warp kernel (bs 20), the Blelloch kernels (bs 100 and 3000) and,
  // with unroll_max_bs 128, the sequential scan's block kernel (bs 100).
  std::vector<Spec> late_rows;
  for (std::int64_t bs : {20, 100, 3000}) {
    Spec late = random_spec(DsaMode::DraftExtend, bs, 256, rng);
    late.ext.assign(static_cast<std::size_t>(bs), 0);
    for (std::int64_t b = bs - 4; b < bs; ++b) late.ext[static_cast<std::size_t>(b)] = 2;
    late.static_extend = false;
    fit_capacity(late);
    late_rows.push_back(late);
  }
  run_good_specs(late_rows);
  run_good_specs({late_rows[1]}, Tuning{.unroll_max_bs = 128});
}

TEST_CASE("dsa: strided req_to_token (column stride 2) and strided output tables") {
  REQUIRE_CUDA(cudaSetDevice(0));
  const unsigned seed = suite_seed();
  CAPTURE(seed);
  std::mt19937 rng(seed);
  std::vector<Spec> specs;
  for (DsaMode mode : kModes) {
    for (std::int64_t bs : {7, 200}) {
      Spec s = random_spec(mode, bs, 129, rng);
      s.token_row_pad = 11;
      s.token_col_stride = 2;
      for (Shape* t : {&s.page, &s.real, &s.ctx}) {
        *t = {.extra_rows = 2, .extra_cols = 2, .row_pad = 7, .col_stride = 2};
      }
      s.page_size = 3;  // odd: pages straddle the column stride
      s.ctx_lens_2d = mode == DsaMode::TargetVerify;
      specs.push_back(s);
    }
  }
  run_good_specs(specs);
}

TEST_CASE("dsa: live prefixes of tables 131072 wide with KV lengths up to 3000 leave the tails untouched") {
  // Upstream writes a row's columns only up to its request's KV length rounded up to 128 columns: with seq_lens up
  // to 3000 (3004 with next_n), nothing from column 3072 on may be written, in page_table_1 or real_page_table.
  REQUIRE_CUDA(cudaSetDevice(0));
  const unsigned seed = suite_seed();
  CAPTURE(seed);
  std::mt19937 rng(seed);
  constexpr std::int64_t kLastLive = 3072;
  const I64 edges{0, 1, 127, 128, 129, 3000};
  std::vector<Spec> specs;
  for (DsaMode mode : kModes) {
    for (std::int64_t bs : {1, 6, 33}) {
      for (std::int32_t page_size : {1, 64}) {
        Spec s = random_spec(mode, bs, kLongContext, rng);
        s.bound = kLongContext;
        s.page_size = page_size;
        s.no_page_table_1 = page_size > 1 && bs == 6;
        for (std::size_t b = 0; b < s.seq.size(); ++b) {  // the edges first; draft extend pads some rows
          const std::int64_t e = s.ext.empty() ? 0 : s.ext[b];
          s.seq[b] = b < edges.size() ? edges[b] : uniform(rng, one_in(rng, 10) ? 0 : e, 3000);
        }
        specs.push_back(s);
      }
    }
  }
  prepare_all(specs);
  const Stream stream;
  for (const Spec& spec : specs) {
    const std::string call = describe(spec);
    CAPTURE(call);
    DsaProblem p(spec);
    CHECK(check_call(p, stream) == kDsaOk);
    const std::string page = tail_mismatch(p.page, spec.no_page_table_1 ? 0 : kLastLive, "page_table_1");
    CHECK_MESSAGE(page.empty(), page);
    const std::string real =
        tail_mismatch(p.real, spec.page_size > 1 ? ceil_div(kLastLive, spec.page_size) : 0, "real_page_table");
    CHECK_MESSAGE(real.empty(), real);
  }
}

TEST_CASE("dsa: page_table_1 left out with real_page_size 64 writes real_page_table alone") {
  REQUIRE_CUDA(cudaSetDevice(0));
  const unsigned seed = suite_seed();
  CAPTURE(seed);
  std::mt19937 rng(seed);
  std::vector<Spec> specs;
  for (DsaMode mode : kModes) {
    for (std::int64_t bs : {1, 37, 300}) {
      Spec s = random_spec(mode, bs, bs == 1 ? 4096 : 300, rng);
      s.page_size = 64;
      s.no_page_table_1 = true;
      specs.push_back(s);
    }
    // Draft extend: page_table_1's rows, here fewer than total_len, no longer bound the capacity.
    if (mode == DsaMode::DraftExtend) {
      Spec s = random_spec(mode, 50, 200, rng);
      s.page_size = 64;
      s.no_page_table_1 = true;
      s.page.extra_rows = -s.row_capacity;  // a table of no rows, never passed
      specs.push_back(s);
    }
  }
  prepare_all(specs);
  const Stream stream;
  for (const Spec& spec : specs) {
    const std::string call = describe(spec);
    CAPTURE(call);
    DsaProblem p(spec);
    CHECK(check_call(p, stream) == kDsaOk);
    const std::string page = tail_mismatch(p.page, 0, "page_table_1");
    CHECK_MESSAGE(page.empty(), page);
  }
}

TEST_CASE("dsa draft extend: static_extend_len kept writes what the call without it writes") {
  REQUIRE_CUDA(cudaSetDevice(0));
  const unsigned seed = suite_seed();
  CAPTURE(seed);
  std::mt19937 rng(seed);
  std::vector<std::pair<Spec, Spec>> pairs;
  std::vector<Spec> specs;
  for (std::int64_t bs : {1, 5, 129, 3000}) {
    for (std::int64_t e : {0, 1, 3}) {
      Spec s = random_spec(DsaMode::DraftExtend, bs, 129, rng);
      s.ext.assign(static_cast<std::size_t>(bs), e);
      s.static_extend = true;
      random_seq_lens(s, rng);
      fit_capacity(s, one_in(rng, 2) ? 0 : 3);
      Spec dynamic = s;
      dynamic.static_extend = false;
      pairs.emplace_back(s, dynamic);
      specs.push_back(s);
      specs.push_back(dynamic);
    }
  }
  prepare_all(specs);
  const Stream stream;
  for (const auto& [fixed, dynamic] : pairs) {
    const std::string call = describe(fixed);
    CAPTURE(call);
    DsaProblem a(fixed);
    DsaProblem b(dynamic);
    CHECK(check_call(a, stream) == kDsaOk);
    CHECK(check_call(b, stream) == kDsaOk);
    expect_same_outputs(a, b);
  }
}

TEST_CASE("dsa: int64 and strided seq_lens, req_pool_indices and extend_seq_lens") {
  REQUIRE_CUDA(cudaSetDevice(0));
  const unsigned seed = suite_seed();
  CAPTURE(seed);
  std::mt19937 rng(seed);
  std::vector<Spec> specs;
  for (DsaMode mode : kModes) {
    for (IndexType type : {IndexType::Int32, IndexType::Int64}) {
      for (std::int64_t stride : {0, 1, 2, 7}) {
        for (std::int64_t bs : {5, 1500}) {
          Spec s = random_spec(mode, bs, 129, rng);
          s.seq_type = s.pool_type = type;
          if (mode == DsaMode::DraftExtend) s.ext_type = type;
          s.seq_stride = s.ext_stride = stride;
          s.pool_stride = stride == 0 ? 0 : stride + 1;
          if (stride == 0) {  // every request reads the first values: give the spec those values
            for (I64* v : {&s.seq, &s.pool, &s.ext}) {
              if (!v->empty()) std::fill(v->begin(), v->end(), v->front());
            }
            fit_capacity(s);
          }
          specs.push_back(s);
        }
      }
    }
  }
  run_good_specs(specs);
}

TEST_CASE("dsa: bs 8193, 16384, 32769, 65535 and 65536 in every mode at 64 to 256 columns") {
  // Past 8192 requests the scans work through chunks of requests; small widths keep the tables near 100 MiB.
  REQUIRE_CUDA(cudaSetDevice(0));
  const unsigned seed = suite_seed();
  CAPTURE(seed);
  std::mt19937 rng(seed);
  std::vector<Spec> specs;
  for (DsaMode mode : kModes) {
    for (std::int64_t bs : {8193, 16384, 32769, 65535, kMaxDsaBs}) {
      Spec s = random_spec(mode, bs, pick(rng, {64, 128, 129, 256}), rng, 2);
      s.next_n = std::min(s.next_n, 2);
      fit_capacity(s, one_in(rng, 2) ? 0 : 9);
      specs.push_back(s);
    }
  }
  run_good_specs(specs);
}

TEST_CASE("dsa: Blelloch for every bs (unroll_max_bs = 0) and other block sizes") {
  REQUIRE_CUDA(cudaSetDevice(0));
  const unsigned seed = suite_seed();
  CAPTURE(seed);
  std::mt19937 rng(seed);
  for (const Tuning& tuning :
       {Tuning{.unroll_max_bs = 0, .dsa_threads = 1024}, Tuning{.unroll_max_bs = 128, .dsa_threads = 128}}) {
    CAPTURE(tuning.unroll_max_bs);
    std::vector<Spec> specs;
    std::size_t i = 0;
    for (DsaMode mode : kModes) {
      for (std::int64_t bs : {0, 1, 2, 33, 128, 129, 1000}) {
        specs.push_back(random_spec(mode, bs, kContexts[i++ % std::size(kContexts)], rng));
      }
    }
    run_good_specs(specs, tuning);
  }
}

TEST_CASE("dsa decode: worked examples by hand") {
  REQUIRE_CUDA(cudaSetDevice(0));
  const Stream stream;
  for (std::int32_t page_size : {1, 2}) {
    CAPTURE(page_size);
    DsaProblem p(example_spec(DsaMode::Decode, {5, 2, 7}, {2, 0, 3}, 3, 4, page_size));
    REQUIRE(check_call(p, stream) == kDsaOk);
    CHECK(p.status.values() == I32{0});
    CHECK(p.cache.values() == I32{5, 2, 7});
    CHECK(p.cu.values() == I32{0, 5, 7, 14});
    CHECK(p.dsa.values() == I32{4, 2, 4});  // topk 4 cuts the first and the last
    CHECK(p.dsa_cu.values() == I32{0, 4, 6, 10});
    CHECK(p.page.row(0) == I32{31, 32, 33, U, U, U});
    CHECK(p.page.row(1) == I32{11, 12, 13, U, U, U});
    CHECK(p.page.row(2) == I32{41, 42, 43, U, U, U});
    if (page_size == 1) {
      for (std::int64_t r = 0; r < 3; ++r) CHECK(p.real.row(r) == I32(6, U));
    } else {
      CHECK(p.real.row(0) == I32{15, 16, U, U, U, U});  // 31 / 2, 33 / 2
      CHECK(p.real.row(1) == I32{5, 6, U, U, U, U});
      CHECK(p.real.row(2) == I32{20, 21, U, U, U, U});
    }
  }
  // index_kpool 4, topk 8: min(floor(e / 4) * 4, 8) + e % 4.
  Spec pooled = example_spec(DsaMode::Decode, {3, 9, 13, 20}, {0, 1, 2, 3}, 1, 8, 1);
  pooled.kpool = 4;
  DsaProblem p(pooled);
  REQUIRE(check_call(p, stream) == kDsaOk);
  CHECK(p.dsa.values() == I32{3, 9, 9, 8});
}

TEST_CASE("dsa target verify: worked examples by hand") {
  REQUIRE_CUDA(cudaSetDevice(0));
  const Stream stream;
  Spec s = example_spec(DsaMode::TargetVerify, {5, 2, 7}, {2, 0, 3}, 5, 6, 2);
  s.next_n = 2;
  s.ctx_lens_2d = true;  // 3 x 3: one column more than next_n, which must keep its poison
  fit_capacity(s);
  DsaProblem p(s);
  REQUIRE(check_call(p, stream) == kDsaOk);
  CHECK(p.cache.values() == I32{7, 4, 9});  // seq_lens + next_n
  CHECK(p.cu.values() == I32{0, 7, 11, 20});
  CHECK(p.expanded.values() == I32{6, 7, 3, 4, 8, 9});
  CHECK(p.dsa.values() == I32{6, 6, 3, 4, 6, 6});
  CHECK(p.dsa_cu.values() == I32{0, 6, 12, 15, 19, 25, 31});
  for (std::int64_t r : {0, 1}) CHECK(p.page.row(r) == I32{31, 32, 33, 34, 35, U});
  for (std::int64_t r : {2, 3}) CHECK(p.page.row(r) == I32{11, 12, 13, 14, 15, U});
  for (std::int64_t r : {4, 5}) CHECK(p.page.row(r) == I32{41, 42, 43, 44, 45, U});
  for (std::int64_t r : {0, 1}) CHECK(p.real.row(r) == I32{15, 16, 17, U, U, U});  // columns 0, 2, 4, halved
  for (std::int64_t r : {2, 3}) CHECK(p.real.row(r) == I32{5, 6, 7, U, U, U});
  for (std::int64_t r : {4, 5}) CHECK(p.real.row(r) == I32{20, 21, 22, U, U, U});
  CHECK(p.ctx.row(0) == I32{7, 7, U});
  CHECK(p.ctx.row(1) == I32{4, 4, U});
  CHECK(p.ctx.row(2) == I32{9, 9, U});

  s.ctx_lens_2d = false;  // left out, it changes nothing else
  DsaProblem without(s);
  REQUIRE(check_call(without, stream) == kDsaOk);
  CHECK(without.dsa_cu.values() == p.dsa_cu.values());
  CHECK(without.real.buf.values() == p.real.buf.values());

  Spec pooled = example_spec(DsaMode::TargetVerify, {10}, {0}, 1, 8, 1);
  pooled.kpool = 4;
  pooled.next_n = 2;
  fit_capacity(pooled);
  DsaProblem q(pooled);
  REQUIRE(check_call(q, stream) == kDsaOk);
  CHECK(q.expanded.values() == I32{11, 12});
  CHECK(q.dsa.values() == I32{11, 8});  // 8 + 3, then 8 + 0
  CHECK(q.dsa_cu.values() == I32{0, 11, 19});
}

TEST_CASE("dsa draft extend: worked examples by hand") {
  REQUIRE_CUDA(cudaSetDevice(0));
  const Stream stream;
  Spec s = example_spec(DsaMode::DraftExtend, {5, 2, 7}, {2, 0, 3}, 3, 6, 2);
  s.ext = {2, 0, 3};
  fit_capacity(s, 1);  // one row more than total_len, which must keep its poison
  DsaProblem p(s);
  REQUIRE(check_call(p, stream) == kDsaOk);
  CHECK(p.cache.values() == I32{5, 2, 7});
  CHECK(p.cu.values() == I32{0, 5, 7, 14});
  CHECK(p.expanded.values() == I32{4, 5, 5, 6, 7, U});
  CHECK(p.dsa.values() == I32{4, 5, 5, 6, 6, U});
  CHECK(p.dsa_cu.values() == I32{0, 4, 9, 14, 20, 26, U});
  for (std::int64_t r : {0, 1}) CHECK(p.page.row(r) == I32{31, 32, 33, U, U, U});
  for (std::int64_t r : {2, 3, 4}) CHECK(p.page.row(r) == I32{41, 42, 43, U, U, U});
  for (std::int64_t r : {0, 1}) CHECK(p.real.row(r) == I32{15, 16, U, U, U, U});
  for (std::int64_t r : {2, 3, 4}) CHECK(p.real.row(r) == I32{20, 21, U, U, U, U});
  CHECK(p.page.row(5) == I32(6, U));
  CHECK(p.real.row(5) == I32(6, U));

  // Empty requests first, between and last: the offsets skip them without shifting any row.
  Spec gaps = example_spec(DsaMode::DraftExtend, {3, 4, 9, 6, 1}, {0, 1, 2, 3, 0}, 2, 100, 1);
  gaps.ext = {0, 2, 0, 1, 0};
  fit_capacity(gaps);
  DsaProblem q(gaps);
  REQUIRE(check_call(q, stream) == kDsaOk);
  CHECK(q.cu.values() == I32{0, 3, 7, 16, 22, 23});
  CHECK(q.expanded.values() == I32{3, 4, 6});
  CHECK(q.dsa.values() == I32{3, 4, 6});
  CHECK(q.dsa_cu.values() == I32{0, 3, 7, 13});
  CHECK(q.page.row(0) == I32{21, 22, U, U, U, U});
  CHECK(q.page.row(1) == I32{21, 22, U, U, U, U});
  CHECK(q.page.row(2) == I32{41, 42, U, U, U, U});

  // seq_len 1 below extend 3, as on padded graph rows: -1, 0, 1 before the clamp at 0.
  Spec padded = example_spec(DsaMode::DraftExtend, {1, 4}, {0, 1}, 1, 100, 1);
  padded.ext = {3, 2};
  fit_capacity(padded);
  DsaProblem r(padded);
  REQUIRE(check_call(r, stream) == kDsaOk);
  CHECK(r.expanded.values() == I32{0, 0, 1, 3, 4});
  CHECK(r.dsa.values() == I32{0, 0, 1, 3, 4});
  CHECK(r.dsa_cu.values() == I32{0, 0, 0, 1, 4, 8});

  Spec pooled = example_spec(DsaMode::DraftExtend, {13}, {0}, 1, 8, 1);
  pooled.ext = {2};
  pooled.kpool = 4;
  fit_capacity(pooled);
  DsaProblem k(pooled);
  REQUIRE(check_call(k, stream) == kDsaOk);
  CHECK(k.expanded.values() == I32{12, 13});
  CHECK(k.dsa.values() == I32{8, 9});
}

TEST_CASE("dsa: bs = 0 writes only the leading zeros of cu_seqlens_k and dsa_cu_seqlens_k") {
  REQUIRE_CUDA(cudaSetDevice(0));
  const unsigned seed = suite_seed();
  CAPTURE(seed);
  std::mt19937 rng(seed);
  const Stream stream;
  for (DsaMode mode : kModes) {
    for (std::int64_t spare : {0, 3}) {
      CAPTURE(name(mode));
      CAPTURE(spare);
      Spec s = random_spec(mode, 0, 128, rng);
      s.with_status = true;
      s.kpool = 0;  // no row is written, so index_kpool is not judged
      fit_capacity(s, spare);
      DsaProblem p(s);
      Call c = p.call();
      // With no requests the request arrays are never read, so they may be null.
      c.common().seq_lens.data = nullptr;
      c.common().req_pool_indices.data = nullptr;
      c.extend.extend_seq_lens.data = nullptr;
      const auto launch = [&] { c.launch(stream); };
      CHECK_NOTHROW(launch());
      CHECK(p.run_reference() == kDsaOk);
      expect_agree(p);
      CHECK(p.cu.values() == I32{0});
      I32 dsa_cu(static_cast<std::size_t>(spare + 1), U);
      dsa_cu[0] = 0;
      CHECK(p.dsa_cu.values() == dsa_cu);
      CHECK(p.status.values() == I32{0});
    }
  }
}

TEST_CASE("dsa: bad data sets the reference's status bits and writes nothing") {
  REQUIRE_CUDA(cudaSetDevice(0));
  const unsigned seed = suite_seed();
  CAPTURE(seed);
  std::mt19937 rng(seed);
  CHECK(describe_dsa_status(kDsaOk) == "ok");
  CHECK(describe_dsa_status(kDsaNegativeExtendLen | kDsaPoolIndexOutOfRange) ==
        "negative extend length | pool index out of range");

  using Edit = std::function<void(Spec&)>;
  struct Bad {
    const char* what;
    std::vector<DsaMode> modes;
    Edit edit;
    std::int32_t status;
  };
  const std::vector<DsaMode> all(std::begin(kModes), std::end(kModes));
  const std::vector<DsaMode> verify{DsaMode::TargetVerify};
  const std::vector<DsaMode> extend{DsaMode::DraftExtend};
  const std::vector<Bad> bads = {
      {"a negative seq_len", all, [](Spec& s) { s.seq[s.seq.size() / 2] = -1; }, kDsaNegativeSeqLen},
      {"an int64 seq_len past INT32_MAX", all,
       [](Spec& s) {
         s.seq_type = IndexType::Int64;
         s.seq.back() = std::int64_t{1} << 40;
       },
       kDsaInt32Overflow},
      {"an int64 seq_len below INT32_MIN", all,
       [](Spec& s) {
         s.seq_type = IndexType::Int64;
         s.seq[0] = -(std::int64_t{1} << 40);
       },
       kDsaNegativeSeqLen | kDsaInt32Overflow},
      {"stage 1 decides: a negative seq_len beside a negative extend length, a broken static promise and a bad pool "
       "index",
       all,
       [](Spec& s) {
         s.seq[1] = -1;
         s.pool[0] = s.pool_rows;
         s.static_extend = s.mode == DsaMode::DraftExtend;
         if (!s.ext.empty()) s.ext[2] = -1;
       },
       kDsaNegativeSeqLen},
      {"a pool index of req_to_token's row count (int64)", all,
       [](Spec& s) {
         s.pool_type = IndexType::Int64;
         s.pool.back() = s.pool_rows;
       },
       kDsaPoolIndexOutOfRange},
      {"a pool index of -1 (int32)", all,
       [](Spec& s) {
         s.pool_type = IndexType::Int32;
         s.pool[s.pool.size() / 2] = -1;
       },
       kDsaPoolIndexOutOfRange},
      {"a pool index of -1 (int64)", all,
       [](Spec& s) {
         s.pool_type = IndexType::Int64;
         s.pool[0] = -1;
       },
       kDsaPoolIndexOutOfRange},
      {"a pool index of -1 with page_table_1 left out", all,
       [](Spec& s) {
         s.page_size = 64;
         s.no_page_table_1 = true;
         s.pool.back() = -1;
       },
       kDsaPoolIndexOutOfRange},
      {"cu_seqlens_k past INT32_MAX", all, [](Spec& s) { std::fill_n(s.seq.begin(), 3, kHalf); }, kDsaInt32Overflow},
      {"cache_seqlens = INT32_MAX + next_n", verify, [](Spec& s) { s.seq[0] = kInt32Max; }, kDsaInt32Overflow},
      {"dsa_cu_seqlens_k alone past INT32_MAX: three rows of about 2^30 under topk INT32_MAX",
       {DsaMode::TargetVerify, DsaMode::DraftExtend},
       [](Spec& s) {
         s.topk = static_cast<std::int32_t>(kInt32Max);
         s.seq[0] = kHalf;
         if (s.mode == DsaMode::TargetVerify) s.next_n = 3;
         if (s.mode == DsaMode::DraftExtend) s.ext[0] = 3;
         fit_capacity(s);
       },
       kDsaInt32Overflow},
      {"a negative extend length", extend, [](Spec& s) { s.ext[s.ext.size() / 2] = -1; }, kDsaNegativeExtendLen},
      {"stage 2 decides: a negative extend length beside a bad pool index", extend,
       [](Spec& s) {
         s.ext[0] = -1;
         s.pool[1] = -1;
       },
       kDsaNegativeExtendLen},
      {"extend offsets past INT32_MAX, so total_len past row_capacity too", extend,
       [](Spec& s) {
         s.ext[0] = s.ext[1] = kHalf;
         s.seq[0] = s.seq[1] = kHalf;
         s.total_len = std::accumulate(s.ext.begin(), s.ext.end(), std::int64_t{0});  // row_capacity stays
       },
       kDsaInt32Overflow | kDsaCapacityExceeded},
      {"total_len one past row_capacity", extend,
       [](Spec& s) {
         s.ext[0] = 2;
         fit_capacity(s);
         s.row_capacity -= 1;
       },
       kDsaCapacityExceeded},
      {"total_len one past the sum", extend,
       [](Spec& s) {
         s.total_len += 1;
         s.row_capacity = s.total_len + 3;
       },
       kDsaTotalMismatch},
      {"total_len one short of the sum", extend,
       [](Spec& s) {
         s.ext[0] = 2;
         fit_capacity(s, 3);
         s.total_len -= 1;
       },
       kDsaTotalMismatch},
      // total_len counts the far length as the host would, so the sum is not what tells the overflow.
      {"an int64 extend length past INT32_MAX, total_len past row_capacity with it", extend,
       [](Spec& s) {
         s.ext_type = IndexType::Int64;
         s.ext[s.ext.size() / 2] = std::int64_t{1} << 40;
         s.total_len = std::accumulate(s.ext.begin(), s.ext.end(), std::int64_t{0});  // row_capacity stays
       },
       kDsaInt32Overflow | kDsaCapacityExceeded},
      {"an int64 extend length below INT32_MIN", extend,
       [](Spec& s) {
         s.ext_type = IndexType::Int64;
         s.ext[0] = -(std::int64_t{1} << 40);
       },
       kDsaNegativeExtendLen},
      {"static_extend_len with the last extend length one more", extend,
       [](Spec& s) {
         s.static_extend = true;
         make_static(s);
         s.ext.back() += 1;
         fit_capacity(s);
       },
       kDsaExtendNotStatic},
      {"stage 2 decides: a broken static promise beside a bad pool index (int64 extend lengths)", extend,
       [](Spec& s) {
         s.ext_type = IndexType::Int64;
         s.static_extend = true;
         make_static(s);
         s.ext[0] += 1;
         fit_capacity(s);
         s.pool[0] = -1;
       },
       kDsaExtendNotStatic},
      {"a broken static promise beside a negative extend length", extend,
       [](Spec& s) {
         s.static_extend = true;
         make_static(s);
         s.ext[1] = -1;
       },
       kDsaExtendNotStatic | kDsaNegativeExtendLen},
      {"a broken static promise beside total_len off the sum", extend,
       [](Spec& s) {
         s.static_extend = true;
         make_static(s);
         s.ext.back() += 1;
         fit_capacity(s, 3);
         s.total_len += 1;
       },
       kDsaExtendNotStatic | kDsaTotalMismatch},
      {"a broken static promise beside total_len past row_capacity", extend,
       [](Spec& s) {
         s.static_extend = true;
         make_static(s);
         s.ext.back() += 1;
         fit_capacity(s);
         s.row_capacity -= 1;
       },
       kDsaExtendNotStatic | kDsaCapacityExceeded},
  };

  struct Case {
    const char* what;
    Spec spec;
    std::int32_t status;
  };
  std::vector<Case> cases;
  // Unrolled, Blelloch, Blelloch with several slots a thread, Blelloch with chunks of requests (past 8192).
  for (std::int64_t bs : {3, 100, 4097, 20000}) {
    for (const Bad& bad : bads) {
      for (DsaMode mode : bad.modes) {
        Spec s = random_spec(mode, bs, 128, rng);
        set_switches(s, {}, 64);  // real_page_table given, so that it too must stay untouched
        s.with_status = true;
        bad.edit(s);
        cases.push_back({bad.what, std::move(s), bad.status});
      }
    }
  }
  std::vector<Spec> specs;
  for (const Case& c : cases) specs.push_back(c.spec);
  prepare_all(specs);
  const Stream stream;
  for (const Case& c : cases) {
    CAPTURE(c.what);
    const std::string call = describe(c.spec);
    CAPTURE(call);
    DsaProblem p(c.spec);
    CHECK(check_call(p, stream) == c.status);
  }
}

TEST_CASE("dsa: bad arguments throw std::invalid_argument and launch nothing") {
  REQUIRE_CUDA(cudaSetDevice(0));
  const unsigned seed = suite_seed();
  CAPTURE(seed);
  std::mt19937 rng(seed);
  const Stream stream;
  using Edit = std::function<void(Call&)>;
  for (DsaMode mode : kModes) {
    CAPTURE(name(mode));
    const bool verify = mode == DsaMode::TargetVerify;
    const bool extend = mode == DsaMode::DraftExtend;
    Spec s = random_spec(mode, 5, 16, rng);
    set_switches(s, {.paged = true, .ctx_lens_2d = true}, 4);
    s.bound = 16;
    s.with_status = true;
    s.next_n = verify ? 2 : 1;
    if (extend) {
      s.ext = {1, 2, 0, 3, 1};
      random_seq_lens(s, rng);
    }
    for (Shape* t : {&s.page, &s.real, &s.ctx}) *t = Shape{};
    fit_capacity(s);
    DsaProblem p(s);
    const std::int64_t rows = s.rows();

    std::vector<std::pair<const char*, Edit>> edits = {
        {"bs < 0", [](Call& c) { c.common().bs = -1; }},
        {"seq_lens null", [](Call& c) { c.common().seq_lens.data = nullptr; }},
        {"req_pool_indices null", [](Call& c) { c.common().req_pool_indices.data = nullptr; }},
        {"req_to_token null", [](Call& c) { c.common().req_to_token.data = nullptr; }},
        {"cache_seqlens null", [](Call& c) { c.common().cache_seqlens = nullptr; }},
        {"cu_seqlens_k null", [](Call& c) { c.common().cu_seqlens_k = nullptr; }},
        {"dsa_cache_seqlens null", [](Call& c) { c.common().dsa_cache_seqlens = nullptr; }},
        {"dsa_cu_seqlens_k null", [](Call& c) { c.common().dsa_cu_seqlens_k = nullptr; }},
        {"page_table_1 null with real_page_size 1",
         [](Call& c) {
           c.common().page_table_1.data = nullptr;
           c.common().real_page_size = 1;
         }},
        {"real_page_table null with real_page_size > 1", [](Call& c) { c.common().real_page_table.data = nullptr; }},
        {"dsa_index_topk < 0", [](Call& c) { c.common().dsa_index_topk = -1; }},
        {"index_kpool 0", [](Call& c) { c.common().index_kpool = 0; }},
        {"index_kpool -1", [](Call& c) { c.common().index_kpool = -1; }},
        {"seq_lens stride < 0", [](Call& c) { c.common().seq_lens.stride = -1; }},
        {"req_pool_indices stride < 0", [](Call& c) { c.common().req_pool_indices.stride = -1; }},
        {"real_page_size 0", [](Call& c) { c.common().real_page_size = 0; }},
        {"real_page_size -1", [](Call& c) { c.common().real_page_size = -1; }},
        {"the bound past req_to_token's columns", [](Call& c) { c.bound() = c.common().req_to_token.cols + 1; }},
        {"the bound < 0", [](Call& c) { c.bound() = -1; }},
        {"page_table_1 columns < the bound", [](Call& c) { c.common().page_table_1.cols = c.bound() - 1; }},
        {"real_page_table columns < ceil(bound / P)",
         [](Call& c) { c.common().real_page_table.cols = ceil_div(c.bound(), c.common().real_page_size) - 1; }},
    };
    if (!extend) {  // in draft extend the rows come from the data, and too few are a status bit
      edits.emplace_back("row_capacity < the mode's rows", [rows](Call& c) { c.common().row_capacity = rows - 1; });
      edits.emplace_back("page_table_1 rows < the mode's rows",
                         [rows](Call& c) { c.common().page_table_1.rows = rows - 1; });
      edits.emplace_back("real_page_table rows < the mode's rows",
                         [rows](Call& c) { c.common().real_page_table.rows = rows - 1; });
    }
    if (verify) {
      edits.emplace_back("seqlens_expanded null", [](Call& c) { c.verify.seqlens_expanded = nullptr; });
      edits.emplace_back("next_n 0", [](Call& c) { c.verify.next_n = 0; });
      edits.emplace_back("next_n -1", [](Call& c) { c.verify.next_n = -1; });
      edits.emplace_back("paged_mqa_ctx_lens_2d rows < bs", [](Call& c) { c.verify.paged_mqa_ctx_lens_2d.rows -= 1; });
      edits.emplace_back("paged_mqa_ctx_lens_2d columns < next_n",
                         [](Call& c) { c.verify.paged_mqa_ctx_lens_2d.cols = c.verify.next_n - 1; });
    }
    if (extend) {
      edits.emplace_back("seqlens_expanded null", [](Call& c) { c.extend.seqlens_expanded = nullptr; });
      edits.emplace_back("extend_seq_lens null", [](Call& c) { c.extend.extend_seq_lens.data = nullptr; });
      edits.emplace_back("extend_seq_lens stride < 0", [](Call& c) { c.extend.extend_seq_lens.stride = -1; });
      edits.emplace_back("total_len < 0", [](Call& c) { c.extend.total_len = -1; });
    }
    for (const auto& edit : edits) {
      const char* what = edit.first;
      CAPTURE(what);
      Call c = p.call();
      edit.second(c);
      CHECK_THROWS_AS(c.launch(stream), std::invalid_argument);
    }
    expect_agree(p);                          // all still poison, the status word too
    CHECK(check_call(p, stream) == kDsaOk);  // unedited, the same call is good

    Spec unpaged = s;  // real_page_table is ignored when real_page_size is 1, so it may be null
    unpaged.page_size = 1;
    DsaProblem q(unpaged);
    Call c = q.call();
    c.common().real_page_table = {};
    const auto launch = [&] { c.launch(stream); };
    CHECK_NOTHROW(launch());
    CHECK(q.run_reference() == kDsaOk);
    expect_agree(q);

    Spec real_only = s;  // and page_table_1 may be null when real_page_size > 1: only real_page_table is written
    real_only.no_page_table_1 = true;
    DsaProblem r(real_only);
    CHECK(check_call(r, stream) == kDsaOk);

    DsaProblem big(random_spec(mode, kMaxDsaBs + 1, 1, rng));  // real buffers, in case the bs check were missing
    CHECK_THROWS_AS(big.call().launch(stream), std::invalid_argument);
    expect_agree(big);
  }
}

TEST_CASE("dsa: a CUDA graph of each mode replays with new inputs in the same buffers") {
  REQUIRE_CUDA(cudaSetDevice(0));
  const unsigned seed = suite_seed();
  CAPTURE(seed);
  std::mt19937 rng(seed);
  std::vector<Spec> specs;
  for (DsaMode mode : kModes) {
    for (std::int64_t bs : {5, 100, 2049, 16385}) {
      specs.push_back(random_spec(mode, bs, 129, rng));
      specs.back().with_status = true;
    }
  }
  prepare_all(specs);  // prepare_dsa, for every kernel below
  const Stream stream;
  for (const Spec& s : specs) {
    DsaProblem p(s);
    const std::string call = describe(p.spec);
    CAPTURE(call);
    reset_stats();
    Graph graph(p, stream);
    expect_kernels(draftjit::stats(), 0);  // prepare_dsa left the capture nothing to compile or load
    for (int replay = 0; replay < 4; ++replay) {
      CAPTURE(replay);
      const bool bad = replay == 3;  // and the status word, written from the graph too
      renew_inputs(p.spec, rng);
      if (bad) p.spec.pool[p.spec.pool.size() / 2] = -1;
      p.write_inputs();
      p.poison_outputs();
      graph.replay(stream);
      CHECK(p.run_reference() == (bad ? kDsaPoolIndexOutOfRange : kDsaOk));
      expect_agree(p);
    }
  }
}

// Blelloch kernels take bs as a launch argument and serve every bs of one next_pow2(bs) (jit/kernel_spec.cpp), the
// unrolled ones (bs <= unroll_max_bs) exactly one bs.
TEST_CASE("dsa: new lengths or strides or capacities compile nothing but a new bs bucket or switch loads one kernel") {
  REQUIRE_CUDA(cudaSetDevice(0));
  const Tuning tuning{.dsa_threads = 512};  // a block size no other case uses, so every kernel here starts cold
  const unsigned seed = suite_seed();
  CAPTURE(seed);
  std::mt19937 rng(seed);
  const Stream stream;
  for (DsaMode mode : kModes) {
    CAPTURE(name(mode));
    const bool verify = mode == DsaMode::TargetVerify;
    const bool extend = mode == DsaMode::DraftExtend;
    Spec s = random_spec(mode, 300, 128, rng);
    set_switches(s, {});
    s.seq_stride = s.pool_stride = s.ext_stride = 1;
    struct Step {
      const char* what;
      std::function<void(Spec&)> edit;
      std::size_t kernels;
    };
    const auto new_bs = [&rng](std::int64_t bs) {
      return [&rng, bs](Spec& t) {
        random_requests(t, bs, rng);
        fit_capacity(t);
      };
    };
    const std::vector<Step> steps = {
        {"the first call", [](Spec&) {}, 1},
        {"max_len / max_seqlen_k and req_to_token's columns",
         [&rng](Spec& t) {
           t.token_cols = 4096;
           t.bound = 2500;
           random_seq_lens(t, rng);
         },
         0},
        {"strides of req_to_token and of the output tables",
         [](Spec& t) {
           t.token_row_pad = 9;
           t.token_col_stride = 2;
           for (Shape* x : {&t.page, &t.real, &t.ctx}) {
             *x = {.extra_rows = 1, .extra_cols = 2, .row_pad = 5, .col_stride = 2};
           }
         },
         0},
        {"row_capacity", [](Spec& t) { fit_capacity(t, 77); }, 0},
        {"topk", [](Spec& t) { t.topk = 3; }, 0},
        {"strides of seq_lens, req_pool_indices and extend_seq_lens",
         [](Spec& t) {
           t.seq_stride = 2;
           t.pool_stride = 3;
           t.ext_stride = 5;
         },
         0},
        {"new lengths, so a new total_len in draft extend",
         [&rng](Spec& t) {
           for (std::int64_t& e : t.ext) e = uniform(rng, 0, 4);
           random_seq_lens(t, rng);
           fit_capacity(t);
         },
         0},
        {"next_n",
         [verify](Spec& t) {
           if (verify) t.next_n = 4;
           fit_capacity(t);
         },
         0},
        {"bs 301: the same power of two", new_bs(301), 0},
        {"bs 600: the next power of two", new_bs(600), 1},
        {"bs 20: unrolled", new_bs(20), 1},
        {"bs 21", new_bs(21), 1},
        {"seq_lens int64", [](Spec& t) { t.seq_type = IndexType::Int64; }, 1},
        {"req_pool_indices int32", [](Spec& t) { t.pool_type = IndexType::Int32; }, 1},
        {"real_page_size 64", [](Spec& t) { t.page_size = 64; }, 1},
        {"real_page_size 3: the same switch", [](Spec& t) { t.page_size = 3; }, 0},
        {"index_kpool 4", [](Spec& t) { t.kpool = 4; }, 1},
        {"index_kpool 8: the same switch", [](Spec& t) { t.kpool = 8; }, 0},
        {"paged_mqa_ctx_lens_2d", [verify](Spec& t) { t.ctx_lens_2d = verify; }, verify ? 1u : 0u},
        // The switches a draft extend has alone load nothing in the other modes, whose kernels ignore them.
        {"extend_seq_lens int64", [](Spec& t) { t.ext_type = IndexType::Int64; }, extend ? 1u : 0u},
        {"static_extend_len",
         [extend](Spec& t) {
           t.static_extend = extend;
           make_static(t);
           fit_capacity(t);
         },
         extend ? 1u : 0u},
        {"page_table_1 left out (real_page_size 3 here)", [](Spec& t) { t.no_page_table_1 = true; }, 1},
        {"strides of seq_lens and req_pool_indices 0",
         [](Spec& t) {
           t.seq_stride = t.pool_stride = 0;
           std::fill(t.seq.begin(), t.seq.end(), t.seq[0]);
           std::fill(t.pool.begin(), t.pool.end(), t.pool[0]);
         },
         0},
    };
    for (const Step& step : steps) {
      CAPTURE(step.what);
      step.edit(s);
      const std::string call = describe(s);
      CAPTURE(call);
      DsaProblem p(s);
      reset_stats();
      CHECK(check_call(p, stream, tuning) == kDsaOk);
      expect_kernels(draftjit::stats(), step.kernels);
    }

    // A bucket not loaded yet: prepare_dsa loads it, and then capturing the call does no JIT work.
    s.token_cols = s.bound = 128;
    s.seq_stride = s.pool_stride = 1;
    new_bs(2000)(s);
    CAPTURE(s.bs());
    reset_stats();
    prepare_dsa(mode, s.bs(), switches(s), tuning);
    expect_kernels(draftjit::stats(), 1);
    DsaProblem p(s);
    reset_stats();
    Graph graph(p, stream, tuning);
    expect_kernels(draftjit::stats(), 0);
    graph.replay(stream);
    CHECK(p.run_reference() == kDsaOk);
    expect_agree(p);
  }
}
