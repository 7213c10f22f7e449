#include "jit/kernel_key.hpp"

#include <fmt/format.h>

#include "jit/hash.hpp"
#include "jit/version.hpp"

namespace draftjit::jit {

KernelKey make_key(const KernelSpec& spec, const Toolchain& toolchain, std::string_view source) {
  KernelKey key;
  key.text = fmt::format("draftjit {} | nvrtc {} | {} | {} | {} | source {:016x}+{}", kVersion,
                         toolchain.nvrtc_version, toolchain.arch, spec.name(), fmt::join(toolchain.options, " "),
                         hash_bytes(source), source.size());
  key.hash = hash_bytes(key.text);
  key.stem = fmt::format("{}.{}-{:016x}", spec.name(), toolchain.arch, key.hash);
  return key;
}

}  // namespace draftjit::jit
