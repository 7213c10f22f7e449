#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "jit/cache/cache_file.hpp"
#include "jit/kernel_spec.hpp"
#include "jit/nvrtc/toolchain.hpp"

namespace draftjit::jit {

// Identity of one compiled kernel: everything that can change its cubin. `text` is the whole identity (stored in
// disk-cache headers and compared on load); `hash` is its 64-bit digest; `stem` names files and appears in errors.
struct KernelKey {
  std::string text;
  std::uint64_t hash = 0;
  std::string stem;  // "fused_unrolled.bs5.t128.sm_90-0123456789abcdef"
};

// The spec, the embedded headers' build-time digest and the spec's instantiation (which together stand for the source
// the spec renders to), the toolchain (arch, options, NVRTC version) and the library version. Inlines no header: a
// disk hit never builds the source.
KernelKey make_key(const KernelSpec& spec, const Toolchain& toolchain);

// The key make_key gives whose full text is `text`: its hash, and its stem read back from the arch and spec name in
// it; nullopt when the text is not laid out as make_key writes it. An entry is found only under "<stem>.cubin": what
// an imported entry's name must be (its key hash alone, which read_cache_file checks, leaves the rest free).
std::optional<KernelKey> key_of_text(std::string_view text);

// The key a Valid entry holds, after checking that file_name is that key's "<stem>.cubin"; otherwise the file is
// marked Damaged (saying so) and nullopt returned. A renamed entry keeps the key hash its name carries, which
// read_cache_file checks, but under another spec's or arch's name no load ever looks it up. For `cache verify`,
// `list` and import; a load looks up the name it derives from its key, so it needs no such check.
std::optional<KernelKey> check_named_for_its_key(CacheFile& file, std::string_view file_name);

// Why no load of this build would ever use an entry under key text (made by another draftjit version, or by a build
// whose kernel headers differ: make_key puts both first), or nullopt when this build could have made it.
std::optional<std::string> made_by_another_build(std::string_view key_text);

// The arch in a stem, or in a file name that starts with one ("fused_unrolled.bs5.t128.compute_90-0123.cubin" ->
// "compute_90"); empty when there is none. For listings: `cache list` marks the PTX entries.
std::string_view arch_of_stem(std::string_view stem);

}  // namespace draftjit::jit
