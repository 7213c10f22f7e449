// The lengths the DSA indexer sees, and their sums over a request's rows in closed form, so that any row's prefix
// (dsa_cu_seqlens_k) is its request's prefix plus O(1) arithmetic: no walk over a request's rows, however long.
#ifndef DRAFTJIT_DSA_LENGTHS_CUH
#define DRAFTJIT_DSA_LENGTHS_CUH

#include "common.cuh"

namespace draftjit_kernels {

// A row of length e >= 0 is seen as min(e, topk), or, with the pool size k = index_kpool > 1, as
// min(floor(e / k) * k, topk) + e % k. k = 1 gives the first, so one formula serves both; without kDsaKpool, k is
// the constant 1 and the compiler folds it away.
template <int FLAGS>
struct DsaLengths {
  long long topk;
  long long k;
  Divisor by_k;
  long long u;  // (topk / k + 1) * k: sum_below's bound, a multiple of k

  __device__ DsaLengths(int topk_, int kpool)
      : topk(topk_), k((FLAGS & kDsaKpool) != 0 ? kpool : 1), by_k(k), u((by_k(topk) + 1) * k) {}

  __device__ long long of(long long e) const {  // e >= 0
    const long long pooled = by_k(e) * k;
    return min(pooled, topk) + (e - pooled);
  }

  // The sum of of(x) over 0 <= x < m, for m >= 0: of(x) = x below u (there floor(x / k) * k <= topk), and topk + x %
  // k from u on.
  __device__ long long sum_below(long long m) const {
    if (m <= u) return m * (m - 1) / 2;
    const long long r = m - u;
    const long long whole = by_k(r);
    const long long tail = r - whole * k;
    return u * (u - 1) / 2 + r * topk + whole * (k * (k - 1) / 2) + tail * (tail - 1) / 2;
  }

  // The sum over a request's first m rows, whose row l has length max(base + l, 0).
  __device__ long long rows_sum(long long base, long long m) const {
    return sum_below(max(base + m, 0LL)) - sum_below(max(base, 0LL));
  }
};

}  // namespace draftjit_kernels

#endif  // DRAFTJIT_DSA_LENGTHS_CUH
