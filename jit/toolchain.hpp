#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace draftjit::jit {

// What compiles a kernel for one target: the architecture, NVRTC's options and NVRTC's version. Built and validated
// once per target (per context at run time, per --arch in the CLI); every later stage takes it as given.
struct Toolchain {
  std::string arch;                  // "sm_90"
  std::vector<std::string> options;  // NVRTC options (plus $DRAFTJIT_NVRTC_OPTIONS), part of every key
  std::string nvrtc_version;         // "13.0", part of every key

  // Throws std::invalid_argument unless arch names a real architecture (sm_90, sm_90a, sm_100) that this NVRTC
  // can compile for; the message lists the ones it can.
  static Toolchain for_arch(std::string_view arch);
};

// The real architectures this NVRTC compiles for, e.g. {"sm_75", ..., "sm_120"}.
std::vector<std::string> supported_archs();

}  // namespace draftjit::jit
