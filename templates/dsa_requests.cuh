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

// A warp's checks, summed over its lanes (warp_checks): the four bit fields packed into one word, 8 bits each.
struct DsaWarpChecks {
  int bits;
  long long extend_sum;
  long long cache_sum;
  long long dsa_sum;
};

// The sum of the warp's checks, in every lane; EXTEND: draft extend's, the only mode that adds extend lengths.
template <bool EXTEND>
__device__ __forceinline__ DsaWarpChecks warp_checks(const DsaChecks& mine) {
  const int bits = mine.seq_bits | mine.pool_bits << 8 | mine.extend_bits << 16 | mine.negative_extend << 24;
  return {warp_or(bits), EXTEND ? warp_sum(mine.extend_sum) : 0LL, warp_sum(mine.cache_sum), warp_sum(mine.dsa_sum)};
}

__device__ __forceinline__ DsaChecks unpack_checks(const DsaWarpChecks& w) {
  DsaChecks all;
  all.seq_bits = w.bits & 0xff;
  all.pool_bits = w.bits >> 8 & 0xff;
  all.extend_bits = w.bits >> 16 & 0xff;
  all.negative_extend = w.bits >> 24 & 0xff;
  all.extend_sum = w.extend_sum;
  all.cache_sum = w.cache_sum;
  all.dsa_sum = w.dsa_sum;
  return all;
}

// The sum of a warp's checks, stored by its lane 0 into warps[its warp]: each warp has its own entry, so nothing
// needs zeroing first and no lane waits on another warp's atomics (the shared 64-bit atomics this replaced had all
// eight warps of a bs <= 32 block queue on three words, seven of them adding zeros).
template <bool EXTEND>
__device__ __forceinline__ void store_warp_checks(const DsaChecks& mine, DsaWarpChecks* warps) {
  const DsaWarpChecks sum = warp_checks<EXTEND>(mine);
  if (threadIdx.x % kWarpThreads == 0) warps[threadIdx.x / kWarpThreads] = sum;
}

// The block's checks from its WARPS warps' entries, after the barrier that follows store_warp_checks.
template <int WARPS>
__device__ __forceinline__ DsaChecks block_checks(const DsaWarpChecks* warps) {
  DsaWarpChecks all = {0, 0, 0, 0};
#pragma unroll
  for (int w = 0; w < WARPS; ++w) {
    all.bits |= warps[w].bits;
    all.extend_sum += warps[w].extend_sum;
    all.cache_sum += warps[w].cache_sum;
    all.dsa_sum += warps[w].dsa_sum;
  }
  return unpack_checks(all);
}

// The status word from the block's checks: the first stage with a bit set decides it. total_len and capacity are
// the draft extend's (stage 2 runs only there).
__device__ __forceinline__ int dsa_status(const DsaChecks& s, bool extend, long long total_len, long long capacity) {
  if (s.seq_bits != 0) return s.seq_bits;
  if (extend) {
    int bits = 0;
    const long long extend_sum = s.extend_sum;
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
  const bool overflow = s.cache_sum > kInt32Max || s.dsa_sum > kInt32Max;
  return s.pool_bits | (overflow ? kDsaInt32Overflow : 0);
}

}  // namespace draftjit_kernels

#endif  // DRAFTJIT_DSA_REQUESTS_CUH
