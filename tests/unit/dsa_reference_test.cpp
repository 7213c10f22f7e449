// The DSA step's CPU reference (tests/reference/dsa_reference), on examples small enough to compute by hand from
// upstream SGLang's definitions (see the reference's header): the GPU kernels will be judged against it, so it is
// itself judged against arithmetic. Most examples have tables of 6 columns, inside the first live block of 128
// columns, so every row with a KV length > 0 is written up to the bound; the live-prefix cases use wider tables.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <span>
#include <stdexcept>
#include <vector>

#include "reference/dsa_reference.hpp"

using namespace draftjit::reference;

namespace {

using I32 = std::vector<std::int32_t>;
using I64 = std::vector<std::int64_t>;

constexpr std::int32_t kPoison = -99;  // no output of these examples is negative, so poison means "not written"
constexpr std::int32_t P = kPoison;    // short, for expected rows
constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();

Ints ints(const I32& v) { return std::span<const std::int32_t>(v); }
Ints ints(const I64& v) { return std::span<const std::int64_t>(v); }

// A poisoned int32 matrix behind a Table; strides larger than dense leave gaps that nothing may write.
struct Matrix {
  Matrix(std::int64_t rows_, std::int64_t cols_, std::int64_t row_stride_ = 0, std::int64_t col_stride_ = 1)
      : rows(rows_),
        cols(cols_),
        row_stride(row_stride_ > 0 ? row_stride_ : cols_ * col_stride_),
        col_stride(col_stride_),
        data(static_cast<std::size_t>(rows * row_stride + cols * col_stride), kPoison) {}
  std::int64_t rows, cols, row_stride, col_stride;
  std::vector<std::int32_t> data;

  Table view() { return {data.data(), rows, cols, row_stride, col_stride}; }
  ConstTable const_view() const { return {data.data(), rows, cols, row_stride, col_stride}; }
  std::int32_t& at(std::int64_t r, std::int64_t c) { return view().at(r, c); }
  I32 row(std::int64_t r) const {
    I32 out;
    for (std::int64_t c = 0; c < cols; ++c) out.push_back(const_view().at(r, c));
    return out;
  }
  bool all_poisoned() const {
    return std::all_of(data.begin(), data.end(), [](std::int32_t v) { return v == kPoison; });
  }
  // True when every element that no (row, col) of the view addresses is still poison.
  bool gaps_poisoned() const {
    std::vector<bool> addressed(data.size(), false);
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t c = 0; c < cols; ++c) {
        addressed[static_cast<std::size_t>(r * row_stride + c * col_stride)] = true;
      }
    }
    for (std::size_t i = 0; i < data.size(); ++i) {
      if (!addressed[i] && data[i] != kPoison) return false;
    }
    return true;
  }
};

// req_to_token, 4 x 6: token 10 * (r + 1) + c + 1, odd at even columns, so that real pages (token / 2) show the
// division truncating.
Matrix tokens(std::int64_t row_stride = 0, std::int64_t col_stride = 1) {
  Matrix m(4, 6, row_stride, col_stride);
  for (std::int64_t r = 0; r < 4; ++r) {
    for (std::int64_t c = 0; c < 6; ++c) m.at(r, c) = static_cast<std::int32_t>(10 * (r + 1) + c + 1);
  }
  return m;
}

// Poisoned outputs for bs requests and `rows` output rows; the tables have 6 columns.
struct Outputs {
  Outputs(std::int64_t bs, std::int64_t rows, std::int64_t row_stride = 0, std::int64_t col_stride = 1)
      : cache(static_cast<std::size_t>(bs), kPoison),
        cu(static_cast<std::size_t>(bs + 1), kPoison),
        dsa(static_cast<std::size_t>(rows), kPoison),
        dsa_cu(static_cast<std::size_t>(rows + 1), kPoison),
        expanded(static_cast<std::size_t>(rows), kPoison),
        page(rows, 6, row_stride, col_stride),
        real(rows, 6, row_stride, col_stride) {}
  I32 cache, cu, dsa, dsa_cu, expanded;
  Matrix page, real;

  bool untouched() const {
    for (const I32* v : {&cache, &cu, &dsa, &dsa_cu, &expanded}) {
      if (std::any_of(v->begin(), v->end(), [](std::int32_t x) { return x != kPoison; })) return false;
    }
    return page.all_poisoned() && real.all_poisoned();
  }
};

DsaCommon common(const Matrix& req_to_token, Ints seq, Ints pool, std::int64_t topk, std::int64_t page_size,
                 Outputs& out) {
  DsaCommon c;
  c.seq_lens = seq;
  c.req_pool_indices = pool;
  c.req_to_token = req_to_token.const_view();
  c.topk = topk;
  c.page_size = page_size;
  c.cache_seqlens = out.cache;
  c.cu_seqlens_k = out.cu;
  c.dsa_cache_seqlens = out.dsa;
  c.dsa_cu_seqlens_k = out.dsa_cu;
  c.page_table_1 = out.page.view();
  c.real_page_table = out.real.view();
  return c;
}

// The draft-extend example of the test below: seq_lens [5, 2, 7], extend [2, 0, 3], pools [2, 0, 3].
std::int32_t draft_extend_example(Ints seq, Ints ext, Ints pool, Outputs& out, const Matrix& req_to_token) {
  return dsa_draft_extend({.common = common(req_to_token, seq, pool, 6, 2, out),
                           .extend_seq_lens = ext,
                           .total_len = 5,
                           .max_seqlen_k = 3,
                           .seqlens_expanded = out.expanded});
}

// req_to_token for tables wider than a live block: token 1000 * (r + 1) + c.
Matrix wide_tokens(std::int64_t rows, std::int64_t cols) {
  Matrix m(rows, cols);
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t c = 0; c < cols; ++c) m.at(r, c) = static_cast<std::int32_t>(1000 * (r + 1) + c);
  }
  return m;
}

