#include <fmt/format.h>

#include <stdexcept>

#include "commands.hpp"
#include "jit/nvrtc/emit.hpp"

namespace draftjit::cli {

int run_emit(const Args& args) {
  std::vector<std::string> flags = switch_flags();
  flags.insert(flags.end(), {"--ptx", "--cubin-info"});
  const Options options(args, {"--bs", "--kind", "--arch", "--unroll-max", "--fused-max"}, flags);
  if (!options.has("--bs")) throw std::invalid_argument("--bs is required");
  if (options.has("--ptx") && options.has("--cubin-info")) {
    throw std::invalid_argument("--ptx and --cubin-info exclude each other");
  }
  const int bs = options.get_int("--bs", 0);
  const Tuning tuning = tuning_from(options);
  const KindChoice choice = kind_from(options, "main");
  const jit::KernelSpec spec = choice.kind->plan(bs, choice.flags, tuning).front();  // the call's main kernel
  const jit::EmitOutput output = options.has("--ptx")          ? jit::EmitOutput::Ptx
                                 : options.has("--cubin-info") ? jit::EmitOutput::CubinInfo
                                                               : jit::EmitOutput::Source;
  fmt::print("{}", jit::emit(spec, options.get("--arch", "sm_90"), output));
  return 0;
}

}  // namespace draftjit::cli
