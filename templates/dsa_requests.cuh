// The requests of a DSA step: their typed reads and the checks every block runs over all of them, reduced to one
// status word that every block computes alike, so that with bad data no block writes anything and no block waits on
// another.
#ifndef DRAFTJIT_DSA_REQUESTS_CUH
#define DRAFTJIT_DSA_REQUESTS_CUH

#include "common.cuh"
#include "dsa_lengths.cuh"

namespace draftjit_kernels {

enum : int { kInt32Max = 0x7fffffff };

__device__ __forceinline__ long long clamp_int32(long long value) {
  return min(max(value, -kInt32Max - 1LL), static_cast<long long>(kInt32Max));
}

// Value b of a DsaIndices array of int, or of long long with WIDE, widened.
template <bool WIDE>
__device__ __forceinline__ long long load_index(const DsaIndices& a, int b) {
  if constexpr (WIDE) return __ldg(static_cast<const long long*>(a.data) + b * a.stride);
  return __ldg(static_cast<const int*>(a.data) + b * a.stride);
}

// seq_lens and req_pool_indices in the dtypes FLAGS names, widened.
template <int FLAGS>
struct DsaRequests {
  const DsaCommonParams& c;

  __device__ long long seq_len(int b) const { return load_index<(FLAGS & kDsaSeqLens64) != 0>(c.seq_lens, b); }
  __device__ long long pool_index(int b) const {
    return load_index<(FLAGS & kDsaPoolIndices32) == 0>(c.req_pool_indices, b);
  }
};

// One request's rows: how many, and the length of the first before the clamp at 0 (row l has max(base + l, 0)).
struct RequestRows {
  long long count;
  long long base;
};

// What one thread found over its requests, by stage (include/draftjit/dsa.hpp, DsaStatus).
struct DsaChecks {
  int seq_bits = 0;            // stage 1
  int negative_extend = 0;     // stage 2
  int extend_bits = 0;         // stage 2: kDsaInt32Overflow (a length past int32), kDsaExtendNotStatic
  int pool_bits = 0;           // stage 3
  long long extend_sum = 0;    // stage 2: sum(extend_seq_lens)
  long long cache_sum = 0;     // stage 3: cu_seqlens_k's last entry
  long long dsa_sum = 0;       // stage 3: dsa_cu_seqlens_k's last entry
};

// The block's checks, in shared memory: zeroed by thread 0 before a barrier, then added to by each warp's lane 0.
struct DsaBlockChecks {
  int seq_bits;
  int negative_extend;
  int extend_bits;
  int pool_bits;
  unsigned long long extend_sum;
  unsigned long long cache_sum;
  unsigned long long dsa_sum;
};

// Stage 1 and 3 facts of request b; seq_len is clamped to int32 before any arithmetic, so no sum can overflow int64
// (a seq_len outside int32 is reported by stage 1, which then decides the word).
template <int FLAGS>
__device__ __forceinline__ long long check_request(const DsaCommonParams& c, long long seq_len, long long pool,
                                                   DsaChecks& checks) {
  if (seq_len < -kInt32Max - 1 || seq_len > kInt32Max) checks.seq_bits |= kDsaInt32Overflow;
  if (seq_len < 0) checks.seq_bits |= kDsaNegativeSeqLen;
  if (pool < 0 || pool >= c.pool_rows) checks.pool_bits |= kDsaPoolIndexOutOfRange;
  return clamp_int32(seq_len);
}

__device__ __forceinline__ void add_checks(const DsaChecks& mine, DsaBlockChecks* block) {
  DsaChecks sum = mine;
#pragma unroll
  for (int offset = kWarpThreads / 2; offset > 0; offset /= 2) {
    sum.seq_bits |= __shfl_xor_sync(kFullWarp, sum.seq_bits, offset);
    sum.negative_extend |= __shfl_xor_sync(kFullWarp, sum.negative_extend, offset);
    sum.extend_bits |= __shfl_xor_sync(kFullWarp, sum.extend_bits, offset);
    sum.pool_bits |= __shfl_xor_sync(kFullWarp, sum.pool_bits, offset);
    sum.extend_sum += __shfl_xor_sync(kFullWarp, sum.extend_sum, offset);
    sum.cache_sum += __shfl_xor_sync(kFullWarp, sum.cache_sum, offset);
    sum.dsa_sum += __shfl_xor_sync(kFullWarp, sum.dsa_sum, offset);
  }
  if (threadIdx.x % kWarpThreads != 0) return;
  if (sum.seq_bits != 0) atomicOr(&block->seq_bits, sum.seq_bits);
  if (sum.negative_extend != 0) atomicOr(&block->negative_extend, sum.negative_extend);
  if (sum.extend_bits != 0) atomicOr(&block->extend_bits, sum.extend_bits);
  if (sum.pool_bits != 0) atomicOr(&block->pool_bits, sum.pool_bits);
  atomicAdd(&block->extend_sum, static_cast<unsigned long long>(sum.extend_sum));
  atomicAdd(&block->cache_sum, static_cast<unsigned long long>(sum.cache_sum));
  atomicAdd(&block->dsa_sum, static_cast<unsigned long long>(sum.dsa_sum));
}

// The status word from the block's checks: the first stage with a bit set decides it. total_len and capacity are
// the draft extend's (stage 2 runs only there).
__device__ __forceinline__ int dsa_status(const DsaBlockChecks& s, bool extend, long long total_len,
                                          long long capacity) {
  if (s.seq_bits != 0) return s.seq_bits;
  if (extend) {
    int bits = 0;
    const long long extend_sum = static_cast<long long>(s.extend_sum);
    if (s.negative_extend != 0) {
      bits = kDsaNegativeExtendLen;  // the sum proves nothing then
    } else {
      if (extend_sum > kInt32Max || (s.extend_bits & kDsaInt32Overflow) != 0) bits |= kDsaInt32Overflow;
      if (extend_sum != total_len) bits |= kDsaTotalMismatch;
    }
    bits |= s.extend_bits & kDsaExtendNotStatic;
    if (total_len > capacity) bits |= kDsaCapacityExceeded;
    if (bits != 0) return bits;
  }
  const bool overflow = static_cast<long long>(s.cache_sum) > kInt32Max || static_cast<long long>(s.dsa_sum) > kInt32Max;
  return s.pool_bits | (overflow ? kDsaInt32Overflow : 0);
}

}  // namespace draftjit_kernels

#endif  // DRAFTJIT_DSA_REQUESTS_CUH
