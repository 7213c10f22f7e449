#pragma once
#include <fmt/format.h>

#include <cstdint>

#include "capture_mode.hpp"
#include "context_registry.hpp"
#include "draftjit/errors.hpp"

namespace draftjit {

// A kernel of a call, loading it on first use, unless the call's stream is capturing a graph: compiling or loading
// a module there would break the capture, so that is an error ending with advice(), the call that loads it ahead.
// Checked only when the kernel is missing, so a warm call asks the driver nothing and formats nothing.
template <class Advice>
const LoadedKernel& kernel_for_call(Context& context, const jit::KernelSpec& spec, std::int64_t bs, CUstream stream,
                                    const char* call, Advice advice) {
  if (const LoadedKernel* loaded = context.find(spec)) return *loaded;
  if (stream != nullptr && is_capturing(stream)) {
    throw Error(fmt::format("{}: bs = {} needs kernel {}, which is not loaded in this context, while the call's "
                            "stream is capturing a CUDA graph; compiling or loading it there would break the capture. "
                            "{}",
                            call, bs, spec.name(), advice()));
  }
  const RelaxedCaptureMode relaxed;  // loading must not fail or break another thread's global-mode capture
  return context.kernel(spec);
}

}  // namespace draftjit
