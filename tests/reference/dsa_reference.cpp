#include "reference/dsa_reference.hpp"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace draftjit::reference {

std::int64_t Ints::size() const {
  return std::visit([](auto values) { return static_cast<std::int64_t>(values.size()); }, values_);
}

std::int64_t Ints::operator[](std::int64_t i) const {
  return std::visit([i](auto values) { return static_cast<std::int64_t>(values[static_cast<std::size_t>(i)]); },
                    values_);
}

namespace {

using Values = std::vector<std::int64_t>;

void require(bool ok, const char* what) {
  if (!ok) throw std::invalid_argument(std::string("dsa reference: ") + what);
}

std::int64_t ssize(std::span<std::int32_t> s) { return static_cast<std::int64_t>(s.size()); }

bool fits_int32(std::int64_t v) {
  return v >= std::numeric_limits<std::int32_t>::min() && v <= std::numeric_limits<std::int32_t>::max();
}

bool all_fit_int32(const Values& values) { return std::all_of(values.begin(), values.end(), fits_int32); }

Values read(const Ints& ints) {
  Values values(static_cast<std::size_t>(ints.size()));
  for (std::int64_t i = 0; i < ints.size(); ++i) values[static_cast<std::size_t>(i)] = ints[i];
  return values;
}

// Lengths are checked against int32 before any arithmetic: that bounds every later sum, so int64 cannot overflow.
std::optional<Values> read_int32(const Ints& ints) {
  Values values = read(ints);
  if (!all_fit_int32(values)) return std::nullopt;
  return values;
}

// [0, v0, v0 + v1, ...]: cu_seqlens_k, dsa_cu_seqlens_k and the extend offsets are all this.
Values prefix(const Values& values) {
  Values sums{0};
  for (std::int64_t v : values) sums.push_back(sums.back() + v);
  return sums;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {  // b > 0; the spec's floor, also for a < 0
  const std::int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

// dsa_cache_seqlens of a row of length e. The spec words the pooled variant (k > 1) for the expanded length; a
// choice made here: it applies wherever dsa_cache_seqlens is computed, in every mode, to the length that mode takes
// the min of (cache_seqlens in decode, seqlens_expanded otherwise). k = 1 would give min(e, topk) anyway.
std::int64_t dsa_length(std::int64_t e, std::int64_t topk, std::int64_t kpool) {
  if (kpool <= 1) return std::min(e, topk);
  const std::int64_t pooled = floor_div(e, kpool) * kpool;
  return std::min(pooled, topk) + (e - pooled);
}

void store(const Values& values, std::span<std::int32_t> out) {
  for (std::size_t i = 0; i < values.size(); ++i) out[i] = static_cast<std::int32_t>(values[i]);
}

// Stage 1 of every mode: seq_lens fit int32 and none is negative.
std::int32_t check_seq_lens(const Values& seq) {
  std::int32_t status = all_fit_int32(seq) ? kDsaOk : kDsaInt32Overflow;
  if (std::any_of(seq.begin(), seq.end(), [](std::int64_t s) { return s < 0; })) status |= kDsaNegativeSeqLen;
  return status;
}

// One page_table_1 row and, when P > 1, its real_page_table row (the page of every P-th token). Token indices are
// >= 0, where C++'s truncating division is the floor division of the spec.
void gather_row(const DsaCommon& c, std::int64_t pool_row, std::int64_t row, std::int64_t bound) {
  for (std::int64_t j = 0; j < bound; ++j) {
    const std::int32_t token = c.req_to_token.at(pool_row, j);
    c.page_table_1.at(row, j) = token;
    if (c.page_size > 1 && j % c.page_size == 0) {
      c.real_page_table.at(row, j / c.page_size) = static_cast<std::int32_t>(token / c.page_size);
    }
  }
}

// The argument checks every mode shares, for page-table rows of `bound` columns.
void check_common_args(const DsaCommon& c, std::int64_t bound) {
  const std::int64_t bs = c.seq_lens.size();
  require(c.req_pool_indices.size() == bs, "req_pool_indices must have bs entries");
  require(c.topk >= 0, "topk must be >= 0");
  require(c.page_size >= 1, "page_size must be >= 1");
  require(c.index_kpool >= 0, "index_kpool must be >= 0");
  require(bound >= 0 && bound <= c.req_to_token.cols, "the column bound must be within req_to_token's columns");
  require(ssize(c.cache_seqlens) >= bs && ssize(c.cu_seqlens_k) >= bs + 1, "cache_seqlens or cu_seqlens_k too small");
  require(c.page_table_1.cols >= bound, "page_table_1 has fewer columns than the bound");
  if (c.page_size > 1) {
    require(c.real_page_table.cols >= (bound + c.page_size - 1) / c.page_size,
            "real_page_table has fewer than ceil(bound / P) columns");
  }
}

// Output rows the shared row outputs all hold; the page tables count only when a row has columns to gather.
std::int64_t rows_held(const DsaCommon& c, std::int64_t bound) {
  std::int64_t rows = std::min(ssize(c.dsa_cache_seqlens), ssize(c.dsa_cu_seqlens_k) - 1);
  if (bound > 0) rows = std::min(rows, c.page_table_1.rows);
  if (bound > 0 && c.page_size > 1) rows = std::min(rows, c.real_page_table.rows);
  return rows;
}

// What every mode writes, before any of it is written.
struct Step {
  Values cache;    // cache_seqlens, per request
  Values lengths;  // per output row: what dsa_cache_seqlens is taken of (also seqlens_expanded, where there is one)
  Values owner;    // per output row: its request
  std::int64_t bound = 0;
};

// The last checks (pool indices, int32 range of lengths and prefixes), then the shared outputs; the mode writes
// its own outputs after, and only on kDsaOk.
std::int32_t finish(const DsaCommon& c, const Step& s) {
  std::int32_t status = kDsaOk;
  const Values pool = read(c.req_pool_indices);
  for (std::int64_t p : pool) {
    if (p < 0 || p >= c.req_to_token.rows) status |= kDsaPoolIndexOutOfRange;
  }
  Values dsa;
  for (std::int64_t e : s.lengths) dsa.push_back(dsa_length(e, c.topk, c.index_kpool));
  const Values cu = prefix(s.cache);
  const Values dsa_cu = prefix(dsa);
  if (!all_fit_int32(s.cache) || !all_fit_int32(s.lengths) || !all_fit_int32(cu) || !all_fit_int32(dsa_cu)) {
    status |= kDsaInt32Overflow;
  }
  if (status != kDsaOk) return status;

  store(s.cache, c.cache_seqlens);
  store(cu, c.cu_seqlens_k);
  store(dsa, c.dsa_cache_seqlens);
  store(dsa_cu, c.dsa_cu_seqlens_k);
  for (std::size_t row = 0; row < s.owner.size(); ++row) {
    gather_row(c, pool[static_cast<std::size_t>(s.owner[row])], static_cast<std::int64_t>(row), s.bound);
  }
  return kDsaOk;
}

}  // namespace

std::int32_t dsa_decode(const DecodeArgs& args) {
  const DsaCommon& c = args.common;
  const std::int64_t bs = c.seq_lens.size();
  check_common_args(c, args.max_len);
  require(rows_held(c, args.max_len) >= bs, "decode outputs hold fewer than bs rows");

  const Values seq = read(c.seq_lens);
  if (const std::int32_t status = check_seq_lens(seq); status != kDsaOk) return status;
  Step s{seq, seq, {}, args.max_len};
  for (std::int64_t b = 0; b < bs; ++b) s.owner.push_back(b);
  return finish(c, s);
}

std::int32_t dsa_target_verify(const TargetVerifyArgs& args) {
  const DsaCommon& c = args.common;
  const std::int64_t bs = c.seq_lens.size();
  const std::int64_t next_n = args.next_n;
  require(next_n >= 1 && next_n <= std::numeric_limits<std::int32_t>::max(), "next_n must be in 1 ..= INT32_MAX");
  check_common_args(c, args.max_seqlen_k);
  const std::int64_t rows = bs * next_n;
  require(rows_held(c, args.max_seqlen_k) >= rows && ssize(args.seqlens_expanded) >= rows,
          "target-verify outputs hold fewer than bs * next_n rows");
  const Table& ctx = args.paged_mqa_ctx_lens_2d;
  require(ctx.data == nullptr || (ctx.rows >= bs && ctx.cols >= next_n),
          "paged_mqa_ctx_lens_2d smaller than bs x next_n");

  const Values seq = read(c.seq_lens);
  if (const std::int32_t status = check_seq_lens(seq); status != kDsaOk) return status;
  Step s{{}, {}, {}, args.max_seqlen_k};
  for (std::int64_t b = 0; b < bs; ++b) {
    const std::int64_t seq_len = seq[static_cast<std::size_t>(b)];
    s.cache.push_back(seq_len + next_n);
    for (std::int64_t d = 0; d < next_n; ++d) {
      s.lengths.push_back(seq_len + d + 1);
      s.owner.push_back(b);
    }
  }
  const std::int32_t status = finish(c, s);
  if (status != kDsaOk) return status;

  store(s.lengths, args.seqlens_expanded);
  if (ctx.data != nullptr) {
    for (std::int64_t b = 0; b < bs; ++b) {
      const auto ctx_len = static_cast<std::int32_t>(s.cache[static_cast<std::size_t>(b)]);  // seq_lens + next_n
      for (std::int64_t d = 0; d < next_n; ++d) ctx.at(b, d) = ctx_len;
    }
  }
  return kDsaOk;
}

// total_len comes from the host and the extend lengths from the device, so they can disagree: a smaller total would
// leave tokens without rows, a larger one rows without a request. The reference reports either (kDsaTotalMismatch).
std::int32_t dsa_draft_extend(const DraftExtendArgs& args) {
  const DsaCommon& c = args.common;
  const std::int64_t bs = c.seq_lens.size();
  require(args.extend_seq_lens.size() == bs, "extend_seq_lens must have bs entries");
  require(args.total_len >= 0, "total_len must be >= 0");
  check_common_args(c, args.max_seqlen_k);

  const Values seq = read(c.seq_lens);
  if (const std::int32_t status = check_seq_lens(seq); status != kDsaOk) return status;
  const std::optional<Values> ext = read_int32(args.extend_seq_lens);
  if (!ext) return kDsaInt32Overflow;

  // With a negative length the sum proves nothing, so only the sign is reported then.
  std::int32_t status = kDsaOk;
  if (std::any_of(ext->begin(), ext->end(), [](std::int64_t e) { return e < 0; })) {
    status |= kDsaNegativeExtendLen;
  } else {
    const Values offsets = prefix(*ext);
    if (!fits_int32(offsets.back())) status |= kDsaInt32Overflow;
    if (args.total_len != offsets.back()) status |= kDsaTotalMismatch;
  }
  if (args.total_len > std::min(rows_held(c, args.max_seqlen_k), ssize(args.seqlens_expanded))) {
    status |= kDsaCapacityExceeded;
  }
  if (status != kDsaOk) return status;

  // Here every length is >= 0 and they sum to total_len, so rows t = offsets[b] + local come out in order.
  Step s{seq, {}, {}, args.max_seqlen_k};
  for (std::int64_t b = 0; b < bs; ++b) {
    const std::int64_t seq_len = seq[static_cast<std::size_t>(b)];
    const std::int64_t extend = (*ext)[static_cast<std::size_t>(b)];
    for (std::int64_t local = 0; local < extend; ++local) {
      // Padded graph rows carry a seq_len below their extend length; newest upstream clamps them at 0.
      s.lengths.push_back(std::max<std::int64_t>(seq_len - extend + 1 + local, 0));
      s.owner.push_back(b);
    }
  }
  status = finish(c, s);
  if (status != kDsaOk) return status;

  store(s.lengths, args.seqlens_expanded);
  return kDsaOk;
}

}  // namespace draftjit::reference
