// What the kernels of every family share: warp constants, how a scan reads its input, a warp's inclusive sum, the
// prefixes over requests of the metadata families (request_prefixes), a quotient in 32 bits where it fits, typed
// index loads (load_index), and the search from a position to the request
// that holds it over a block scan's prefixes. Then the parts the three draft-extend kernels (fused_kernel.cuh,
// scan_kernel.cuh, fill_kernel.cuh) have in common: their status bits and their fill, whose rules fused_kernel.cuh
// states. The DSA kernels keep their own status word and checks (dsa_requests.cuh).
#ifndef DRAFTJIT_COMMON_CUH
#define DRAFTJIT_COMMON_CUH

#include "kernel_params.cuh"

namespace draftjit_kernels {

enum : int { kWarpThreads = 32 };
enum : unsigned { kFullWarp = 0xffffffffu };  // every lane of a warp, for the *_sync intrinsics

// A scan's input values: a device array, read through the read-only cache, or any functor i -> int (values computed
// from other arrays, as the DSA kernels scan). Only an array can be loaded four at a time.
__device__ __forceinline__ int load_value(const int* __restrict__ values, int i) { return __ldg(&values[i]); }
template <class Values>
__device__ __forceinline__ int load_value(const Values& values, int i) {
  return values(i);
}
template <class Values>
struct IsArray {
  enum : bool { value = false };
};
template <>
struct IsArray<const int*> {
  enum : bool { value = true };
};

// Largest slot b with slots[Scan::slot(b)] <= t, over a block scan's exclusive prefixes. Slots at and after bs hold
// the total, so for t < total the answer is the request that holds position t (zero-length requests before it share
// its prefix, and lose to it). kSlots is a power of two, so the search is log2(kSlots) unrolled, branch-free steps.
template <class Scan>
__device__ __forceinline__ int find_slot(const unsigned* slots, unsigned t) {
  int b = 0;
#pragma unroll
  for (int step = Scan::kSlots / 2; step > 0; step /= 2) {
    if (slots[Scan::slot(b + step)] <= t) b += step;
  }
  return b;
}

// ---- The draft-extend kernels' status and fill (the rules: fused_kernel.cuh) ----

// The bits one request earns: a negative extend length, or a KV length below it.
__device__ __forceinline__ int request_bits(int ext, int seq) {
  return (ext < 0 ? kStatusNegativeExtendLen : 0) | (seq < ext ? kStatusSeqLenBelowExtend : 0);
}

// Drops bits that an earlier bit makes meaningless: with a negative length the sum proves nothing.
__device__ __forceinline__ int finalize_status(int bits) {
  return bits & kStatusNegativeExtendLen ? bits & ~kStatusTotalOverflow : bits;
}

// Adds the capacity check to finalized bits, which needs a trustworthy total.
__device__ __forceinline__ int check_capacity(int bits, unsigned total, long long capacity) {
  const bool trustworthy = !(bits & (kStatusNegativeExtendLen | kStatusTotalOverflow));
  return trustworthy && static_cast<long long>(total) > capacity ? bits | kStatusCapacityExceeded : bits;
}

// Token t's outputs, where fill_base is seq_lens[b] - extend_seq_lens[b] + 1 of its request b and local its index
// there.
__device__ __forceinline__ void write_token(int fill_base, int local, int topk, unsigned t,
                                            int* __restrict__ out_expanded, int* __restrict__ out_cache) {
  const int expanded = fill_base + local;
  out_expanded[t] = expanded;
  out_cache[t] = min(expanded, topk);
}

// The sum of value over lanes 0..lane of the warp (all 32 lanes take part), modulo 2^32 or 2^64 (T unsigned or
// unsigned long long). Only lanes below LANES hold values (the others hold 0): log2(LANES) rounds reach every sum,
// and the lanes at and past LANES take lane LANES - 1's, the total.
template <int LANES = kWarpThreads, class T>
__device__ __forceinline__ T warp_inclusive_sum(T value) {
  static_assert(LANES >= 1 && LANES <= kWarpThreads, "LANES: 1 to 32");
  const int lane = threadIdx.x % kWarpThreads;
#pragma unroll
  for (int d = 1; d < LANES; d *= 2) {
    const T up = __shfl_up_sync(kFullWarp, value, d);
    if (lane >= d) value += up;
  }
  if constexpr (LANES < kWarpThreads) {
    const T total = __shfl_sync(kFullWarp, value, LANES - 1);
    if (lane >= LANES) value = total;
  }
  return value;
}

// The sum of value over the warp, in every lane, modulo 2^64 as 64-bit adds give it: three redux.sync adds of its
// 21-, 21- and 22-bit parts, whose sums over 32 lanes fit 32 bits, in place of five rounds of two shuffles and an add
// (most of a small batch's checks: docs/PERF.md, issue 29).
__device__ __forceinline__ long long warp_sum(long long value) {
#if __CUDA_ARCH__ >= 800
  const auto v = static_cast<unsigned long long>(value);
  const unsigned long long low = __reduce_add_sync(kFullWarp, static_cast<unsigned>(v & 0x1fffffu));
  const unsigned long long mid = __reduce_add_sync(kFullWarp, static_cast<unsigned>(v >> 21 & 0x1fffffu));
  const unsigned long long high = __reduce_add_sync(kFullWarp, static_cast<unsigned>(v >> 42));
  return static_cast<long long>((high << 42) + (mid << 21) + low);
#else
#pragma unroll
  for (int offset = kWarpThreads / 2; offset > 0; offset /= 2) value += __shfl_xor_sync(kFullWarp, value, offset);
  return value;
#endif
}

// The OR of bits over the warp, in every lane.
__device__ __forceinline__ int warp_or(int bits) {
#if __CUDA_ARCH__ >= 800
  return static_cast<int>(__reduce_or_sync(kFullWarp, static_cast<unsigned>(bits)));
#else
#pragma unroll
  for (int offset = kWarpThreads / 2; offset > 0; offset /= 2) bits |= __shfl_xor_sync(kFullWarp, bits, offset);
  return bits;
#endif
}

// n / d (d != 0), in 32 bits when both are in [0, 2^32), as lengths and row numbers almost always are: a 64-bit
// division is a subroutine of about 70 dependent instructions, and the gathers and the dsa lengths divide on their
// critical path.
__device__ __forceinline__ long long quotient(long long n, long long d) {
  if (((static_cast<unsigned long long>(n) | static_cast<unsigned long long>(d)) >> 32) == 0) {
    return static_cast<unsigned>(n) / static_cast<unsigned>(d);
  }
  return n / d;
}

// x / d for a run-time d > 0 that in practice is a power of two (page sizes, KPool sizes): a shift then, rounding
// toward zero as / does, instead of a division's dependent chain; else the division. Built once per thread.
struct Divisor {
  long long d;
  int shift;  // log2(d), or -1 where d is not a power of two

