#include "prepare_kernels.hpp"

#include "capture_mode.hpp"
#include "context_registry.hpp"

namespace draftjit {

void prepare_kernels(std::span<const jit::KernelSpec> specs) {
  const RelaxedCaptureMode relaxed;  // module loads, beside another thread's capture
  Context& context = current_context();
  for (const jit::KernelSpec& spec : specs) context.kernel(spec);
}

}  // namespace draftjit
