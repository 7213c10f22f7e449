#include "jit/nvrtc_compiler.hpp"

#include <fmt/format.h>
#include <nvrtc.h>

#include <memory>

#include "jit/errors.hpp"
#include "jit/kernel_spec.hpp"

namespace draftjit::jit {
namespace {

struct ProgramDeleter {
  void operator()(_nvrtcProgram* program) const { nvrtcDestroyProgram(&program); }
};
using Program = std::unique_ptr<_nvrtcProgram, ProgramDeleter>;

void check(nvrtcResult result, const char* call, std::string_view key) {
  if (result != NVRTC_SUCCESS) {
    throw Error(fmt::format("{} failed for kernel {}: {}", call, key, nvrtcGetErrorString(result)));
  }
}

std::string program_log(nvrtcProgram program) {
  std::size_t size = 0;
  if (nvrtcGetProgramLogSize(program, &size) != NVRTC_SUCCESS || size <= 1) return {};
  std::string log(size, '\0');
  if (nvrtcGetProgramLog(program, log.data()) != NVRTC_SUCCESS) return {};
  log.resize(size - 1);  // drop the terminating NUL
  return log;
}

}  // namespace

const std::string& nvrtc_version() {
  static const std::string version = [] {
    int major = 0;
    int minor = 0;
    check(nvrtcVersion(&major, &minor), "nvrtcVersion", "-");
    return fmt::format("{}.{}", major, minor);
  }();
  return version;
}

std::vector<std::string> compile_options(std::string_view arch) {
  check_arch(arch);
  return {fmt::format("--gpu-architecture={}", arch), "--std=c++17", "--device-as-default-execution-space"};
}

CompileOutput compile(const std::string& source, std::string_view arch, std::string_view key, bool want_ptx) {
  const std::vector<std::string> options = compile_options(arch);
  std::vector<const char*> option_ptrs;
  for (const std::string& option : options) option_ptrs.push_back(option.c_str());

  nvrtcProgram raw = nullptr;
  const std::string name = fmt::format("{}.cu", key);
  check(nvrtcCreateProgram(&raw, source.c_str(), name.c_str(), 0, nullptr, nullptr), "nvrtcCreateProgram", key);
  const Program program(raw);

  const nvrtcResult compiled =
      nvrtcCompileProgram(program.get(), static_cast<int>(option_ptrs.size()), option_ptrs.data());
  CompileOutput out;
  out.log = program_log(program.get());
  if (compiled != NVRTC_SUCCESS) {
    throw CompileError(fmt::format("NVRTC failed to compile kernel {} ({}):\n{}", key,
                                   nvrtcGetErrorString(compiled), out.log),
                       std::string(key), out.log);
  }

  std::size_t size = 0;
  check(nvrtcGetCUBINSize(program.get(), &size), "nvrtcGetCUBINSize", key);
  out.cubin.resize(size);
  check(nvrtcGetCUBIN(program.get(), out.cubin.data()), "nvrtcGetCUBIN", key);
  if (want_ptx) {
    check(nvrtcGetPTXSize(program.get(), &size), "nvrtcGetPTXSize", key);
    out.ptx.resize(size);
    check(nvrtcGetPTX(program.get(), out.ptx.data()), "nvrtcGetPTX", key);
    if (!out.ptx.empty() && out.ptx.back() == '\0') out.ptx.pop_back();
  }
  return out;
}

}  // namespace draftjit::jit
