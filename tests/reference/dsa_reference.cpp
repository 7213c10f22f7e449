#include "reference/dsa_reference.hpp"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace draftjit::reference {

namespace {

void require(bool ok, const char* what) {
  if (!ok) throw std::invalid_argument(std::string("dsa reference: ") + what);
}

// Upstream's BLOCK_N: a page-table row is written in whole blocks of this many columns up to its KV length. Written
// here from upstream, and checked against the public header's copy.
constexpr std::int64_t kLiveColumns = 128;
static_assert(kLiveColumns == draftjit::kDsaLiveColumns);

}  // namespace

Ints Ints::restrided(std::int64_t size, std::int64_t stride) const {
  const auto storage = static_cast<std::int64_t>(std::visit([](auto values) { return values.size(); }, values_));
  require(size >= 0 && stride >= 0, "a strided Ints needs a size and a stride >= 0");
  require(size == 0 || (size - 1) * stride < storage, "a strided Ints reaches past its storage");
  Ints ints = *this;
  ints.size_ = size;
  ints.stride_ = stride;
  return ints;
}

Ints Ints::strided(std::span<const std::int32_t> storage, std::int64_t size, std::int64_t stride) {
  return Ints(storage).restrided(size, stride);
}

Ints Ints::strided(std::span<const std::int64_t> storage, std::int64_t size, std::int64_t stride) {
  return Ints(storage).restrided(size, stride);
}

std::int64_t Ints::operator[](std::int64_t i) const {
  const auto at = static_cast<std::size_t>(i * stride_);
  return std::visit([at](auto values) { return static_cast<std::int64_t>(values[at]); }, values_);
}

namespace {

using Values = std::vector<std::int64_t>;

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

// [0, v0, v0 + v1, ...]: cu_seqlens_k, dsa_cu_seqlens_k and the extend offsets are all this. Callers pass values
// already checked against int32, so that no int64 sum can overflow.
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
// the min of (cache_seqlens in decode, seqlens_expanded otherwise). k = 1 is plain min(e, topk), which the pooled
// formula gives too.
std::int64_t dsa_length(std::int64_t e, std::int64_t topk, std::int64_t kpool) {
  if (kpool == 1) return std::min(e, topk);
  const std::int64_t pooled = floor_div(e, kpool) * kpool;
  return std::min(pooled, topk) + (e - pooled);
}

// The columns of a row whose request has KV length kv that the call writes: whole blocks of kLiveColumns up to kv,
// clipped to the bound.
std::int64_t live_columns(std::int64_t kv, std::int64_t bound) {
  if (kv <= 0) return 0;
  return std::min((kv + kLiveColumns - 1) / kLiveColumns * kLiveColumns, bound);
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

// One page_table_1 row (when given) and, when P > 1, its real_page_table row (the page of every P-th token), over
// the first `live` columns. Token indices are >= 0, where C++'s truncating division is the floor division of the
// spec.
void gather_row(const DsaCommon& c, std::int64_t pool_row, std::int64_t row, std::int64_t live) {
  for (std::int64_t j = 0; j < live; ++j) {
    const std::int32_t token = c.req_to_token.at(pool_row, j);
    if (c.page_table_1.data != nullptr) c.page_table_1.at(row, j) = token;
    if (c.page_size > 1 && j % c.page_size == 0) {
      c.real_page_table.at(row, j / c.page_size) = static_cast<std::int32_t>(token / c.page_size);
    }
  }
}

// The argument checks every mode shares, for `rows` output rows of `bound` page-table columns.
void check_common_args(const DsaCommon& c, std::int64_t rows, std::int64_t bound) {
  const std::int64_t bs = c.seq_lens.size();
  require(c.req_pool_indices.size() == bs, "req_pool_indices must have bs entries");
  require(c.topk >= 0, "topk must be >= 0");
  require(c.page_size >= 1, "page_size must be >= 1");
  require(rows == 0 || c.index_kpool >= 1, "index_kpool must be >= 1 when any row is written");
  require(bound >= 0 && bound <= c.req_to_token.cols, "the column bound must be within req_to_token's columns");
  require(ssize(c.cache_seqlens) >= bs && ssize(c.cu_seqlens_k) >= bs + 1, "cache_seqlens or cu_seqlens_k too small");
  if (c.page_table_1.data != nullptr) {
    require(c.page_table_1.cols >= bound, "page_table_1 has fewer columns than the bound");
  } else {
    require(c.page_size > 1 || rows == 0 || bound == 0, "page_table_1 may be left out only when real_page_size > 1");
  }
  if (c.page_size > 1) {
    require(c.real_page_table.cols >= (bound + c.page_size - 1) / c.page_size,
            "real_page_table has fewer than ceil(bound / P) columns");
  }
}

// Output rows the shared row outputs all hold; the page tables count only when a row has columns to gather, and
// page_table_1 only when given.
std::int64_t rows_held(const DsaCommon& c, std::int64_t bound) {
  std::int64_t rows = std::min(ssize(c.dsa_cache_seqlens), ssize(c.dsa_cu_seqlens_k) - 1);
  if (bound > 0 && c.page_table_1.data != nullptr) rows = std::min(rows, c.page_table_1.rows);
  if (bound > 0 && c.page_size > 1) rows = std::min(rows, c.real_page_table.rows);
  return rows;
}

// What every mode writes, before any of it is written.
struct Step {
  Values cache;    // cache_seqlens, per request: also the KV length that bounds its rows' live prefixes
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
    const auto b = static_cast<std::size_t>(s.owner[row]);
    gather_row(c, pool[b], static_cast<std::int64_t>(row), live_columns(s.cache[b], s.bound));
  }
  return kDsaOk;
}

// Stage 2 of draft extend, on the extend lengths as read (int64). With a negative length the sum proves nothing,
// so only the sign is reported; with a length past INT32_MAX (as int64 can hold) neither is the sum judged, only the
// overflow. The capacity and the static promise are judged whatever the lengths.
std::int32_t check_extend_lens(const DraftExtendArgs& args, const Values& ext, std::int64_t capacity) {
  std::int32_t status = kDsaOk;
  if (std::any_of(ext.begin(), ext.end(), [](std::int64_t e) { return e < 0; })) {
    status |= kDsaNegativeExtendLen;
  } else if (!all_fit_int32(ext)) {
    status |= kDsaInt32Overflow;
  } else {
    const std::int64_t sum = prefix(ext).back();
    if (!fits_int32(sum)) status |= kDsaInt32Overflow;
    if (args.total_len != sum) status |= kDsaTotalMismatch;
  }
  if (args.total_len > capacity) status |= kDsaCapacityExceeded;
  if (args.static_extend_len &&
      std::any_of(ext.begin(), ext.end(), [&ext](std::int64_t e) { return e != ext.front(); })) {
    status |= kDsaExtendNotStatic;
  }
  return status;
}

}  // namespace

