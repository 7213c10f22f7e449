#include "jit/nvrtc/codegen.hpp"

#include <fmt/format.h>

#include <set>
#include <string_view>

#include "jit/kernel_family.hpp"
#include "jit/nvrtc/templates.hpp"
#include "jit/version.hpp"

namespace draftjit::jit {
namespace {

constexpr std::string_view kNamespace = "draftjit_kernels";

// The scan type the kernel template is instantiated over, and the header that defines it.
struct ScanType {
  std::string type;  // "" for Scan::None, whose template takes the block size alone
  const char* header;
};

ScanType scan_type(const KernelSpec& spec) {
  switch (spec.scan) {
    case Scan::Unrolled:
      return {fmt::format("{}::UnrolledScan<{}, {}, {}>", kNamespace, spec.bs, spec.slots, spec.threads),
              "unrolled_scan.cuh"};
    case Scan::Blelloch:
      return {fmt::format("{}::BlellochScan<{}, {}, {}>", kNamespace, spec.slots, spec.chunk, spec.threads),
              "blelloch_scan.cuh"};
    case Scan::None: break;
  }
  return {"", nullptr};
}

// Appends `text` with each `#include "<name>"` of an embedded header replaced by that header's text, recursively,
// and dropped when the header is already in.
void append_inlined(std::string& out, std::string_view text, std::set<std::string_view>& included) {
  constexpr std::string_view kInclude = "#include \"";
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end == std::string_view::npos ? text.size() : end + 1);
    text.remove_prefix(line.size());
    if (line.starts_with(kInclude)) {
      const std::string_view name = line.substr(kInclude.size(), line.find('"', kInclude.size()) - kInclude.size());
      if (included.insert(name).second) append_inlined(out, template_text(name), included);
      continue;
    }
    out += line;
  }
}

}  // namespace

std::string render_instantiation(const KernelSpec& spec) {
  const KernelVariant& info = spec.variant_info();
  const ScanType scan = scan_type(spec);
  std::string arguments = scan.header != nullptr ? scan.type : std::to_string(spec.threads);
  if (spec.family_info().has_flags()) fmt::format_to(std::back_inserter(arguments), ", {}", spec.flags);
  std::string text = fmt::format("// draftjit {} kernel {}\n", kVersion, spec.name());
  if (scan.header != nullptr) fmt::format_to(std::back_inserter(text), "#include \"{}\"\n", scan.header);
  fmt::format_to(std::back_inserter(text),
                 "#include \"{}\"\n\n"
                 "extern \"C\" __global__ void __launch_bounds__({}) {}(const {}::{} p) {{\n"
                 "  {}::{}<{}>(p);\n"
                 "}}\n",
                 info.header, spec.threads, info.entry, kNamespace, info.params, kNamespace, info.kernel,
                 arguments);
  return text;
}

std::string inline_headers(std::string_view text) {
  std::string source;
  std::set<std::string_view> included;
  append_inlined(source, text, included);
  return source;
}

std::string render_source(const KernelSpec& spec) { return inline_headers(render_instantiation(spec)); }

}  // namespace draftjit::jit