// Page-table row `row` holds req_to_token's row pool_row over its first `live` columns and poison after; with
// P > 1 the real row holds token / P of every P-th of those columns and poison after.
void check_live_row(const Outputs& out, const Matrix& tok, std::int64_t page_size, std::size_t output_row,
                    std::int64_t pool_row, std::int64_t live) {
  const auto row = static_cast<std::int64_t>(output_row);
  CAPTURE(row);
  CAPTURE(live);
  I32 page(static_cast<std::size_t>(out.page.cols), P);
  I32 real(static_cast<std::size_t>(out.real.cols), P);
  for (std::int64_t c = 0; c < live; ++c) {
    const std::int32_t token = tok.const_view().at(pool_row, c);
    page[static_cast<std::size_t>(c)] = token;
    if (page_size > 1 && c % page_size == 0) {
      real[static_cast<std::size_t>(c / page_size)] = token / static_cast<std::int32_t>(page_size);
    }
  }
  CHECK(out.page.row(row) == page);
  CHECK(out.real.row(row) == real);
}

// Outputs whose tables are `cols` columns wide (real_page_table ceil(cols / P)) instead of 6.
Outputs wide_outputs(std::int64_t bs, std::int64_t rows, std::int64_t cols, std::int64_t page_size) {
  Outputs out(bs, rows);
  out.page = Matrix(rows, cols);
  out.real = Matrix(rows, (cols + page_size - 1) / page_size);
  return out;
}

}  // namespace

TEST_CASE("dsa reference: decode by hand, P = 1 and P = 2") {
  const Matrix tok = tokens();
  const I64 seq{5, 2, 7};
  const I64 pool{2, 0, 3};
  for (std::int64_t page_size : {1, 2}) {
    CAPTURE(page_size);
    Outputs out(3, 3);
    REQUIRE(dsa_decode({.common = common(tok, ints(seq), ints(pool), 4, page_size, out), .max_len = 3}) == kDsaOk);
    CHECK(out.cache == I32{5, 2, 7});
    CHECK(out.cu == I32{0, 5, 7, 14});
    CHECK(out.dsa == I32{4, 2, 4});  // topk 4 cuts the first and the last
    CHECK(out.dsa_cu == I32{0, 4, 6, 10});
    // Columns from max_len on keep their poison.
    CHECK(out.page.row(0) == I32{31, 32, 33, P, P, P});
    CHECK(out.page.row(1) == I32{11, 12, 13, P, P, P});
    CHECK(out.page.row(2) == I32{41, 42, 43, P, P, P});
    if (page_size == 1) {
      CHECK(out.real.all_poisoned());  // P = 1 has no real page table
    } else {
      // Columns 0 and 2 of each page_table_1 row, halved: 31 / 2 = 15, 33 / 2 = 16.
      CHECK(out.real.row(0) == I32{15, 16, P, P, P, P});
      CHECK(out.real.row(1) == I32{5, 6, P, P, P, P});
      CHECK(out.real.row(2) == I32{20, 21, P, P, P, P});
    }
  }
}

TEST_CASE("dsa reference: target verify by hand") {
  const Matrix tok = tokens();
  const I64 seq{5, 2, 7};
  const I64 pool{2, 0, 3};
  Outputs out(3, 6);
  Matrix ctx(3, 3);  // one column more than next_n, which must keep its poison
  REQUIRE(dsa_target_verify({.common = common(tok, ints(seq), ints(pool), 6, 2, out),
                             .next_n = 2,
                             .max_seqlen_k = 5,
                             .seqlens_expanded = out.expanded,
                             .paged_mqa_ctx_lens_2d = ctx.view()}) == kDsaOk);
  CHECK(out.cache == I32{7, 4, 9});  // seq_lens + next_n
  CHECK(out.cu == I32{0, 7, 11, 20});
  CHECK(out.expanded == I32{6, 7, 3, 4, 8, 9});  // seq_lens[b] + d + 1, d < 2
  CHECK(out.dsa == I32{6, 6, 3, 4, 6, 6});
  CHECK(out.dsa_cu == I32{0, 6, 12, 15, 19, 25, 31});
  for (std::int64_t r : {0, 1}) CHECK(out.page.row(r) == I32{31, 32, 33, 34, 35, P});
  for (std::int64_t r : {2, 3}) CHECK(out.page.row(r) == I32{11, 12, 13, 14, 15, P});
  for (std::int64_t r : {4, 5}) CHECK(out.page.row(r) == I32{41, 42, 43, 44, 45, P});
  // max_seqlen_k 5 with P = 2 takes columns 0, 2, 4.
  for (std::int64_t r : {0, 1}) CHECK(out.real.row(r) == I32{15, 16, 17, P, P, P});
  for (std::int64_t r : {2, 3}) CHECK(out.real.row(r) == I32{5, 6, 7, P, P, P});
  for (std::int64_t r : {4, 5}) CHECK(out.real.row(r) == I32{20, 21, 22, P, P, P});
  CHECK(ctx.row(0) == I32{7, 7, P});
  CHECK(ctx.row(1) == I32{4, 4, P});
  CHECK(ctx.row(2) == I32{9, 9, P});

  // Left out, paged_mqa_ctx_lens_2d changes nothing else.
  Outputs again(3, 6);
  REQUIRE(dsa_target_verify({.common = common(tok, ints(seq), ints(pool), 6, 2, again),
                             .next_n = 2,
                             .max_seqlen_k = 5,
                             .seqlens_expanded = again.expanded}) == kDsaOk);
  CHECK(again.dsa_cu == out.dsa_cu);
  CHECK(again.real.data == out.real.data);
}

TEST_CASE("dsa reference: draft extend by hand") {
  const I64 seq{5, 2, 7};
  const I64 ext{2, 0, 3};
  const I64 pool{2, 0, 3};
  Outputs out(3, 6);  // one row more than total_len, which must keep its poison
  REQUIRE(draft_extend_example(ints(seq), ints(ext), ints(pool), out, tokens()) == kDsaOk);
  CHECK(out.cache == I32{5, 2, 7});
  CHECK(out.cu == I32{0, 5, 7, 14});
  // Request 0: 5 - 2 + 1 + local; request 1 has no tokens; request 2: 7 - 3 + 1 + local.
  CHECK(out.expanded == I32{4, 5, 5, 6, 7, P});
  CHECK(out.dsa == I32{4, 5, 5, 6, 6, P});  // topk 6
  CHECK(out.dsa_cu == I32{0, 4, 9, 14, 20, 26, P});
  for (std::int64_t r : {0, 1}) CHECK(out.page.row(r) == I32{31, 32, 33, P, P, P});
  for (std::int64_t r : {2, 3, 4}) CHECK(out.page.row(r) == I32{41, 42, 43, P, P, P});
  for (std::int64_t r : {0, 1}) CHECK(out.real.row(r) == I32{15, 16, P, P, P, P});
  for (std::int64_t r : {2, 3, 4}) CHECK(out.real.row(r) == I32{20, 21, P, P, P, P});
  CHECK(out.page.row(5) == I32(6, P));
  CHECK(out.real.row(5) == I32(6, P));
}

