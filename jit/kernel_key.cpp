#include "jit/kernel_key.hpp"

#include <fmt/format.h>

#include "jit/hash.hpp"
#include "jit/nvrtc_compiler.hpp"
#include "jit/version.hpp"

namespace draftjit::jit {

KernelKey make_key(const KernelSpec& spec, std::string_view arch, std::string_view source) {
  KernelKey key;
  key.text = fmt::format("draftjit {} | nvrtc {} | {} | {} | {} | source {:016x}+{}", kLibraryVersion,
                         nvrtc_version(), arch, spec.name(), fmt::join(compile_options(arch), " "),
                         hash_bytes(source), source.size());
  key.hash = hash_bytes(key.text);
  key.stem = fmt::format("{}.{}-{:016x}", spec.name(), arch, key.hash);
  return key;
}

}  // namespace draftjit::jit
