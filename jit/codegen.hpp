#pragma once
#include <string>

#include "jit/kernel_spec.hpp"

namespace draftjit::jit {

// The complete CUDA source of one specialisation: a prologue of constants, the kernels' parameter structs, the
// shared helpers, the scan (generated straight-line code for the unrolled kinds, the Blelloch template otherwise)
// and the kernel. Deterministic: the same spec always renders the same bytes, which the kernel key relies on.
std::string render_source(const KernelSpec& spec);

// The generated device function `unrolled_scan` for exactly bs requests: bs independent loads of each array, then
// exactly bs adds with no loop. It writes out[0..pad_end) (exclusive offsets, then the total repeated) and, when
// its `fill_base` argument is non-null, fill_base[i] = seq[i] - ext[i] + 1.
std::string render_unrolled_scan(int bs, int pad_end);

}  // namespace draftjit::jit