TEST_CASE("dsa reference: strided req_to_token and output tables") {
  // Row strides past the columns and column stride 2: the gather must follow both, and touch no gap.
  const Matrix tok = tokens(15, 2);
  const I64 seq{5, 2, 7};
  const I64 ext{2, 0, 3};
  const I64 pool{2, 0, 3};
  Outputs dense(3, 6);
  Outputs strided(3, 6, 17, 2);
  REQUIRE(draft_extend_example(ints(seq), ints(ext), ints(pool), dense, tokens()) == kDsaOk);
  REQUIRE(draft_extend_example(ints(seq), ints(ext), ints(pool), strided, tok) == kDsaOk);
  for (std::int64_t r = 0; r < 6; ++r) {
    CAPTURE(r);
    CHECK(strided.page.row(r) == dense.page.row(r));
    CHECK(strided.real.row(r) == dense.real.row(r));
  }
  CHECK(strided.page.gaps_poisoned());
  CHECK(strided.real.gaps_poisoned());

  Outputs decoded(3, 3, 17, 2);
  REQUIRE(dsa_decode({.common = common(tok, ints(seq), ints(pool), 4, 2, decoded), .max_len = 3}) == kDsaOk);
  CHECK(decoded.page.row(2) == I32{41, 42, 43, P, P, P});
  CHECK(decoded.real.row(2) == I32{20, 21, P, P, P, P});
  CHECK(decoded.page.gaps_poisoned());
  CHECK(decoded.real.gaps_poisoned());
}

TEST_CASE("dsa reference: int32 and int64 inputs give the same outputs") {
  const Matrix tok = tokens();
  const I64 seq64{5, 2, 7}, ext64{2, 0, 3}, pool64{2, 0, 3};
  const I32 seq32{5, 2, 7}, ext32{2, 0, 3}, pool32{2, 0, 3};
  Outputs wide(3, 6), narrow(3, 6), mixed(3, 6);
  REQUIRE(draft_extend_example(ints(seq64), ints(ext64), ints(pool64), wide, tok) == kDsaOk);
  REQUIRE(draft_extend_example(ints(seq32), ints(ext32), ints(pool32), narrow, tok) == kDsaOk);
  REQUIRE(draft_extend_example(ints(seq32), ints(ext64), ints(pool64), mixed, tok) == kDsaOk);
  for (const Outputs* o : {&narrow, &mixed}) {
    CHECK(o->cache == wide.cache);
    CHECK(o->cu == wide.cu);
    CHECK(o->expanded == wide.expanded);
    CHECK(o->dsa == wide.dsa);
    CHECK(o->dsa_cu == wide.dsa_cu);
    CHECK(o->page.data == wide.page.data);
    CHECK(o->real.data == wide.real.data);
  }

  Outputs decode64(3, 3), decode32(3, 3);
  REQUIRE(dsa_decode({.common = common(tok, ints(seq64), ints(pool64), 4, 2, decode64), .max_len = 3}) == kDsaOk);
  REQUIRE(dsa_decode({.common = common(tok, ints(seq32), ints(pool32), 4, 2, decode32), .max_len = 3}) == kDsaOk);
  CHECK(decode32.dsa_cu == decode64.dsa_cu);
  CHECK(decode32.real.data == decode64.real.data);
}

TEST_CASE("dsa reference: bs = 0 writes only the two leading zeros") {
  const Matrix tok = tokens();
  const I64 none;
  Outputs decode(0, 2), verify(0, 2), extend(0, 2);
  REQUIRE(dsa_decode({.common = common(tok, ints(none), ints(none), 4, 2, decode), .max_len = 3}) == kDsaOk);
  REQUIRE(dsa_target_verify({.common = common(tok, ints(none), ints(none), 4, 2, verify),
                             .next_n = 2,
                             .max_seqlen_k = 3,
                             .seqlens_expanded = verify.expanded}) == kDsaOk);
  REQUIRE(dsa_draft_extend({.common = common(tok, ints(none), ints(none), 4, 2, extend),
                            .extend_seq_lens = ints(none),
                            .total_len = 0,
                            .max_seqlen_k = 3,
                            .seqlens_expanded = extend.expanded}) == kDsaOk);
  for (Outputs* o : {&decode, &verify, &extend}) {
    CHECK(o->cu == I32{0});
    CHECK(o->dsa_cu == I32{0, P, P});
    o->cu = I32{P};
    o->dsa_cu = I32{P, P, P};
    CHECK(o->untouched());  // and nothing else
  }
}

TEST_CASE("dsa reference: draft extend with total_len = 0") {
  const I64 seq{5, 2, 7};
  const I64 ext{0, 0, 0};
  const I64 pool{2, 0, 3};
  Outputs out(3, 2);
  REQUIRE(dsa_draft_extend({.common = common(tokens(), ints(seq), ints(pool), 4, 2, out),
                            .extend_seq_lens = ints(ext),
                            .total_len = 0,
                            .max_seqlen_k = 3,
                            .seqlens_expanded = out.expanded}) == kDsaOk);
  CHECK(out.cache == I32{5, 2, 7});
  CHECK(out.cu == I32{0, 5, 7, 14});
  CHECK(out.dsa_cu == I32{0, P, P});
  CHECK(out.dsa == I32{P, P});
  CHECK(out.expanded == I32{P, P});
  CHECK(out.page.all_poisoned());
  CHECK(out.real.all_poisoned());
}

TEST_CASE("dsa reference: zero-length extends inside a batch") {
  // Empty requests first, between and last: the offsets must skip them without shifting any row.
  const I64 seq{3, 4, 9, 6, 1};
  const I64 ext{0, 2, 0, 1, 0};
  const I64 pool{0, 1, 2, 3, 0};
  Outputs out(5, 3);
  REQUIRE(dsa_draft_extend({.common = common(tokens(), ints(seq), ints(pool), 100, 1, out),
                            .extend_seq_lens = ints(ext),
                            .total_len = 3,
                            .max_seqlen_k = 2,
                            .seqlens_expanded = out.expanded}) == kDsaOk);
  CHECK(out.cu == I32{0, 3, 7, 16, 22, 23});
  CHECK(out.expanded == I32{3, 4, 6});
  CHECK(out.dsa == I32{3, 4, 6});
  CHECK(out.dsa_cu == I32{0, 3, 7, 13});
  CHECK(out.page.row(0) == I32{21, 22, P, P, P, P});
  CHECK(out.page.row(1) == I32{21, 22, P, P, P, P});
  CHECK(out.page.row(2) == I32{41, 42, P, P, P, P});
}