  __device__ explicit Divisor(long long divisor) : d(divisor) {
    shift = (divisor & (divisor - 1)) == 0 ? __ffsll(divisor) - 1 : -1;
  }
  __device__ int operator()(int x) const {
    if (shift >= 0) return (x + ((x >> 31) & static_cast<int>(d - 1))) >> shift;
    return x / static_cast<int>(d);
  }
  __device__ long long operator()(long long x) const {
    if (shift >= 0) return (x + ((x >> 63) & (d - 1))) >> shift;
    return quotient(x, d);
  }
};

// One or two running sums over requests, modulo 2^32 (q is kept only where a caller scans two values).
struct RequestSums {
  unsigned k, q;
};

// The block's exclusive sums of each thread's values, q only with TWO. Every thread of the block calls it, once.
template <int THREADS, bool TWO>
__device__ __forceinline__ RequestSums block_exclusive_sums(RequestSums v) {
  static_assert(THREADS % kWarpThreads == 0 && THREADS / kWarpThreads <= kWarpThreads, "one warp scans the warps");
  constexpr int kWarps = THREADS / kWarpThreads;
  __shared__ unsigned s_k[kWarps], s_q[kWarps];  // each warp's inclusive sums, then the sums of the warps before it
  const unsigned k = warp_inclusive_sum(v.k), q = TWO ? warp_inclusive_sum(v.q) : 0u;
  const int warp = threadIdx.x / kWarpThreads, lane = threadIdx.x % kWarpThreads;
  if (lane == kWarpThreads - 1) {
    s_k[warp] = k;
    if (TWO) s_q[warp] = q;
  }
  __syncthreads();
  if (warp == 0) {
    const bool mine = lane < kWarps;
    const unsigned wk = mine ? s_k[lane] : 0u, wq = TWO && mine ? s_q[lane] : 0u;
    const unsigned before_k = warp_inclusive_sum(wk) - wk, before_q = TWO ? warp_inclusive_sum(wq) - wq : 0u;
    __syncwarp();  // every lane has read its warp's sums before any lane overwrites one
    if (mine) {
      s_k[lane] = before_k;
      if (TWO) s_q[lane] = before_q;
    }
  }
  __syncthreads();
  return {s_k[warp] + k - v.k, TWO ? s_q[warp] + q - v.q : 0u};
}

// The inclusive prefixes over requests b < bs of value(b) (one sum, or two with TWO), modulo 2^32, handed to
// store(b, value, inclusive). bs <= 32 runs in warp 0 alone, one request per lane and no barrier; above, each thread
// owns a run of ceil(bs / THREADS) consecutive requests, sums it, takes its run's offset from a block scan of the
// runs' sums and walks its run again. Every thread of the block calls it, once.
template <int THREADS, bool TWO, class Value, class Store>
__device__ __forceinline__ void request_prefixes(int bs, Value value, Store store) {
  if (bs <= kWarpThreads) {
    if (threadIdx.x >= kWarpThreads) return;
    const int b = threadIdx.x;
    const RequestSums v = b < bs ? value(b) : RequestSums{0u, 0u};
    const RequestSums inclusive = {warp_inclusive_sum(v.k), TWO ? warp_inclusive_sum(v.q) : 0u};
    if (b < bs) store(b, v, inclusive);
    return;
  }
  const int per = (bs + THREADS - 1) / THREADS;
  const int first = min(bs, static_cast<int>(threadIdx.x) * per);
  const int last = min(bs, first + per);
  RequestSums run = {0u, 0u};
  for (int b = first; b < last; ++b) {
    const RequestSums v = value(b);
    run.k += v.k;
    run.q += v.q;
  }
  RequestSums sum = block_exclusive_sums<THREADS, TWO>(run);
  for (int b = first; b < last; ++b) {
    const RequestSums v = value(b);
    sum.k += v.k;
    sum.q += v.q;
    store(b, v, sum);
  }
}

// Value b of an IndexArray of int, or of long long with WIDE, widened.
template <bool WIDE>
__device__ __forceinline__ long long load_index(const IndexArray& a, int b) {
  if constexpr (WIDE) return __ldg(static_cast<const long long*>(a.data) + b * a.stride);
  return __ldg(static_cast<const int*>(a.data) + b * a.stride);
}

}  // namespace draftjit_kernels

#endif  // DRAFTJIT_COMMON_CUH
