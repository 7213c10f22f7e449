#include "jit/kernel_key.hpp"

#include <fmt/format.h>

#include "jit/hash.hpp"
#include "jit/templates.hpp"
#include "jit/version.hpp"

namespace draftjit::jit {

KernelKey make_key(const KernelSpec& spec, const Toolchain& toolchain) {
  KernelKey key;
  key.text = fmt::format("draftjit {} | renderer {} | nvrtc {} | {} | {} (spec {:x}) | {}", kVersion,
                         renderer_digest(), toolchain.nvrtc_version, toolchain.arch, spec.name(), spec.id(),
                         fmt::join(toolchain.options, " "));
  key.hash = hash_bytes(key.text);
  key.stem = fmt::format("{}.{}-{:016x}", spec.name(), toolchain.arch, key.hash);
  return key;
}

}  // namespace draftjit::jit
