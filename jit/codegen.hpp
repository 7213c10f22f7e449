#pragma once
#include <string>

#include "jit/kernel_spec.hpp"

namespace draftjit::jit {

// The complete CUDA source of one specialisation: a prologue of constants, the kernels' parameter structs, the
// shared helpers, the scan (generated straight-line code for the unrolled kinds, the Blelloch template otherwise)
// and the kernel. Deterministic: the same spec always renders the same bytes, which the kernel key relies on.
std::string render_source(const KernelSpec& spec);

// The generated device function `unrolled_scan` of the standalone scan kernel (one thread) for exactly bs requests:
// bs independent loads of each array, then exactly bs adds with no loop; it writes the bs + 1 exclusive offsets and
// returns the status bits (negative length, int32 overflow, seq < ext).
std::string render_unrolled_scan(int bs);

// The generated `unrolled_prefix` that thread 0 of the fused kernel runs: the same straight-line prefix over ext
// alone, into pad_end shared slots (the total repeated past bs). The block checks the requests and computes their
// fill bases in parallel meanwhile (templates/unrolled_block_scan.cuh), and the fused kernel detects overflow from
// the slots' signs, so nothing else is sequential.
std::string render_unrolled_prefix(int bs, int pad_end);

}  // namespace draftjit::jit
