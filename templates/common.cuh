// What the kernels of every family share: warp constants, how a scan reads its input, a warp's inclusive sum, a
// quotient in 32 bits where it fits, typed index loads (load_index), and the search from a position to the request
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

// The sum of value over lanes 0..lane of the warp (all 32 lanes take part), modulo 2^32.
__device__ __forceinline__ unsigned warp_inclusive_sum(unsigned value) {
  const int lane = threadIdx.x % kWarpThreads;
#pragma unroll
  for (int d = 1; d < kWarpThreads; d *= 2) {
    const unsigned up = __shfl_up_sync(kFullWarp, value, d);
    if (lane >= d) value += up;
  }
  return value;
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

// Value b of an IndexArray of int, or of long long with WIDE, widened.
template <bool WIDE>
__device__ __forceinline__ long long load_index(const IndexArray& a, int b) {
  if constexpr (WIDE) return __ldg(static_cast<const long long*>(a.data) + b * a.stride);
  return __ldg(static_cast<const int*>(a.data) + b * a.stride);
}

}  // namespace draftjit_kernels

#endif  // DRAFTJIT_COMMON_CUH
