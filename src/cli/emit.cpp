#include <fmt/format.h>

#include <stdexcept>

#include "commands.hpp"
#include "jit/emit.hpp"

namespace draftjit::cli {

int run_emit(const Args& args) {
  std::vector<std::string> flags = {"--ptx", "--cubin-info"};
  flags.insert(flags.end(), kDsaSwitchFlags.begin(), kDsaSwitchFlags.end());
  const Options options(args, {"--bs", "--kind", "--arch", "--unroll-max", "--fused-max"}, flags);
  if (!options.has("--bs")) throw std::invalid_argument("--bs is required");
  if (options.has("--ptx") && options.has("--cubin-info")) {
    throw std::invalid_argument("--ptx and --cubin-info exclude each other");
  }
  const int bs = options.get_int("--bs", 0);
  const Tuning tuning = tuning_from(options);
  const std::optional<DsaMode> dsa = dsa_mode_from(options);
  if (!dsa) jit::check_bs(bs, "--bs");
  const jit::KernelSpec spec = dsa ? jit::dsa_spec(*dsa, bs, dsa_switches_from(options), tuning)
                                   : jit::spec_for_call(options.get("--kind", "main"), bs, tuning);
  const jit::EmitOutput output = options.has("--ptx")          ? jit::EmitOutput::Ptx
                                 : options.has("--cubin-info") ? jit::EmitOutput::CubinInfo
                                                               : jit::EmitOutput::Source;
  fmt::print("{}", jit::emit(spec, options.get("--arch", "sm_90"), output));
  return 0;
}

}  // namespace draftjit::cli
