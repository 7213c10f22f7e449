#include "jit/kernel_key.hpp"

#include <fmt/format.h>

#include "jit/nvrtc/codegen.hpp"
#include "jit/hash.hpp"
#include "jit/outside_text.hpp"
#include "jit/nvrtc/templates.hpp"
#include "jit/version.hpp"

namespace draftjit::jit {
namespace {

// Where make_key's text names the kernel, " | <arch> | <spec name> (spec ": what key_of_text reads back.
constexpr std::string_view kFieldBar = " | ";
constexpr std::string_view kSpecOpen = " (spec ";

std::string stem_for(std::string_view spec_name, std::string_view arch, std::uint64_t hash) {
  return fmt::format("{}.{}-{:016x}", spec_name, arch, hash);
}

// What every key of this build starts with: make_key's first fields.
std::string build_prefix() { return fmt::format("draftjit {} | headers {} | ", kVersion, templates_digest()); }

}  // namespace

KernelKey make_key(const KernelSpec& spec, const Toolchain& toolchain) {
  KernelKey key;
  // key_of_text reads " | <arch> | <spec name> (spec " back: change the two together.
  // The headers' digest (in build_prefix) and the instantiation decide the source; no host code does (editing a
  // message re-keys nothing).
  key.text = build_prefix() + fmt::format("instantiation {:016x} | nvrtc {} | {} | {} (spec {:x}) | {}",
                                         hash_bytes(render_instantiation(spec)), toolchain.nvrtc_version,
                                         toolchain.arch, spec.name(), spec.id(), fmt::join(toolchain.options, " "));
  key.hash = hash_bytes(key.text);
  key.stem = stem_for(spec.name(), toolchain.arch, key.hash);
  return key;
}

std::optional<KernelKey> key_of_text(std::string_view text) {
  const std::size_t spec_open = text.find(kSpecOpen);  // the first: the options after it may hold anything
  if (spec_open == std::string_view::npos || spec_open < kFieldBar.size()) return std::nullopt;
  const std::size_t name_bar = text.rfind(kFieldBar, spec_open - kFieldBar.size());
  if (name_bar == std::string_view::npos || name_bar < kFieldBar.size()) return std::nullopt;
  const std::size_t arch_bar = text.rfind(kFieldBar, name_bar - kFieldBar.size());
  if (arch_bar == std::string_view::npos) return std::nullopt;
  const std::string_view name = text.substr(name_bar + kFieldBar.size(), spec_open - name_bar - kFieldBar.size());
  const std::string_view arch = text.substr(arch_bar + kFieldBar.size(), name_bar - arch_bar - kFieldBar.size());
  if (name.empty() || arch.empty()) return std::nullopt;
  KernelKey key;
  key.text = std::string(text);
  key.hash = hash_bytes(text);
  key.stem = stem_for(name, arch, key.hash);
  return key;
}

std::optional<KernelKey> check_named_for_its_key(CacheFile& file, std::string_view file_name) {
  if (file.state != FileState::Valid) return std::nullopt;
  std::optional<KernelKey> key = key_of_text(file.key);
  if (key && file_name == key->stem + std::string(kEntrySuffix)) return key;
  file.state = FileState::Damaged;
  file.problem = fmt::format("its name does not name the kernel its key is for ({})", shown(file.key));
  return std::nullopt;
}

std::optional<std::string> made_by_another_build(std::string_view key_text) {
  const std::string ours = build_prefix();
  if (key_text.starts_with(ours)) return std::nullopt;
  // The other build's fields as its key names them: "draftjit <version> | headers <digest>".
  const std::size_t second_bar = key_text.find(kFieldBar, key_text.find(kFieldBar) + 1);
  return fmt::format("made by another build ({}); this is {}: no load of this draftjit would use it",
                     shown(key_text.substr(0, second_bar), 80), ours.substr(0, ours.size() - kFieldBar.size()));
}

std::string_view arch_of_stem(std::string_view stem) {
  const std::size_t dash = stem.rfind('-');  // before the hash, which has none
  if (dash == std::string_view::npos) return {};
  const std::string_view name_and_arch = stem.substr(0, dash);
  const std::size_t dot = name_and_arch.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : name_and_arch.substr(dot + 1);
}

}  // namespace draftjit::jit
