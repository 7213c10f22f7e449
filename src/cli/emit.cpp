#include <fmt/format.h>

#include <stdexcept>

#include "commands.hpp"
#include "jit/nvrtc_compiler.hpp"
#include "jit/pipeline.hpp"

namespace draftjit::cli {

int run_emit(const Args& args) {
  const Options options(args, {"--bs", "--kind", "--arch", "--unroll-max", "--fused-max"}, {"--ptx", "--cubin-info"});
  if (!options.has("--bs")) throw std::invalid_argument("--bs is required");
  if (options.has("--ptx") && options.has("--cubin-info")) {
    throw std::invalid_argument("--ptx and --cubin-info exclude each other");
  }
  const int bs = options.get_int("--bs", 0);
  jit::check_bs(bs, "--bs");
  const Tuning tuning = tuning_from(options);
  const jit::KernelSpec spec = jit::spec_for_call(options.get("--kind", "main"), bs, tuning);
  const jit::Toolchain toolchain = jit::Toolchain::for_arch(options.get("--arch", "sm_90"));

  if (options.has("--cubin-info")) {
    // Through the pipeline like the runtime, but in memory only: emit never touches the disk cache.
    jit::Pipeline pipeline;
    const auto compiled = pipeline.get(spec, toolchain);
    fmt::print("kernel: {}\nentry: {}\nkey: {}\ncubin bytes: {}\n", compiled->key.stem, compiled->entry,
               compiled->key.text, compiled->cubin.size());
    return 0;
  }
  const jit::RenderedKernel rendered = jit::render(spec, toolchain);
  if (options.has("--ptx")) {
    // PTX is never cached: this is the one path that calls NVRTC outside the pipeline, on purpose.
    fmt::print("{}", jit::compile(rendered.source, toolchain, rendered.key.stem, true).ptx);
  } else {
    fmt::print("{}", rendered.source);
  }
  return 0;
}

}  // namespace draftjit::cli
