#include "jit/nvrtc/nvrtc_compiler.hpp"

#include <fmt/format.h>
#include <pthread.h>

#include <memory>
#include <optional>

#include "draftjit/errors.hpp"
#include "jit/nvrtc/cubin_arch.hpp"
#include "jit/nvrtc/exit_guard.hpp"
#include "jit/nvrtc/nvrtc_library.hpp"

namespace draftjit::jit {
namespace {

// NVRTC holds internal locks while it compiles, and a child forked meanwhile inherits them held by a thread it does
// not have: its first compile then waits forever (seen under load in python/tests/test_lifecycle.py, a gdb stack in
// nvrtcCompileProgram's pthread_mutex_lock). So NVRTC calls hold this gate's read side, and fork() takes the write
// side in its prepare handler: a fork waits for the compiles running in other threads, and compiles started during
// a fork wait for it. Writers are preferred, so a stream of compiles cannot starve a fork. Nothing inside the read
// side takes another lock (no logging, no GIL), so the fork cannot deadlock against it.
pthread_rwlock_t fork_gate = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;

void close_gate() { pthread_rwlock_wrlock(&fork_gate); }
void open_gate() { pthread_rwlock_unlock(&fork_gate); }
// The child's only thread did not take the lock (its thread id is new), so the child starts from a fresh one.
void reset_gate() { fork_gate = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP; }

class ForkGateReader {
 public:
  ForkGateReader() {
    [[maybe_unused]] static const int registered = pthread_atfork(close_gate, open_gate, reset_gate);
    pthread_rwlock_rdlock(&fork_gate);
  }
  ~ForkGateReader() { pthread_rwlock_unlock(&fork_gate); }
  ForkGateReader(const ForkGateReader&) = delete;
  ForkGateReader& operator=(const ForkGateReader&) = delete;
};

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

namespace {

// The cubin is stored and loaded under the toolchain's arch: ptxas options (-Xptxas=--gpu-name=sm_100,
// --ptxas-options=...) retarget it past the option refusal of jit/nvrtc/toolchain, so what NVRTC made is checked itself.
void check_cubin_arch(const std::vector<char>& cubin, const Toolchain& toolchain, std::string_view key) {
  const std::optional<int> sm = cubin_sm(std::string_view(cubin.data(), cubin.size()));
  const int wanted = arch_number(toolchain.arch);
  if (sm && *sm == wanted) return;
  throw Error(fmt::format("NVRTC made kernel {} {} where {} was asked (options: {}): refused, it would be stored and "
                          "loaded as {}'s",
                          key, sm ? fmt::format("for sm_{}", *sm) : std::string("as no CUDA ELF cubin"),
                          toolchain.arch, fmt::join(toolchain.options, " "), toolchain.arch));
}

}  // namespace

CompileOutput compile(const std::string& source, const Toolchain& toolchain, std::string_view key, bool want_ptx) {
  const NvrtcApi& api = nvrtc();  // the first compile of the process loads NVRTC, or throws saying where it looked
  const CompileInFlight in_flight;  // outlives the program: nothing of NVRTC runs after the exit handler's wait
  std::vector<const char*> option_ptrs;
  for (const std::string& option : toolchain.options) option_ptrs.push_back(option.c_str());

  const std::string name = fmt::format("{}.cu", key);
  const ForkGateReader no_fork;  // outlives the program, so every NVRTC call of this compile is inside
  nvrtcProgram raw = nullptr;
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
    check_cubin_arch(out.cubin, toolchain, key);
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
