// Work-efficient (Blelloch) exclusive scan in shared memory, sized to a power of two. Slot i lives at
// slot_index(i) (kSwizzleSlots is set for these kinds), which keeps the tree's strided accesses off a single bank.
// Slot j holds the sum of the kChunk extend lengths from j * kChunk (kChunk > 1 only when bs exceeds what shared
// memory holds); slots past bs hold 0, so after the scan every slot at or after bs holds the total, which find_slot
// relies on. Sums wrap modulo 2^32; the callers detect int32 overflow of the total from the signs of the finished
// prefixes.
// With more slots than threads, each thread owns kItems consecutive slots and runs the tree's bottom log2(kItems)
// levels itself, in registers and without barriers; the shared tree then has one leaf per thread. Same result as
// the full tree, far fewer instructions and barriers per warp (docs/PERF.md, tuning step 9).
// When s_fill_base is non-null (kChunk == 1), it receives seq_lens[i] - extend_seq_lens[i] + 1 per request, so that
// the fill reads shared memory instead of making a second trip to global memory.
// Returns this thread's validation bits; s_scan, *s_total and s_fill_base are ready for every thread on return.
__device__ __forceinline__ int block_scan_to_shared(const int* __restrict__ ext, const int* __restrict__ seq, int bs,
                                                    unsigned* s_scan, unsigned* s_total, int* s_fill_base) {
  int bits = 0;
  auto accept = [&](int i, int e, int q) {  // validation and the fill's base for request i
    if (e < 0) bits |= kStatusNegativeExtendLen;
    if (q < e) bits |= kStatusSeqLenBelowExtend;
    if (s_fill_base != nullptr) s_fill_base[i] = q - e + 1;
  };
  if constexpr (kChunk == 1) {
    // Every load of this thread is issued before the first is used: one global-memory round trip, not one per slot.
    constexpr int kPerThread = (kSlots + kThreads - 1) / kThreads;
    int e[kPerThread];
    int q[kPerThread];
#pragma unroll
    for (int p = 0; p < kPerThread; ++p) {
      const int i = threadIdx.x + p * kThreads;
      e[p] = i < bs ? __ldg(&ext[i]) : 0;
      q[p] = i < bs ? __ldg(&seq[i]) : 0;
    }
#pragma unroll
    for (int p = 0; p < kPerThread; ++p) {
      const int i = threadIdx.x + p * kThreads;
      if (i < bs) accept(i, e[p], q[p]);
      if (i < kSlots) s_scan[slot_index(i)] = e[p];
    }
  } else {
    for (int j = threadIdx.x; j < kSlots; j += kThreads) {
      unsigned sum = 0u;
#pragma unroll
      for (int k = 0; k < kChunk; ++k) {
        const int i = j * kChunk + k;
        if (i < bs) {
          const int e = __ldg(&ext[i]);
          accept(i, e, __ldg(&seq[i]));
          sum += e;
        }
      }
      s_scan[slot_index(j)] = sum;
    }
  }

  constexpr int kItems = kSlots > kThreads ? kSlots / kThreads : 1;
  constexpr int kLeaves = kSlots / kItems;
  unsigned local[kItems];  // this thread's slots, then their prefixes within the thread's run
  const int first_slot = threadIdx.x * kItems;
  if constexpr (kItems > 1) {
    __syncthreads();
    unsigned running = 0u;
#pragma unroll
    for (int k = 0; k < kItems; ++k) {
      const unsigned value = s_scan[slot_index(first_slot + k)];
      local[k] = running;
      running += value;
    }
    s_scan[slot_index(first_slot + kItems - 1)] = running;  // the leaf: the run's sum
  }

  // Levels of at most 32 active pairs run inside warp 0, so __syncwarp orders them; a block-wide barrier is needed
  // only where the previous or the current level spans several warps (and before the first level).
  int stride = kItems;
#pragma unroll
  for (int active = kLeaves / 2; active > 0; active /= 2) {  // up-sweep: s_scan[last of pair] += s_scan[first]
    if (active == kLeaves / 2 || active > 16) {
      __syncthreads();
    } else {
      __syncwarp();
    }
    for (int k = threadIdx.x; k < active; k += kThreads) {
      s_scan[slot_index(stride * (2 * k + 2) - 1)] += s_scan[slot_index(stride * (2 * k + 1) - 1)];
    }
    stride *= 2;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    *s_total = s_scan[slot_index(kSlots - 1)];
    s_scan[slot_index(kSlots - 1)] = 0u;
  }
#pragma unroll
  for (int active = 1; active < kLeaves; active *= 2) {  // down-sweep: swap and add
    stride /= 2;
    if (active > 32) {
      __syncthreads();
    } else {
      __syncwarp();
    }
    for (int k = threadIdx.x; k < active; k += kThreads) {
      const int left = slot_index(stride * (2 * k + 1) - 1);
      const int right = slot_index(stride * (2 * k + 2) - 1);
      const unsigned carried = s_scan[left];
      s_scan[left] = s_scan[right];
      s_scan[right] += carried;
    }
  }
  if constexpr (kItems > 1) {
    // The leaf now holds the exclusive prefix of the thread's first slot; expand it back over the run.
    __syncthreads();
    const unsigned base = s_scan[slot_index(first_slot + kItems - 1)];
#pragma unroll
    for (int k = 0; k < kItems; ++k) s_scan[slot_index(first_slot + k)] = base + local[k];
  }
  __syncthreads();
  return bits;
}
