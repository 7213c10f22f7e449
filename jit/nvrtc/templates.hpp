#pragma once
#include <span>
#include <string_view>

namespace draftjit::jit {

// One header of templates/ or ops/<family>/, compiled into the library by cmake/EmbedTemplates.cmake.
struct EmbeddedTemplate {
  std::string_view file_name;  // "fused_kernel.cuh": what the headers #include each other by
  std::string_view text;
};
std::span<const EmbeddedTemplate> embedded_templates();

// The text of templates/<file_name>. Throws std::logic_error for a name that is not embedded.
std::string_view template_text(std::string_view file_name);

// 16 hex digits of SHA-256 over the embedded headers, taken at build time. With a spec's instantiation
// (render_instantiation, a few lines) it decides the rendered source: the kernel key carries both.
std::string_view templates_digest();

}  // namespace draftjit::jit
