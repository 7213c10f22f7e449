#pragma once
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

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

// The advice of a call whose kernel draftjit::<prepare_function> loads ahead, the Python prepare's kind `kind`.
inline std::string prepare_advice(const char* prepare_function, std::string_view kind) {
  return fmt::format("Call draftjit::{} for these switches (Python: draftjit.prepare(bs, kind=\"{}\", switches=...)) "
                     "before capturing",
                     prepare_function, kind);
}

// One wave: the blocks of kernel resident on the context's device at once. Grids stop there, as blocks past it
// would only wait for a free SM.
inline std::int64_t resident_wave(const Context& context, const LoadedKernel& kernel) {
  return std::int64_t{context.sm_count()} * kernel.blocks_per_sm;
}

// The grid of a kernel whose first `leading` blocks do fixed work (block 0's prefixes) and whose other blocks stride
// over `items`: at most one resident wave; yet one worker at least where there are items, since the leading blocks
// take none, and never an empty grid, which the driver rejects.
inline unsigned wave_blocks(const Context& context, const LoadedKernel& kernel, std::int64_t items, int leading = 0) {
  const std::int64_t wave = resident_wave(context, kernel);
  const std::int64_t workers = std::min(items, std::max<std::int64_t>(1, wave - leading));
  return static_cast<unsigned>(std::max<std::int64_t>(1, leading + workers));
}

}  // namespace draftjit
