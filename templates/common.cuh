// Shared by every draftjit kernel. The rendered prologue above this text defines kThreads, kSlots, kChunk and the
// kStatus* bits, so the status words here always match the host's draftjit::Status enum.

// Drops bits that an earlier bit makes meaningless, then adds the capacity check, which needs a trustworthy total.
__device__ __forceinline__ int finalize_status(int bits, unsigned total, long long capacity) {
  if (bits & kStatusNegativeExtendLen) bits &= ~kStatusTotalOverflow;
  if (!(bits & (kStatusNegativeExtendLen | kStatusTotalOverflow)) && static_cast<long long>(total) > capacity) {
    bits |= kStatusCapacityExceeded;
  }
  return bits;
}

// Where slot i of s_scan lives. The Blelloch tree reads slots 2^k apart, which would all fall into one of the 32
// shared-memory banks; XOR-ing the low five bits with the row number spreads them without padding the array.
// The unrolled kinds (one writer thread) keep the plain layout.
__device__ __forceinline__ int slot_index(int i) { return kSwizzleSlots ? i ^ ((i >> 5) & 31) : i; }

// Largest slot b with s_scan[slot_index(b)] <= t. Slots at and after bs hold the total, so for t < total the answer
// is a real request; kSlots is a power of two, so the search is log2(kSlots) unrolled, branch-free steps.
__device__ __forceinline__ int find_slot(const unsigned* s_scan, unsigned t) {
  int b = 0;
#pragma unroll
  for (int step = kSlots / 2; step > 0; step /= 2) {
    if (s_scan[slot_index(b + step)] <= t) b += step;
  }
  return b;
}

// Token t's outputs, where fill_base is seq_lens[b] - extend_seq_lens[b] + 1 of its request b and local its index
// there.
__device__ __forceinline__ void write_token(int fill_base, int local, int topk, unsigned t,
                                            int* __restrict__ out_expanded, int* __restrict__ out_cache) {
  const int expanded = fill_base + local;
  out_expanded[t] = expanded;
  out_cache[t] = min(expanded, topk);
}