TEST_CASE("dsa reference: padded rows clamp seqlens_expanded at 0") {
  // seq_len 1 below extend 3, as on padded graph rows: 1 - 3 + 1 + local is -1, 0, 1 before the clamp.
  const I64 seq{1, 4};
  const I64 ext{3, 2};
  const I64 pool{0, 1};
  Outputs out(2, 5);
  REQUIRE(dsa_draft_extend({.common = common(tokens(), ints(seq), ints(pool), 100, 1, out),
                            .extend_seq_lens = ints(ext),
                            .total_len = 5,
                            .max_seqlen_k = 1,
                            .seqlens_expanded = out.expanded}) == kDsaOk);
  CHECK(out.expanded == I32{0, 0, 1, 3, 4});
  CHECK(out.dsa == I32{0, 0, 1, 3, 4});
  CHECK(out.dsa_cu == I32{0, 0, 0, 1, 4, 8});
}

TEST_CASE("dsa reference: index_kpool, in every mode") {
  // k = 4, topk 8: dsa = min(floor(e / 4) * 4, 8) + e % 4, so the tail past whole pools survives the min.
  const Matrix tok = tokens();
  const I64 seq{3, 9, 13, 20};
  const I64 pool{0, 1, 2, 3};
  for (std::int64_t kpool : {1, 4}) {
    CAPTURE(kpool);
    Outputs out(4, 4);
    DsaCommon c = common(tok, ints(seq), ints(pool), 8, 1, out);
    c.index_kpool = kpool;
    REQUIRE(dsa_decode({.common = c, .max_len = 1}) == kDsaOk);
    CHECK(out.dsa == (kpool == 4 ? I32{3, 9, 9, 8} : I32{3, 8, 8, 8}));  // 1 is plain min(e, topk)
  }

  const I64 one_seq{10};
  const I64 one_pool{0};
  Outputs verify(1, 2);
  DsaCommon c = common(tok, ints(one_seq), ints(one_pool), 8, 1, verify);
  c.index_kpool = 4;
  REQUIRE(dsa_target_verify({.common = c, .next_n = 2, .max_seqlen_k = 1, .seqlens_expanded = verify.expanded}) ==
          kDsaOk);
  CHECK(verify.expanded == I32{11, 12});
  CHECK(verify.dsa == I32{11, 8});  // 8 + 3, then 8 + 0
  CHECK(verify.dsa_cu == I32{0, 11, 19});

  const I64 ext{2};
  const I64 thirteen{13};
  Outputs extend(1, 2);
  c = common(tok, ints(thirteen), ints(one_pool), 8, 1, extend);
  c.index_kpool = 4;
  REQUIRE(dsa_draft_extend({.common = c,
                            .extend_seq_lens = ints(ext),
                            .total_len = 2,
                            .max_seqlen_k = 1,
                            .seqlens_expanded = extend.expanded}) == kDsaOk);
  CHECK(extend.expanded == I32{12, 13});
  CHECK(extend.dsa == I32{8, 9});
}

TEST_CASE("dsa reference: a negative extend length is reported and nothing is written") {
  const I64 seq{5, 5, 5};
  const I64 ext{2, -1, 1};  // sums to total_len, so only the sign is wrong
  const I64 pool{0, 1, 2};
  Outputs out(3, 4);
  CHECK(dsa_draft_extend({.common = common(tokens(), ints(seq), ints(pool), 4, 2, out),
                          .extend_seq_lens = ints(ext),
                          .total_len = 2,
                          .max_seqlen_k = 3,
                          .seqlens_expanded = out.expanded}) == kDsaNegativeExtendLen);
  CHECK(out.untouched());
}

TEST_CASE("dsa reference: with a negative extend length the sum is not judged") {
  const std::int64_t half = std::int64_t{1} << 30;
  const I64 seq{5, 5, 5};
  const I64 ext{half, half, -1};  // the prefix passes INT32_MAX and misses total_len, but a sign is wrong first
  Outputs out(3, 4);
  CHECK(dsa_draft_extend({.common = common(tokens(), ints(seq), ints(I64{0, 1, 2}), 4, 2, out),
                          .extend_seq_lens = ints(ext),
                          .total_len = 2,
                          .max_seqlen_k = 3,
                          .seqlens_expanded = out.expanded}) == kDsaNegativeExtendLen);
  CHECK(out.untouched());
}

TEST_CASE("dsa reference: a negative seq_len is reported by every mode, before anything else") {
  const Matrix tok = tokens();
  const I64 seq{5, -1, 5};
  const I64 ext{1, -1, 1};        // stage 2 would report this
  const I64 pool{0, 9, 1};        // and stage 3 this
  Outputs decode(3, 3), verify(3, 6), extend(3, 3);
  CHECK(dsa_decode({.common = common(tok, ints(seq), ints(pool), 4, 2, decode), .max_len = 3}) == kDsaNegativeSeqLen);
  CHECK(dsa_target_verify({.common = common(tok, ints(seq), ints(pool), 4, 2, verify),
                           .next_n = 2,
                           .max_seqlen_k = 3,
                           .seqlens_expanded = verify.expanded}) == kDsaNegativeSeqLen);
  CHECK(dsa_draft_extend({.common = common(tok, ints(seq), ints(pool), 4, 2, extend),
                          .extend_seq_lens = ints(ext),
                          .total_len = 1,
                          .max_seqlen_k = 3,
                          .seqlens_expanded = extend.expanded}) == kDsaNegativeSeqLen);
  // An int64 length below INT32_MIN is both.
  const I64 far{std::int64_t{-1} << 40};
  Outputs one(1, 1);
  CHECK(dsa_decode({.common = common(tok, ints(far), ints(I64{0}), 4, 2, one), .max_len = 3}) ==
        (kDsaNegativeSeqLen | kDsaInt32Overflow));
  CHECK(decode.untouched());
  CHECK(verify.untouched());
  CHECK(extend.untouched());
  CHECK(one.untouched());
}

