#pragma once
// How a family's spec lays out its scan, the one definition every family uses.
#include <algorithm>

#include "jit/kernel_spec.hpp"

namespace draftjit::ops {

// The unrolled scan runs over exactly bs lengths, into next_pow2(bs) slots of one length each.
inline jit::KernelSpec unrolled(jit::KernelSpec spec, int bs, int threads) {
  spec.scan = jit::Scan::Unrolled;
  spec.bs = bs;
  spec.slots = jit::next_pow2(bs);
  spec.chunk = 1;
  spec.threads = threads;
  return spec;
}

// Slots cover next_pow2(bs) lengths; past kMaxSlots each slot takes a power-of-two chunk of them. The block gets
// one thread per slots_per_thread slots, within [min_threads, max_threads].
inline jit::KernelSpec blelloch(jit::KernelSpec spec, int bs, int min_threads, int max_threads,
                                int slots_per_thread) {
  const int lengths = jit::next_pow2(bs);
  spec.scan = jit::Scan::Blelloch;
  spec.bs = 0;
  spec.slots = std::min(lengths, jit::kMaxSlots);
  spec.chunk = lengths / spec.slots;
  spec.threads = std::max(min_threads, std::min(max_threads, spec.slots / slots_per_thread));
  return spec;
}

}  // namespace draftjit::ops
