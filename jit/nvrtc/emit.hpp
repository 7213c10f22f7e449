#pragma once
#include <string>
#include <string_view>

#include "jit/kernel_spec.hpp"

namespace draftjit::jit {

enum class EmitOutput {
  Source,     // the rendered CUDA source; needs no NVRTC (arch is checked for its shape only)
  Ptx,        // NVRTC's PTX for arch, never cached
  CubinInfo,  // the kernel's name, entry, key and code size, compiled through a memory-only pipeline
};

// What `draftjit emit` and Python's draftjit.emit() print for one spec: the one implementation behind both.
std::string emit(const KernelSpec& spec, std::string_view arch, EmitOutput output);

}  // namespace draftjit::jit