TEST_CASE("dsa reference: a pool index outside req_to_token is reported by every mode") {
  const Matrix tok = tokens();  // 4 rows
  const I64 seq{5, 5, 5};
  const I64 ext{1, 1, 1};
  for (const I64& pool : {I64{0, 4, 1}, I64{0, -1, 1}}) {
    CAPTURE(pool[1]);
    Outputs decode(3, 3), verify(3, 6), extend(3, 3);
    CHECK(dsa_decode({.common = common(tok, ints(seq), ints(pool), 4, 2, decode), .max_len = 3}) ==
          kDsaPoolIndexOutOfRange);
    CHECK(dsa_target_verify({.common = common(tok, ints(seq), ints(pool), 4, 2, verify),
                             .next_n = 2,
                             .max_seqlen_k = 3,
                             .seqlens_expanded = verify.expanded}) == kDsaPoolIndexOutOfRange);
    CHECK(dsa_draft_extend({.common = common(tok, ints(seq), ints(pool), 4, 2, extend),
                            .extend_seq_lens = ints(ext),
                            .total_len = 3,
                            .max_seqlen_k = 3,
                            .seqlens_expanded = extend.expanded}) == kDsaPoolIndexOutOfRange);
    CHECK(decode.untouched());
    CHECK(verify.untouched());
    CHECK(extend.untouched());
  }
}

TEST_CASE("dsa reference: int32 overflow of an input, a length or a prefix is reported") {
  const Matrix tok = tokens();
  const std::int64_t half = std::int64_t{1} << 30;
  const I64 pool{0, 1, 2};

  SUBCASE("an int64 seq_len past int32") {
    const I64 seq{std::int64_t{1} << 40, 1, 1};
    Outputs out(3, 3);
    CHECK(dsa_decode({.common = common(tok, ints(seq), ints(pool), 4, 2, out), .max_len = 3}) == kDsaInt32Overflow);
    CHECK(out.untouched());
  }
  SUBCASE("int64 extremes, whose sums would overflow int64 itself (UBSan sees it if the input check goes)") {
    const I64 seq{std::numeric_limits<std::int64_t>::max(), 1, 1};
    Outputs decode(3, 3), verify(3, 3);
    CHECK(dsa_decode({.common = common(tok, ints(seq), ints(pool), 4, 2, decode), .max_len = 3}) ==
          kDsaInt32Overflow);
    CHECK(dsa_target_verify({.common = common(tok, ints(seq), ints(pool), 4, 2, verify),
                             .next_n = 1,
                             .max_seqlen_k = 3,
                             .seqlens_expanded = verify.expanded}) == kDsaInt32Overflow);
    CHECK(decode.untouched());
    CHECK(verify.untouched());
  }
  SUBCASE("cu_seqlens_k: 2^30 + 2^30") {
    const I64 seq{half, half, 0};
    Outputs out(3, 3);
    CHECK(dsa_decode({.common = common(tok, ints(seq), ints(pool), 4, 2, out), .max_len = 3}) == kDsaInt32Overflow);
    CHECK(out.untouched());
  }
  SUBCASE("cache_seqlens: INT32_MAX + next_n") {
    const I64 seq{kInt32Max};
    Outputs out(1, 1);
    CHECK(dsa_target_verify({.common = common(tok, ints(seq), ints(I64{0}), 4, 2, out),
                             .next_n = 1,
                             .max_seqlen_k = 3,
                             .seqlens_expanded = out.expanded}) == kDsaInt32Overflow);
    CHECK(out.untouched());
  }
  SUBCASE("dsa_cu_seqlens_k alone: three rows of about 2^30 under a large topk") {
    const I64 seq{half};  // cache_seqlens 2^30 + 3 and its prefix fit
    Outputs out(1, 3);
    CHECK(dsa_target_verify({.common = common(tok, ints(seq), ints(I64{0}), kInt32Max, 2, out),
                             .next_n = 3,
                             .max_seqlen_k = 0,
                             .seqlens_expanded = out.expanded}) == kDsaInt32Overflow);
    CHECK(out.untouched());
  }
  SUBCASE("the extend offsets: 2^30 + 2^30 tokens, more than the outputs hold too") {
    const I64 seq{half, half};
    Outputs out(2, 4);
    CHECK(dsa_draft_extend({.common = common(tok, ints(seq), ints(I64{0, 1}), 4, 2, out),
                            .extend_seq_lens = ints(seq),
                            .total_len = 2 * half,
                            .max_seqlen_k = 3,
                            .seqlens_expanded = out.expanded}) == (kDsaInt32Overflow | kDsaCapacityExceeded));
    CHECK(out.untouched());
  }
}

TEST_CASE("dsa reference: draft extend reports total_len past capacity or off the sum") {
  const I64 seq{5, 2, 7};
  const I64 ext{2, 0, 3};  // sum 5
  const I64 pool{2, 0, 3};
  const auto run = [&](Outputs& out, std::int64_t total_len) {
    return dsa_draft_extend({.common = common(tokens(), ints(seq), ints(pool), 6, 2, out),
                             .extend_seq_lens = ints(ext),
                             .total_len = total_len,
                             .max_seqlen_k = 3,
                             .seqlens_expanded = out.expanded});
  };
  Outputs small(3, 4);
  CHECK(run(small, 5) == kDsaCapacityExceeded);
  CHECK(small.untouched());

  // Only the real page table is short: it counts towards the capacity too.
  Outputs short_real(3, 6);
  short_real.real = Matrix(4, 6);
  CHECK(run(short_real, 5) == kDsaCapacityExceeded);
  CHECK(short_real.untouched());

  for (std::int64_t total_len : {4, 6}) {
    CAPTURE(total_len);
    Outputs out(3, 8);
    CHECK(run(out, total_len) == kDsaTotalMismatch);
    CHECK(out.untouched());
  }
}

