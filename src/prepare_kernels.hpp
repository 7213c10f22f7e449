#pragma once
// Loading kernels ahead of the calls that launch them: the one loop behind prepare_dsa, prepare_manifest and the
// front ends' prepare(kind=...).
#include <span>

#include "jit/kernel_spec.hpp"

namespace draftjit {

// Compiles (or reads from the caches) and loads each kernel into the context current on the calling thread, so
// that a later call or a CUDA graph capture does no JIT work. Safe beside another thread's capture.
void prepare_kernels(std::span<const jit::KernelSpec> specs);
inline void prepare_kernel(const jit::KernelSpec& spec) { prepare_kernels({&spec, 1}); }

}  // namespace draftjit
