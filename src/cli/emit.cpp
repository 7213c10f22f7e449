#include <fmt/format.h>

#include <stdexcept>

#include "commands.hpp"
#include "jit/codegen.hpp"
#include "jit/kernel_key.hpp"
#include "jit/nvrtc_compiler.hpp"

namespace draftjit::cli {

int run_emit(const Args& args) {
  const Options options(args, {"--bs", "--kind", "--arch", "--unroll-max", "--fused-max"}, {"--ptx", "--cubin-info"});
  if (!options.has("--bs")) throw std::invalid_argument("--bs is required");
  const int bs = options.get_int("--bs", 0);
  jit::check_bs(bs, "--bs");
  const jit::Tuning tuning = tuning_from(options);
  const std::string kind = options.get("--kind", jit::fits_fused(bs, tuning) ? "fused" : "scan");
  jit::KernelSpec spec;
  if (kind == "fused") {
    spec = jit::fused_spec(bs, tuning);
  } else if (kind == "scan") {
    spec = jit::scan_spec(bs, tuning);
  } else if (kind == "fill") {
    spec = jit::fill_spec(tuning);
  } else {
    throw std::invalid_argument(fmt::format("--kind must be fused, scan or fill, not '{}'", kind));
  }

  const std::string source = jit::render_source(spec);
  if (!options.has("--ptx") && !options.has("--cubin-info")) {
    fmt::print("{}", source);
    return 0;
  }
  const std::string arch = options.get("--arch", "sm_90");
  const jit::KernelKey key = jit::make_key(spec, arch, source);
  const jit::CompileOutput out = jit::compile(source, arch, key.stem, options.has("--ptx"));
  if (options.has("--ptx")) {
    fmt::print("{}", out.ptx);
  } else {
    fmt::print("kernel: {}\nentry: {}\nkey: {}\ncubin bytes: {}\nnvrtc log: {}\n", key.stem, spec.entry(), key.text,
               out.cubin.size(), out.log.empty() ? "(empty)" : out.log);
  }
  return 0;
}

}  // namespace draftjit::cli
