#pragma once
#include <cstdint>
#include <string>

#include "jit/kernel_spec.hpp"
#include "jit/toolchain.hpp"

namespace draftjit::jit {

// Identity of one compiled kernel: everything that can change its cubin. `text` is the whole identity (stored in
// disk-cache headers and compared on load); `hash` is its 64-bit digest; `stem` names files and appears in errors.
struct KernelKey {
  std::string text;
  std::uint64_t hash = 0;
  std::string stem;  // "fused_unrolled.bs5.t128.sm_90-0123456789abcdef"
};

// The spec, the renderer's build-time digest (which stands for the source the spec renders to), the toolchain (arch,
// options, NVRTC version) and the library version. Renders nothing: a disk hit never builds the source.
KernelKey make_key(const KernelSpec& spec, const Toolchain& toolchain);

}  // namespace draftjit::jit