TEST_CASE("dsa reference: bad arguments throw and write nothing") {
  const Matrix tok = tokens();  // 6 columns
  const I64 seq{5, 2, 7};
  const I64 pool{2, 0, 3};
  Outputs out(3, 3);
  const auto decode = [&](std::int64_t max_len, std::int64_t page_size) {
    return dsa_decode({.common = common(tok, ints(seq), ints(pool), 4, page_size, out), .max_len = max_len});
  };
  CHECK_THROWS_AS(decode(7, 1), std::invalid_argument);   // past req_to_token's columns
  CHECK_THROWS_AS(decode(-1, 1), std::invalid_argument);
  CHECK_THROWS_AS(decode(3, 0), std::invalid_argument);   // P < 1
  CHECK_THROWS_AS(dsa_decode({.common = common(tok, ints(seq), ints(I64{2, 0}), 4, 1, out), .max_len = 3}),
                  std::invalid_argument);  // pool indices not bs long
  Outputs two_rows(3, 2);
  CHECK_THROWS_AS(dsa_decode({.common = common(tok, ints(seq), ints(pool), 4, 1, two_rows), .max_len = 3}),
                  std::invalid_argument);
  CHECK_THROWS_AS(dsa_target_verify({.common = common(tok, ints(seq), ints(pool), 4, 1, out),
                                     .next_n = 0,
                                     .max_seqlen_k = 3,
                                     .seqlens_expanded = out.expanded}),
                  std::invalid_argument);
  CHECK_THROWS_AS(dsa_draft_extend({.common = common(tok, ints(seq), ints(pool), 4, 1, out),
                                    .extend_seq_lens = ints(I64{0, 0, 0}),
                                    .total_len = -1,
                                    .max_seqlen_k = 3,
                                    .seqlens_expanded = out.expanded}),
                  std::invalid_argument);
  CHECK(out.untouched());
  CHECK(two_rows.untouched());
}

TEST_CASE("dsa reference: decode writes each page-table row over its live prefix only") {
  // Bound 300 over tables 310 wide: KV lengths 0, 1, 128, 129 and 1000 have live prefixes 0, 128, 128, 256 and 300
  // (whole blocks of 128 columns, clipped to the bound); every column past them keeps its poison.
  const Matrix tok = wide_tokens(3, 310);
  const I64 seq{0, 1, 128, 129, 1000};
  const I64 pool{2, 0, 1, 2, 0};
  for (std::int64_t page_size : {1, 3}) {
    CAPTURE(page_size);
    Outputs out = wide_outputs(5, 5, 310, page_size);
    REQUIRE(dsa_decode({.common = common(tok, ints(seq), ints(pool), 50, page_size, out), .max_len = 300}) ==
            kDsaOk);
    CHECK(out.cache == I32{0, 1, 128, 129, 1000});
    const I64 live{0, 128, 128, 256, 300};
    for (std::size_t r = 0; r < 5; ++r) check_live_row(out, tok, page_size, r, pool[r], live[r]);
    if (page_size == 1) CHECK(out.real.all_poisoned());
  }
  // A live prefix past the bound is the bound: 129 under bound 200 is 200, not 256.
  Outputs clipped = wide_outputs(1, 1, 310, 1);
  REQUIRE(dsa_decode({.common = common(tok, ints(I64{129}), ints(I64{1}), 50, 1, clipped), .max_len = 200}) ==
          kDsaOk);
  check_live_row(clipped, tok, 1, 0, 1, 200);
}

TEST_CASE("dsa reference: target verify rows take their request's seq_len + next_n as the KV length") {
  // seq_lens 127, 0, 299 with next_n 2: KV lengths 129, 2, 301, so live prefixes 256, 128 and 300 (the bound), the
  // same for both rows of a request.
  const Matrix tok = wide_tokens(3, 310);
  const I64 seq{127, 0, 299};
  const I64 pool{1, 2, 0};
  Outputs out = wide_outputs(3, 6, 310, 64);
  REQUIRE(dsa_target_verify({.common = common(tok, ints(seq), ints(pool), 50, 64, out),
                             .next_n = 2,
                             .max_seqlen_k = 300,
                             .seqlens_expanded = out.expanded}) == kDsaOk);
  CHECK(out.cache == I32{129, 2, 301});
  CHECK(out.expanded == I32{128, 129, 1, 2, 300, 301});
  const I64 live{256, 128, 300};
  for (std::size_t r = 0; r < 6; ++r) check_live_row(out, tok, 64, r, pool[r / 2], live[r / 2]);
}

TEST_CASE("dsa reference: draft extend rows take their request's seq_len as the KV length, not their own") {
  // seq_lens 0, 1, 200 with extends 2, 3, 1: request 0's rows have no live columns, request 1's padded rows (seq_len
  // 1 below extend 3, expanded lengths clamped to 0, 0, 1) have 128, request 2's row 256.
  const Matrix tok = wide_tokens(3, 310);
  const I64 seq{0, 1, 200};
  const I64 ext{2, 3, 1};
  const I64 pool{2, 0, 1};
  Outputs out = wide_outputs(3, 7, 310, 3);
  REQUIRE(dsa_draft_extend({.common = common(tok, ints(seq), ints(pool), 50, 3, out),
                            .extend_seq_lens = ints(ext),
                            .total_len = 6,
                            .max_seqlen_k = 300,
                            .seqlens_expanded = out.expanded}) == kDsaOk);
  CHECK(out.expanded == I32{0, 0, 0, 0, 1, 200, P});
  const std::vector<std::size_t> owner{0, 0, 1, 1, 1, 2};
  const I64 live{0, 128, 256};
  for (std::size_t r = 0; r < 6; ++r) check_live_row(out, tok, 3, r, pool[owner[r]], live[owner[r]]);
  CHECK(out.page.row(6) == I32(310, P));
}

