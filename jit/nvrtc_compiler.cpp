#include "jit/nvrtc_compiler.hpp"

#include <fmt/format.h>

#include <memory>

#include "draftjit/errors.hpp"
#include "jit/exit_guard.hpp"
#include "jit/nvrtc_library.hpp"

namespace draftjit::jit {
namespace {

struct ProgramDeleter {
  void operator()(_nvrtcProgram* program) const { nvrtc().nvrtcDestroyProgram(&program); }
};
using Program = std::unique_ptr<_nvrtcProgram, ProgramDeleter>;

void check(nvrtcResult result, const char* call, std::string_view key) {
  if (result != NVRTC_SUCCESS) {
    throw Error(fmt::format("{} failed for kernel {}: {}", call, key, nvrtc().nvrtcGetErrorString(result)));
  }
}

std::string program_log(const NvrtcApi& api, nvrtcProgram program) {
  std::size_t size = 0;
  if (api.nvrtcGetProgramLogSize(program, &size) != NVRTC_SUCCESS || size <= 1) return {};
  std::string log(size, '\0');
  if (api.nvrtcGetProgramLog(program, log.data()) != NVRTC_SUCCESS) return {};
  log.resize(size - 1);  // drop the terminating NUL
  return log;
}

}  // namespace

CompileOutput compile(const std::string& source, const Toolchain& toolchain, std::string_view key, bool want_ptx) {
  const NvrtcApi& api = nvrtc();  // the first compile of the process loads NVRTC, or throws saying where it looked
  const CompileInFlight in_flight;  // outlives the program: nothing of NVRTC runs after the exit handler's wait
  std::vector<const char*> option_ptrs;
  for (const std::string& option : toolchain.options) option_ptrs.push_back(option.c_str());

  nvrtcProgram raw = nullptr;
  const std::string name = fmt::format("{}.cu", key);
  check(api.nvrtcCreateProgram(&raw, source.c_str(), name.c_str(), 0, nullptr, nullptr), "nvrtcCreateProgram", key);
  const Program program(raw);

  const nvrtcResult compiled =
      api.nvrtcCompileProgram(program.get(), static_cast<int>(option_ptrs.size()), option_ptrs.data());
  CompileOutput out;
  out.log = program_log(api, program.get());
  if (compiled != NVRTC_SUCCESS) {
    throw CompileError(fmt::format("NVRTC failed to compile kernel {} ({}):\n{}", key,
                                   api.nvrtcGetErrorString(compiled), out.log),
                       std::string(key), out.log);
  }

  std::size_t size = 0;
  if (!toolchain.emits_ptx()) {
    check(api.nvrtcGetCUBINSize(program.get(), &size), "nvrtcGetCUBINSize", key);
    out.cubin.resize(size);
    check(api.nvrtcGetCUBIN(program.get(), out.cubin.data()), "nvrtcGetCUBIN", key);
  }
  if (want_ptx || toolchain.emits_ptx()) {
    check(api.nvrtcGetPTXSize(program.get(), &size), "nvrtcGetPTXSize", key);
    std::vector<char> ptx(size);  // NUL-terminated: cuModuleLoadData reads PTX up to it
    check(api.nvrtcGetPTX(program.get(), ptx.data()), "nvrtcGetPTX", key);
    if (want_ptx) out.ptx.assign(ptx.data(), ptx.empty() || ptx.back() != '\0' ? ptx.size() : ptx.size() - 1);
    if (toolchain.emits_ptx()) out.cubin = std::move(ptx);
  }
  return out;
}

}  // namespace draftjit::jit
