#pragma once
#include <string_view>

namespace draftjit::jit {

// The CUDA templates of templates/, compiled into the library by cmake/EmbedTemplates.cmake (each enumerator is
// a file's stem).
enum class TemplateId {
  kernel_params,
  common,
  unrolled_block_scan,
  blelloch_block_scan,
  scan_unrolled_kernel,
  scan_blelloch_kernel,
  fused_kernel,
  fill_kernel,
};

std::string_view template_text(TemplateId id);

// 16 hex digits of SHA-256 over the templates and the renderer's sources (jit/codegen, jit/kernel_spec), taken at
// build time: the same spec renders the same source exactly when the digest is the same.
std::string_view renderer_digest();

}  // namespace draftjit::jit
