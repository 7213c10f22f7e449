#pragma once
#include <span>
#include <string_view>

namespace draftjit::jit {

// One header of templates/, compiled into the library by cmake/EmbedTemplates.cmake.
struct EmbeddedTemplate {
  std::string_view file_name;  // "fused_kernel.cuh": what the headers #include each other by
  std::string_view text;
};
std::span<const EmbeddedTemplate> embedded_templates();

// The text of templates/<file_name>. Throws std::logic_error for a name that is not embedded.
std::string_view template_text(std::string_view file_name);

// 16 hex digits of SHA-256 over the templates and the renderer's sources (jit/codegen, jit/kernel_spec), taken at
// build time: the same spec renders the same source exactly when the digest is the same.
std::string_view renderer_digest();

}  // namespace draftjit::jit
