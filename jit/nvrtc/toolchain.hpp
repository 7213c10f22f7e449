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

  // Throws std::invalid_argument unless arch names a real architecture (sm_90, sm_90a, sm_100) or a virtual one
  // (compute_90) whose number this NVRTC compiles for; the message lists the ones it can. Throws draftjit::Error when
  // no NVRTC can be loaded.
  static Toolchain for_arch(std::string_view arch);

  // A virtual arch: NVRTC emits PTX only, and the "cubin" bytes of its kernels are the PTX text with its NUL, which
  // cuModuleLoadData takes and the driver finishes (JIT-compiles) for the GPU at hand.
  bool emits_ptx() const;
};

// The toolchain for a GPU of device_arch ("sm_90", from the driver): that arch when NVRTC compiles for it; else PTX
// of the newest virtual arch NVRTC has at or below it (compute_100 for an sm_110 this NVRTC does not know), which the
// driver finishes at load; else draftjit::Error naming the GPU's arch, NVRTC's version and what it compiles for.
Toolchain choose_toolchain_for_device(std::string_view device_arch);

// True for compute_XX (compute_90, compute_90a); needs no NVRTC.
bool is_virtual_arch(std::string_view arch);

// The number of an arch name: 90 for sm_90, sm_90a and compute_90; -1 for a text that is not one.
int arch_number(std::string_view arch);

// Throws std::invalid_argument unless arch is shaped like an architecture Toolchain::for_arch takes. Needs no NVRTC:
// for what checks an --arch but compiles nothing (`draftjit emit` of the source).
void check_arch_name(std::string_view arch);

// The real architectures this NVRTC compiles for, e.g. {"sm_75", ..., "sm_120"}, and its version, e.g. "13.0". Like
// every NVRTC query these load NVRTC on first use and throw draftjit::Error when it cannot be found.
std::vector<std::string> supported_archs();
std::string nvrtc_version();

}  // namespace draftjit::jit
