#pragma once
// <nvrtc.h> for the types and signatures only: libnvrtc is opened with dlopen on first use, so the library, the
// CLI's source-only commands and the Python module load (and `import draftjit` works) where no NVRTC is installed.
#include <nvrtc.h>

#include <string>
#include <vector>

namespace draftjit::jit {

// Every NVRTC entry point draftjit uses, listed once. Each member has the type of the function <nvrtc.h> declares
// (taking its address in decltype is not a use, so nothing links against libnvrtc).
#define DRAFTJIT_NVRTC_ENTRY_POINTS(X) \
  X(nvrtcVersion)                      \
  X(nvrtcGetNumSupportedArchs)         \
  X(nvrtcGetSupportedArchs)            \
  X(nvrtcCreateProgram)                \
  X(nvrtcDestroyProgram)               \
  X(nvrtcCompileProgram)               \
  X(nvrtcGetProgramLogSize)            \
  X(nvrtcGetProgramLog)                \
  X(nvrtcGetCUBINSize)                 \
  X(nvrtcGetCUBIN)                     \
  X(nvrtcGetPTXSize)                   \
  X(nvrtcGetPTX)                       \
  X(nvrtcGetErrorString)

struct NvrtcApi {
#define DRAFTJIT_NVRTC_MEMBER(name) decltype(&::name) name = nullptr;
  DRAFTJIT_NVRTC_ENTRY_POINTS(DRAFTJIT_NVRTC_MEMBER)
#undef DRAFTJIT_NVRTC_MEMBER
};

// Where NVRTC was looked for, once per process (thread-safe), in this order; the first file that opens and has
// every entry point wins:
//   1. $DRAFTJIT_NVRTC_LIBRARY, the full path of a libnvrtc.so*: when set, nothing else is tried
//   2. a libnvrtc already loaded in the process (libnvrtc.so.13, .so.12, .so), e.g. by PyTorch
//   3. pip's CUDA wheels: <site>/nvidia/cu13/lib and <site>/nvidia/cuda_nvrtc/lib for each ':'-separated <site> of
//      $DRAFTJIT_PYTHON_SITE_PACKAGES (set by the Python package before its first compile)
//   4. $CUDA_HOME/lib64, $CUDA_HOME/lib, $CUDA_PATH/lib64
//   5. /usr/local/cuda/lib64, /usr/local/cuda/targets/x86_64-linux/lib
//   6. the loader's default search (LD_LIBRARY_PATH, ld.so.cache) for libnvrtc.so.13, .so.12, .so
// In a directory, libnvrtc.so.13, then .so.12, then .so. Files are opened by full path with RTLD_NOW | RTLD_LOCAL,
// so NVRTC finds its libnvrtc-builtins beside itself; nothing here names or pins the builtins.
struct NvrtcSearch {
  std::string path;                // the file that loaded; empty when none did
  std::string origin;              // the rule that found it: "DRAFTJIT_NVRTC_LIBRARY", "$CUDA_HOME/lib64", ...
  std::vector<std::string> tried;  // every place that failed before it, "<place>: <why>" (dlerror or "not found")
  std::string error;               // empty when path is set, else what nvrtc() throws: names every place tried
};

// The search above, run on the first call; never throws.
const NvrtcSearch& nvrtc_search();

// The loaded entry points; throws draftjit::Error(nvrtc_search().error) when no NVRTC loaded.
const NvrtcApi& nvrtc();

}  // namespace draftjit::jit
