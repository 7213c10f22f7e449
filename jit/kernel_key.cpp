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

std::string_view arch_of_stem(std::string_view stem) {
  const std::size_t dash = stem.rfind('-');  // before the hash, which has none
  if (dash == std::string_view::npos) return {};
  const std::string_view name_and_arch = stem.substr(0, dash);
  const std::size_t dot = name_and_arch.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : name_and_arch.substr(dot + 1);
}

}  // namespace draftjit::jit