TEST_CASE("dsa reference: page_table_1 left out writes only real_page_table, and needs P > 1") {
  const Matrix tok = wide_tokens(3, 310);
  const I64 seq{1, 129, 1000};
  const I64 pool{0, 1, 2};
  Outputs with = wide_outputs(3, 3, 300, 64);
  Outputs without = wide_outputs(3, 3, 300, 64);
  DsaCommon c = common(tok, ints(seq), ints(pool), 50, 64, without);
  c.page_table_1 = {};
  REQUIRE(dsa_decode({.common = common(tok, ints(seq), ints(pool), 50, 64, with), .max_len = 300}) == kDsaOk);
  REQUIRE(dsa_decode({.common = c, .max_len = 300}) == kDsaOk);
  CHECK(without.page.all_poisoned());
  CHECK(without.real.data == with.real.data);
  CHECK(without.dsa_cu == with.dsa_cu);
  // Live prefixes 128, 256, 300: real columns 0-1, 0-3, 0-4 (columns 0, 64, ..., 256 of page_table_1).
  CHECK(without.real.row(0) == I32{15, 16, P, P, P});  // 1000 / 64, 1064 / 64
  CHECK(without.real.row(1) == I32{31, 32, 33, 34, P});
  CHECK(without.real.row(2) == I32{46, 47, 48, 49, 50});

  // Draft extend: the absent table's rows no longer count towards the capacity.
  const I64 ext{1, 2, 1};
  Outputs extend = wide_outputs(3, 4, 300, 64);
  c = common(tok, ints(seq), ints(pool), 50, 64, extend);
  c.page_table_1 = {};
  REQUIRE(dsa_draft_extend({.common = c,
                            .extend_seq_lens = ints(ext),
                            .total_len = 4,
                            .max_seqlen_k = 300,
                            .seqlens_expanded = extend.expanded}) == kDsaOk);
  CHECK(extend.real.row(3) == I32{46, 47, 48, 49, 50});
  Outputs short_page = wide_outputs(3, 4, 300, 64);
  short_page.page = Matrix(3, 300);  // given, its 3 rows do count
  CHECK(dsa_draft_extend({.common = common(tok, ints(seq), ints(pool), 50, 64, short_page),
                          .extend_seq_lens = ints(ext),
                          .total_len = 4,
                          .max_seqlen_k = 300,
                          .seqlens_expanded = short_page.expanded}) == kDsaCapacityExceeded);
  CHECK(short_page.untouched());

  // With P = 1 page_table_1 is the only table, so leaving it out is an argument error where a row has columns.
  Outputs unpaged = wide_outputs(3, 3, 300, 1);
  c = common(tok, ints(seq), ints(pool), 50, 1, unpaged);
  c.page_table_1 = {};
  CHECK_THROWS_AS(dsa_decode({.common = c, .max_len = 300}), std::invalid_argument);
  CHECK_THROWS_AS(
      dsa_target_verify({.common = c, .next_n = 1, .max_seqlen_k = 300, .seqlens_expanded = unpaged.expanded}),
      std::invalid_argument);
  CHECK_THROWS_AS(dsa_draft_extend({.common = c,
                                    .extend_seq_lens = ints(I64{1, 1, 1}),
                                    .total_len = 3,
                                    .max_seqlen_k = 300,
                                    .seqlens_expanded = unpaged.expanded}),
                  std::invalid_argument);
  CHECK(unpaged.untouched());
  // But not where no row has columns: bound 0, bs 0, a draft extend of no tokens.
  CHECK(dsa_decode({.common = c, .max_len = 0}) == kDsaOk);
  CHECK(unpaged.cu == I32{0, 1, 130, 1130});
  Outputs none = wide_outputs(0, 1, 300, 1);
  DsaCommon empty = common(tok, ints(I64{}), ints(I64{}), 50, 1, none);
  empty.page_table_1 = {};
  CHECK(dsa_decode({.common = empty, .max_len = 300}) == kDsaOk);
  Outputs no_tokens = wide_outputs(3, 1, 300, 1);
  c = common(tok, ints(seq), ints(pool), 50, 1, no_tokens);
  c.page_table_1 = {};
  CHECK(dsa_draft_extend({.common = c,
                          .extend_seq_lens = ints(I64{0, 0, 0}),
                          .total_len = 0,
                          .max_seqlen_k = 300,
                          .seqlens_expanded = no_tokens.expanded}) == kDsaOk);
}

TEST_CASE("dsa reference: static_extend_len kept gives the same outputs, broken sets its bit and writes nothing") {
  const Matrix tok = tokens();
  const I64 seq{5, 6, 7};
  const I64 pool{2, 0, 3};
  const auto run = [&](Outputs& out, const I64& ext, std::int64_t total_len, bool is_static) {
    return dsa_draft_extend({.common = common(tok, ints(seq), ints(pool), 6, 2, out),
                             .extend_seq_lens = ints(ext),
                             .total_len = total_len,
                             .max_seqlen_k = 3,
                             .seqlens_expanded = out.expanded,
                             .static_extend_len = is_static});
  };
  Outputs dynamic(3, 7), fixed(3, 7);
  REQUIRE(run(dynamic, I64{2, 2, 2}, 6, false) == kDsaOk);
  REQUIRE(run(fixed, I64{2, 2, 2}, 6, true) == kDsaOk);
  CHECK(fixed.expanded == I32{4, 5, 5, 6, 6, 7, P});
  CHECK(fixed.cu == dynamic.cu);
  CHECK(fixed.expanded == dynamic.expanded);
  CHECK(fixed.dsa == dynamic.dsa);
  CHECK(fixed.dsa_cu == dynamic.dsa_cu);
  CHECK(fixed.page.data == dynamic.page.data);
  CHECK(fixed.real.data == dynamic.real.data);

  // One length off the first: the same lengths without the promise are good data.
  Outputs good(3, 7);
  CHECK(run(good, I64{2, 1, 2}, 5, false) == kDsaOk);
  struct Broken {
    I64 ext;
    std::int64_t total_len, rows;
    std::int32_t status;
  };
  for (const Broken& b : {Broken{{2, 1, 2}, 5, 7, kDsaExtendNotStatic},
                          Broken{{0, 1, 0}, 1, 7, kDsaExtendNotStatic},          // a first length of 0
                          Broken{{2, -1, 2}, 3, 7, kDsaExtendNotStatic | kDsaNegativeExtendLen},
                          Broken{{2, 3, 2}, 6, 7, kDsaExtendNotStatic | kDsaTotalMismatch},
                          Broken{{2, 1, 2}, 5, 4, kDsaExtendNotStatic | kDsaCapacityExceeded}}) {
    CAPTURE(b.ext[0]);
    CAPTURE(b.ext[1]);
    CAPTURE(b.total_len);
    Outputs out(3, b.rows);
    CHECK(run(out, b.ext, b.total_len, true) == b.status);
    CHECK(out.untouched());
  }
  // Stage 1 still comes first.
  Outputs negative_seq(3, 7);
  CHECK(dsa_draft_extend({.common = common(tok, ints(I64{5, -1, 7}), ints(pool), 6, 2, negative_seq),
                          .extend_seq_lens = ints(I64{2, 1, 2}),
                          .total_len = 5,
                          .max_seqlen_k = 3,
                          .seqlens_expanded = negative_seq.expanded,
                          .static_extend_len = true}) == kDsaNegativeSeqLen);
  CHECK(negative_seq.untouched());
  // No tokens, all equal: kept.
  Outputs none(3, 1);
  CHECK(run(none, I64{0, 0, 0}, 0, true) == kDsaOk);
  CHECK(none.cu == I32{0, 5, 11, 18});
}

