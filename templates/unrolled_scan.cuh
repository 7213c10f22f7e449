// The sequential scan for small batches, specialised for exactly BS requests: every loop below has a trip count
// known at compile time and is fully unrolled, so the compiled scan is BS independent loads, then BS adds in one
// dependency chain, with no loop and no barrier inside it (tests/filecheck/unrolled_scan_ptx.test checks the PTX).
#ifndef DRAFTJIT_UNROLLED_SCAN_CUH
#define DRAFTJIT_UNROLLED_SCAN_CUH

#include "common.cuh"

namespace draftjit_kernels {

// SLOTS (a power of two >= BS) is the shared scan's size, so that the fused kernel's search over it is a fixed
// number of halvings; THREADS is the block that shares the work around the scan.
template <int BS, int SLOTS, int THREADS>
struct UnrolledScan {
  static_assert(BS >= 0 && SLOTS >= BS && SLOTS > 0 && (SLOTS & (SLOTS - 1)) == 0, "SLOTS: a power of two >= BS");
  enum : int {
    kBs = BS,
    kSlots = SLOTS,
    kChunk = 1,
    kThreads = THREADS,
    kSequential = true,  // exclusive() runs the whole scan in the calling thread
  };

  // One writer thread and no strided reads: the plain layout.
  __device__ static int slot(int i) { return i; }

  // Run by one thread: out[i] = ext[0] + ... + ext[i - 1] for i < BS and the total for BS <= i < END, *total the
  // sum, and visit sees every request (i, ext[i]), where ext is an array or a functor (load_value). Sums wrap modulo
  // 2^32. Returns the OR of every prefix: its sign bit is set iff one passed INT32_MAX.
  template <int END, class Values, class Visit>
  __device__ static int exclusive(const Values& ext, unsigned* __restrict__ out, unsigned* total, Visit visit) {
    int e[BS > 0 ? BS : 1];
#pragma unroll
    for (int i = 0; i < BS; ++i) e[i] = load_value(ext, i);  // every load before the first add: one round trip
#pragma unroll
    for (int i = 0; i < BS; ++i) visit(i, e[i]);  // first, so that the visitor's own loads join that round trip
    unsigned acc = 0u;
    int wrapped = 0;
#pragma unroll
    for (int i = 0; i < BS; ++i) {
      out[i] = acc;
      acc += static_cast<unsigned>(e[i]);
      wrapped |= static_cast<int>(acc);
    }
#pragma unroll
    for (int i = BS; i < END; ++i) out[i] = acc;
    *total = acc;
    return wrapped;
  }

  // Block-wide: thread 0 runs the prefix into slots (the total past BS) while every thread, thread 0 afterwards,
  // passes its requests (i, ext[i]) to visit. Only the prefix is sequential: checks riding on thread 0 tripled its
  // chain (docs/PERF.md, tuning step 15). slots and *total are ready after the caller's next __syncthreads().
  template <class Values, class Visit>
  __device__ static void block_exclusive(const Values& ext, int /*bs: BS*/, unsigned* slots, unsigned* total,
                                         Visit visit) {
    if (threadIdx.x == 0) exclusive<SLOTS>(ext, slots, total, [](int, int) {});
    constexpr int kPerThread = (BS + THREADS - 1) / THREADS;
#pragma unroll
    for (int p = 0; p < kPerThread; ++p) {
      const int i = threadIdx.x + p * THREADS;
      if (i < BS) visit(i, load_value(ext, i));
    }
  }
};

}  // namespace draftjit_kernels

#endif  // DRAFTJIT_UNROLLED_SCAN_CUH
