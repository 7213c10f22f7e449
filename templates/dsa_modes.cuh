// The three forward modes of the DSA step, as what distinguishes them: which request owns an output row (the
// token-to-request expansion), a request's KV length and rows, and the checks only draft extend has. Everything else
// (the prefixes, the gather, the status) is shared code in dsa_kernel.cuh.
#ifndef DRAFTJIT_DSA_MODES_CUH
#define DRAFTJIT_DSA_MODES_CUH

#include "dsa_requests.cuh"

namespace draftjit_kernels {

// kExtend: the mode has draft extend's extend lengths (their scan, stage 2 of the checks); kExpanded: it writes
// seqlens_expanded, the per-row lengths (the mode without has one row per request).

// Output row `row` belongs to request `request`, of whose rows it is number `local`.
struct RowOwner {
  int request;
  long long local;
};

// Request b's output rows: rows [first, first + count).
struct RowSpan {
  long long first;
  long long count;
};

// The exclusive prefix of request b from a scan's slots over values: its slot's prefix plus the values of the slot's
// requests before it (none with one request per slot).
template <class Scan, class Values>
__device__ __forceinline__ unsigned request_prefix(const unsigned* prefix, Values values, int b) {
  unsigned sum = prefix[Scan::slot(b / Scan::kChunk)];
  for (int i = b - b % Scan::kChunk; i < b; ++i) sum += static_cast<unsigned>(values(i));
  return sum;
}

// One row per request, of its KV length.
struct DecodeMode {
  using Params = DsaDecodeParams;
  enum : int { kSharedArrays = kDsaDecodeSharedArrays, kExtend = false, kExpanded = false };

  __device__ static long long cache_len(const Params&, long long seq_len) { return seq_len; }
  __device__ static RequestRows rows_of(const Params&, int, long long seq_len) { return {1, seq_len}; }
  template <class Scan>
  __device__ static RowOwner owner(const Params&, const unsigned*, long long row) {
    return {static_cast<int>(row), 0};
  }
  template <class Scan>
  __device__ static RowSpan rows_span(const Params&, const unsigned*, int b) {
    return {b, 1};
  }
};

// next_n rows per request: the KV length with draft token d of next_n accepted, seq_len + d + 1.
struct TargetVerifyMode {
  using Params = DsaTargetVerifyParams;
  enum : int { kSharedArrays = kDsaTargetVerifySharedArrays, kExtend = false, kExpanded = true };

  __device__ static long long cache_len(const Params& p, long long seq_len) { return seq_len + p.next_n; }
  __device__ static RequestRows rows_of(const Params& p, int, long long seq_len) { return {p.next_n, seq_len + 1}; }
  template <class Scan>
  __device__ static RowOwner owner(const Params& p, const unsigned*, long long row) {
    const int request = static_cast<int>(quotient(row, p.next_n));
    return {request, row - static_cast<long long>(request) * p.next_n};
  }
  template <class Scan>
  __device__ static RowSpan rows_span(const Params& p, const unsigned*, int b) {
    return {static_cast<long long>(b) * p.next_n, p.next_n};
  }
};

// extend_seq_lens[b] rows per request, one per extended token: seq_len - extend + 1 + local, clamped at 0 (padded
// graph rows carry a seq_len below their extend length). A row's request is row / extend_seq_lens[0] with
// kDsaStaticExtend; otherwise it comes from the search over the block's own scan of the extend lengths (offsets,
// computed once per block), one slot per Scan::kChunk requests, then a walk over the slot's requests.
template <int FLAGS>
struct DraftExtendMode {
  using Params = DsaDraftExtendParams;
  enum : int { kSharedArrays = kDsaDraftExtendSharedArrays, kExtend = true, kExpanded = true };

