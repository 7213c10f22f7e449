#pragma once
#include <cstdint>
#include <string>
#include <string_view>

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

// Hashes the rendered source together with the toolchain (arch, options, NVRTC version) and the library version.
KernelKey make_key(const KernelSpec& spec, const Toolchain& toolchain, std::string_view source);

}  // namespace draftjit::jit