std::int32_t dsa_decode(const DecodeArgs& args) {
  const DsaCommon& c = args.common;
  const std::int64_t bs = c.seq_lens.size();
  check_common_args(c, bs, args.max_len);
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
  const std::int64_t rows = bs * next_n;
  check_common_args(c, rows, args.max_seqlen_k);
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
    s.cache.push_back(seq_len + next_n);  // also every row's KV length, for its live prefix
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
  check_common_args(c, args.total_len, args.max_seqlen_k);

  const Values seq = read(c.seq_lens);
  if (const std::int32_t status = check_seq_lens(seq); status != kDsaOk) return status;
  const Values ext = read(args.extend_seq_lens);
  const std::int64_t capacity = std::min(rows_held(c, args.max_seqlen_k), ssize(args.seqlens_expanded));
  if (const std::int32_t status = check_extend_lens(args, ext, capacity); status != kDsaOk) return status;

  // Here every length is >= 0 and they sum to total_len, so rows t = offsets[b] + local come out in order. With
  // static_extend_len kept, request row / ext[0] and local row % ext[0] are these same rows.
  Step s{seq, {}, {}, args.max_seqlen_k};  // a row's live prefix follows its request's seq_len, not its own length
  for (std::int64_t b = 0; b < bs; ++b) {
    const std::int64_t seq_len = seq[static_cast<std::size_t>(b)];
    const std::int64_t extend = ext[static_cast<std::size_t>(b)];
    for (std::int64_t local = 0; local < extend; ++local) {
      // Padded graph rows carry a seq_len below their extend length; newest upstream clamps them at 0.
      s.lengths.push_back(std::max<std::int64_t>(seq_len - extend + 1 + local, 0));
      s.owner.push_back(b);
    }
  }
  const std::int32_t status = finish(c, s);
  if (status != kDsaOk) return status;

  store(s.lengths, args.seqlens_expanded);
  return kDsaOk;
}

}  // namespace draftjit::reference
