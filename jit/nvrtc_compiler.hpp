#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace draftjit::jit {

// "13.0": the NVRTC this process loaded, part of every kernel key.
const std::string& nvrtc_version();

// The NVRTC options used for `arch`; part of every kernel key.
std::vector<std::string> compile_options(std::string_view arch);

struct CompileOutput {
  std::vector<char> cubin;
  std::string ptx;  // filled only when asked for
  std::string log;  // NVRTC's program log (warnings), possibly empty
};

// Compiles one rendered source for a real architecture (sm_XX); needs no GPU. Throws draftjit::CompileError with
// the key and NVRTC's log when NVRTC rejects the source, draftjit::Error for any other NVRTC failure.
CompileOutput compile(const std::string& source, std::string_view arch, std::string_view key, bool want_ptx = false);

}  // namespace draftjit::jit
