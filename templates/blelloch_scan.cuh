// The work-efficient (Blelloch) scan for larger batches, over SLOTS power-of-two slots of CHUNK lengths each (CHUNK
// > 1 only where bs exceeds what one block's shared memory holds). Three stages, two barriers:
//   1. each thread owns kItems consecutive slots and runs the tree's bottom levels over them itself, in registers;
//   2. each warp runs the tree's next five levels (up-sweep, then down-sweep) over its threads' sums with shuffles;
//   3. warp 0 runs the top levels over the warps' sums the same way, through kWarps words of shared memory.
// Sums wrap modulo 2^32: callers detect int32 overflow from the signs of the finished prefixes.
#ifndef DRAFTJIT_BLELLOCH_SCAN_CUH
#define DRAFTJIT_BLELLOCH_SCAN_CUH

#include "common.cuh"

namespace draftjit_kernels {

// Exclusive Blelloch scan of one value per lane, in registers: the up-sweep leaves the sum of lanes (l - 2d, l] at
// every lane l = 2d - 1 (mod 2d), the down-sweep swaps and adds those partial sums back down the tree. Returns the
// lane's exclusive prefix; *sum gets the warp's total on every lane.
__device__ __forceinline__ unsigned warp_blelloch_exclusive(unsigned value, unsigned* sum) {
  const int lane = threadIdx.x % kWarpThreads;
#pragma unroll
  for (int d = 1; d < kWarpThreads; d *= 2) {  // up-sweep
    const unsigned left = __shfl_up_sync(kFullWarp, value, d);
    if ((lane & (2 * d - 1)) == 2 * d - 1) value += left;
  }
  *sum = __shfl_sync(kFullWarp, value, kWarpThreads - 1);
  if (lane == kWarpThreads - 1) value = 0u;
#pragma unroll
  for (int d = kWarpThreads / 2; d > 0; d /= 2) {  // down-sweep: the left of each pair takes the right's value,
    const unsigned left = __shfl_up_sync(kFullWarp, value, d);     // the right adds the left's
    const unsigned right = __shfl_down_sync(kFullWarp, value, d);
    if ((lane & (2 * d - 1)) == 2 * d - 1) {
      value += left;
    } else if ((lane & (2 * d - 1)) == d - 1) {
      value = right;
    }
  }
  return value;
}

template <int SLOTS, int CHUNK, int THREADS>
struct BlellochScan {
  static_assert(SLOTS > 0 && (SLOTS & (SLOTS - 1)) == 0, "SLOTS must be a power of two");
  static_assert(CHUNK > 0 && (CHUNK & (CHUNK - 1)) == 0, "CHUNK must be a power of two");
  static_assert(THREADS % kWarpThreads == 0 && THREADS <= 1024, "THREADS: whole warps, one block");
  enum : int {
    kSlots = SLOTS,
    kChunk = CHUNK,
    kThreads = THREADS,
    kSequential = false,
    kItems = SLOTS > THREADS ? SLOTS / THREADS : 1,  // consecutive slots per thread
    kWarps = THREADS / kWarpThreads,
  };

  // Where slot i lives in shared memory. A thread's kItems consecutive slots would put a warp's stores kItems words
  // apart, into a few banks; XOR-ing the low five bits with the row number spreads them over all 32, and spreads the
  // fused kernel's search too.
  __device__ static int slot(int i) { return i ^ ((i >> 5) & 31); }

  // Block-wide: slots[slot(j)] gets the sum of the lengths before slot j (the total for slots past bs), *total the
  // sum, and visit sees every request (i, ext[i]) once, where ext is an array or a functor (load_value). Ready after
  // the caller's next __syncthreads().
  template <class Values, class Visit>
  __device__ static void block_exclusive(const Values& ext, int bs, unsigned* slots, unsigned* total, Visit visit) {
    const int first = threadIdx.x * kItems;  // this thread's first slot; threads past SLOTS hold zeros
    unsigned run[kItems];
    load_run(ext, bs, first, run, visit);
    unsigned thread_sum = 0u;
#pragma unroll
    for (int k = 0; k < kItems; ++k) {  // the bottom levels, in registers: prefixes within the thread's run
      const unsigned value = run[k];
      run[k] = thread_sum;
      thread_sum += value;
    }
    unsigned warp_total;
    unsigned prefix = warp_blelloch_exclusive(thread_sum, &warp_total);
    if constexpr (kWarps == 1) {
      if (threadIdx.x == 0) *total = warp_total;
    } else {
      __shared__ unsigned s_warp[kWarps];  // each warp's sum, then its exclusive prefix
      const int warp = threadIdx.x / kWarpThreads;
      const int lane = threadIdx.x % kWarpThreads;
      if (lane == 0) s_warp[warp] = warp_total;
      __syncthreads();
      if (warp == 0) {
        unsigned block_sum;
        const unsigned warp_prefix = warp_blelloch_exclusive(lane < kWarps ? s_warp[lane] : 0u, &block_sum);
        if (lane < kWarps) s_warp[lane] = warp_prefix;
        if (lane == 0) *total = block_sum;
      }
      __syncthreads();
      prefix += s_warp[warp];
    }
    if (first < SLOTS) {
#pragma unroll
      for (int k = 0; k < kItems; ++k) slots[slot(first + k)] = prefix + run[k];
    }
  }

 private:
  // The sums of this thread's kItems slots, visiting each length. One slot per length loads an array's run with
  // 16-byte loads where it allows (all of a thread's loads are in flight together); chunked slots sum their lengths.
  template <class Values, class Visit>
  __device__ static void load_run(const Values& ext, int bs, int first, unsigned (&run)[kItems], Visit& visit) {
    if constexpr (CHUNK == 1) {
      int e[kItems];
      bool vector = false;
      if constexpr (IsArray<Values>::value) {
        vector = kItems % 4 == 0 && (reinterpret_cast<unsigned long long>(ext) & 15u) == 0;
      }
#pragma unroll
      for (int k = 0; k < kItems; k += 4) {
        const int i = first + k;
        if constexpr (IsArray<Values>::value && kItems % 4 == 0) {
          if (vector && i + 4 <= bs) {
            const int4 v = __ldg(reinterpret_cast<const int4*>(ext + i));
            e[k] = v.x;
            e[k + 1] = v.y;
            e[k + 2] = v.z;
            e[k + 3] = v.w;
            continue;
          }
        }
#pragma unroll
        for (int c = 0; c < 4 && k + c < kItems; ++c) e[k + c] = i + c < bs ? load_value(ext, i + c) : 0;
      }
#pragma unroll
      for (int k = 0; k < kItems; ++k) {
        if (first + k < bs) visit(first + k, e[k]);
        run[k] = static_cast<unsigned>(e[k]);
      }
    } else {
#pragma unroll
      for (int k = 0; k < kItems; ++k) {
        unsigned sum = 0u;
#pragma unroll 8
        for (int c = 0; c < CHUNK; ++c) {
          const int i = (first + k) * CHUNK + c;
          if (i < bs) {
            const int e = load_value(ext, i);
            visit(i, e);
            sum += static_cast<unsigned>(e);
          }
        }
        run[k] = sum;
      }
    }
  }
};

}  // namespace draftjit_kernels

#endif  // DRAFTJIT_BLELLOCH_SCAN_CUH