TEST_CASE("dsa reference: int64 extend lengths outside int32") {
  const I64 seq{5, 6, 7};
  const I64 pool{0, 1, 2};
  const std::int64_t far = std::int64_t{1} << 40;
  const auto run = [&](Outputs& out, const I64& ext, std::int64_t total_len) {
    return dsa_draft_extend({.common = common(tokens(), ints(seq), ints(pool), 6, 2, out),
                             .extend_seq_lens = ints(ext),
                             .total_len = total_len,
                             .max_seqlen_k = 3,
                             .seqlens_expanded = out.expanded});
  };
  Outputs past(3, 4), below(3, 4);
  // The total as the host would count it: past int32, so past the outputs' rows too.
  CHECK(run(past, I64{far, 1, 1}, far + 2) == (kDsaInt32Overflow | kDsaCapacityExceeded));
  CHECK(run(below, I64{-far, 1, 1}, 2) == kDsaNegativeExtendLen);  // negative first, as a sign is wrong
  CHECK(past.untouched());
  CHECK(below.untouched());
}

TEST_CASE("dsa reference: strided seq_lens, req_pool_indices and extend_seq_lens") {
  const Matrix tok = tokens();
  const I64 seq{5, 2, 7};
  const I64 ext{2, 0, 3};
  const I64 pool{2, 0, 3};
  // The same values with other values between: seq_lens int64 at stride 2, extend_seq_lens int32 at stride 3, pool
  // indices int32 at stride 2.
  const I64 seq_storage{5, -7, 2, -7, 7};
  const I32 ext_storage{2, -9, -9, 0, -9, -9, 3};
  const I32 pool_storage{2, 99, 0, 99, 3, 99};
  Outputs dense(3, 6), strided(3, 6);
  REQUIRE(draft_extend_example(ints(seq), ints(ext), ints(pool), dense, tok) == kDsaOk);
  REQUIRE(draft_extend_example(Ints::strided(std::span<const std::int64_t>(seq_storage), 3, 2),
                               Ints::strided(std::span<const std::int32_t>(ext_storage), 3, 3),
                               Ints::strided(std::span<const std::int32_t>(pool_storage), 3, 2), strided,
                               tok) == kDsaOk);
  CHECK(strided.cache == dense.cache);
  CHECK(strided.cu == dense.cu);
  CHECK(strided.expanded == dense.expanded);
  CHECK(strided.dsa_cu == dense.dsa_cu);
  CHECK(strided.page.data == dense.page.data);
  CHECK(strided.real.data == dense.real.data);

  // Stride 0 repeats the first value: three requests of seq_len 4 in pool row 1.
  const I64 four{4};
  const I32 one{1};
  Outputs repeated(3, 3);
  REQUIRE(dsa_decode({.common = common(tok, Ints::strided(std::span<const std::int64_t>(four), 3, 0),
                                       Ints::strided(std::span<const std::int32_t>(one), 3, 0), 4, 1, repeated),
                      .max_len = 2}) == kDsaOk);
  CHECK(repeated.cu == I32{0, 4, 8, 12});
  for (std::int64_t r = 0; r < 3; ++r) CHECK(repeated.page.row(r) == I32{21, 22, P, P, P, P});

  // A strided view must stay inside its storage.
  CHECK_THROWS_AS(Ints::strided(std::span<const std::int64_t>(seq_storage), 3, 3), std::invalid_argument);
  CHECK_THROWS_AS(Ints::strided(std::span<const std::int64_t>(seq_storage), 3, -1), std::invalid_argument);
  CHECK(Ints::strided(std::span<const std::int64_t>(seq_storage), 0, 9).size() == 0);
}

TEST_CASE("dsa reference: index_kpool < 1 is an argument error where any row is written") {
  const Matrix tok = tokens();
  const I64 seq{5, 2, 7};
  const I64 pool{2, 0, 3};
  const I64 none;
  for (std::int64_t kpool : {0, -1}) {
    CAPTURE(kpool);
    Outputs decode(3, 3), verify(3, 6), extend(3, 6);
    DsaCommon c = common(tok, ints(seq), ints(pool), 4, 2, decode);
    c.index_kpool = kpool;
    CHECK_THROWS_AS(dsa_decode({.common = c, .max_len = 3}), std::invalid_argument);
    c = common(tok, ints(seq), ints(pool), 4, 2, verify);
    c.index_kpool = kpool;
    CHECK_THROWS_AS(
        dsa_target_verify({.common = c, .next_n = 2, .max_seqlen_k = 3, .seqlens_expanded = verify.expanded}),
        std::invalid_argument);
    c = common(tok, ints(seq), ints(pool), 4, 2, extend);
    c.index_kpool = kpool;
    CHECK_THROWS_AS(dsa_draft_extend({.common = c,
                                      .extend_seq_lens = ints(I64{2, 0, 3}),
                                      .total_len = 5,
                                      .max_seqlen_k = 3,
                                      .seqlens_expanded = extend.expanded}),
                    std::invalid_argument);
    CHECK(decode.untouched());
    CHECK(verify.untouched());
    CHECK(extend.untouched());

    // No rows: bs = 0 in every mode, and a draft extend of no tokens.
    Outputs empty(0, 1), no_tokens(3, 1);
    c = common(tok, ints(none), ints(none), 4, 2, empty);
    c.index_kpool = kpool;
    CHECK(dsa_decode({.common = c, .max_len = 3}) == kDsaOk);
    CHECK(dsa_target_verify({.common = c, .next_n = 2, .max_seqlen_k = 3, .seqlens_expanded = empty.expanded}) ==
          kDsaOk);
    c = common(tok, ints(seq), ints(pool), 4, 2, no_tokens);
    c.index_kpool = kpool;
    CHECK(dsa_draft_extend({.common = c,
                            .extend_seq_lens = ints(I64{0, 0, 0}),
                            .total_len = 0,
                            .max_seqlen_k = 3,
                            .seqlens_expanded = no_tokens.expanded}) == kDsaOk);
    CHECK(no_tokens.cu == I32{0, 5, 7, 14});
  }
}
