#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "jit/nvrtc/toolchain.hpp"

namespace draftjit::jit {

struct CompileOutput {
  std::vector<char> cubin;  // what cuModuleLoadData takes: the cubin, or for a virtual arch the PTX with its NUL
  std::string ptx;  // filled only when asked for
  std::string log;  // NVRTC's program log (warnings), possibly empty
};

// Compiles one rendered source with NVRTC for the toolchain's architecture (a cubin, or PTX for a virtual arch); needs
// no GPU and touches no cache.
// Throws draftjit::CompileError with the key and NVRTC's log when NVRTC rejects the source, draftjit::Error for any
// other NVRTC failure.
CompileOutput compile(const std::string& source, const Toolchain& toolchain, std::string_view key,
                      bool want_ptx = false);

}  // namespace draftjit::jit
