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

}  // namespace draftjit::jit