  // Extend length b as the scans take it: an int64 one outside int32 is clamped (and reported: kDsaInt32Overflow).
  __device__ static long long extend_wide(const Params& p, int b) {
    return load_index<(FLAGS & kDsaExtend64) != 0>(p.extend_seq_lens, b);
  }
  __device__ static int extend(const Params& p, int b) {
    return static_cast<int>(clamp_int32(extend_wide(p, b)));
  }
  __device__ static long long cache_len(const Params&, long long seq_len) { return seq_len; }
  __device__ static RequestRows rows_of(const Params& p, int b, long long seq_len) {
    const int extend_len = extend(p, b);
    return {extend_len, seq_len - extend_len + 1};
  }
  template <class Scan>
  __device__ static RowOwner owner(const Params& p, const unsigned* offsets, long long row) {
    if constexpr ((FLAGS & kDsaStaticExtend) != 0) {
      const long long extend_len = extend(p, 0);  // > 0: there are rows, and the checks passed
      const int request = static_cast<int>(quotient(row, extend_len));
      return {request, row - request * extend_len};
    } else {
      const int slot = find_slot<Scan>(offsets, static_cast<unsigned>(row));
      int request = slot * Scan::kChunk;
      unsigned start = offsets[Scan::slot(slot)];
      // The slot's last request needs no test: the row is in the slot.
      for (int k = 1; k < Scan::kChunk; ++k) {
        const unsigned extend_len = static_cast<unsigned>(extend(p, request));
        if (row < start + extend_len) break;
        start += extend_len;
        ++request;
      }
      return {request, row - start};
    }
  }
  // With a clean status (the extend lengths sum to the rows, each in int32).
  template <class Scan>
  __device__ static RowSpan rows_span(const Params& p, const unsigned* offsets, int b) {
    if constexpr ((FLAGS & kDsaStaticExtend) != 0) {
      const long long extend_len = extend(p, 0);
      return {b * extend_len, extend_len};
    } else {
      return {request_prefix<Scan>(offsets, [&](int i) { return extend(p, i); }, b), extend(p, b)};
    }
  }
};

// A request's facts as every kernel's checks compute them.
struct StepRequest {
  long long pool;       // req_pool_indices[b]
  long long seq_len;    // clamped to int32 (check_request)
  RequestRows rows;
  long long cache_len;  // its KV length
  long long dsa_sum;    // the sum of its rows' dsa lengths
};

// Request b's facts in Mode, its checks added to mine; extend: its extend length as the scans take it (draft
// extend's; the other modes pass 0).
template <class Mode, int FLAGS>
__device__ __forceinline__ StepRequest check_step_request(const typename Mode::Params& p, int b, int extend,
                                                          DsaChecks& mine) {
  const DsaCommonParams& c = p.c;
  const DsaRequests<FLAGS> requests{c};
  StepRequest r;
  r.pool = requests.pool_index(b);
  r.seq_len = check_request<FLAGS>(c, requests.seq_len(b), r.pool, mine);
  r.rows = Mode::rows_of(p, b, r.seq_len);
  r.cache_len = Mode::cache_len(p, r.seq_len);
  r.dsa_sum = DsaLengths<FLAGS>(c.topk, c.kpool).rows_sum(r.rows.base, r.rows.count);
  if constexpr (Mode::kExtend) {
    // The scans take extend clamped to int32; the sum is of the values themselves, as total_len is.
    const long long wide = (FLAGS & kDsaExtend64) != 0 ? Mode::extend_wide(p, b) : extend;
    if (wide < 0) mine.negative_extend = 1;
    if (wide != extend) mine.extend_bits |= kDsaInt32Overflow;
    if ((FLAGS & kDsaStaticExtend) != 0 && extend != Mode::extend(p, 0)) mine.extend_bits |= kDsaExtendNotStatic;
    mine.extend_sum += wide;
  }
  mine.cache_sum += r.cache_len;
  mine.dsa_sum += r.dsa_sum;
  return r;
}

// The same with the request's own extend length loaded (every caller but the block scan's visit, which has it).
template <class Mode, int FLAGS>
__device__ __forceinline__ StepRequest check_step_request(const typename Mode::Params& p, int b, DsaChecks& mine) {
  if constexpr (Mode::kExtend) {
    return check_step_request<Mode, FLAGS>(p, b, Mode::extend(p, b), mine);
  } else {
    return check_step_request<Mode, FLAGS>(p, b, 0, mine);
  }
}

// The step's status word from every request's checks: draft extend's rows are total_len, checked against the
// capacity.
template <class Mode>
__device__ __forceinline__ int step_status(const typename Mode::Params& p, const DsaChecks& all) {
  if constexpr (Mode::kExtend) {
    return dsa_status(all, true, p.c.rows, p.capacity);
  } else {
    return dsa_status(all, false, 0, 0);
  }
}

}  // namespace draftjit_kernels

#endif  // DRAFTJIT_DSA_MODES_CUH
