#include <fmt/format.h>

#include <stdexcept>

#include "commands.hpp"
#include "jit/codegen.hpp"
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
  const std::string arch = options.get("--arch", "sm_90");
  if (!options.has("--ptx") && !options.has("--cubin-info")) {
    // The source alone needs no NVRTC (it may be absent here): --arch is checked for its shape only.
    jit::check_arch_name(arch);
    fmt::print("{}", jit::render_source(spec));
    return 0;
  }
  const jit::Toolchain toolchain = jit::Toolchain::for_arch(arch);

  if (options.has("--cubin-info")) {
    // Through the pipeline like the runtime, but in memory only: emit never touches the disk cache.
    jit::Pipeline pipeline;
    const auto compiled = pipeline.get(spec, toolchain);
    fmt::print("kernel: {}\nentry: {}\nkey: {}\ncubin bytes: {}\n", compiled->key.stem, compiled->entry,
               compiled->key.text, compiled->cubin.size());
    return 0;
  }
  // PTX is never cached: this is the one path that calls NVRTC outside the pipeline, on purpose.
  const jit::RenderedKernel rendered = jit::render(spec, toolchain);
  fmt::print("{}", jit::compile(rendered.source, toolchain, rendered.key.stem, true).ptx);
  return 0;
}

}  // namespace draftjit::cli
