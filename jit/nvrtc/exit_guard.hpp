#pragma once

namespace draftjit::jit {

// Marks one NVRTC compile in flight for its scope. At process exit, NVRTC's own exit handlers tear down state that
// a compile running in another thread (a daemon thread of a Python server) is using, which crashes the process; so
// wait_for_compiles() refuses new compiles (the constructor throws draftjit::Error "the process is exiting") and
// waits, up to kExitWaitSeconds, for those in flight to return. It runs from an exit handler registered before
// each compile, which runs before every handler NVRTC registered until then, and from Python's atexit, which runs
// before any C-level exit handler (NVRTC registers some during a process's first compiles).
class CompileInFlight {
 public:
  CompileInFlight();
  ~CompileInFlight();
  CompileInFlight(const CompileInFlight&) = delete;
  CompileInFlight& operator=(const CompileInFlight&) = delete;
};

inline constexpr int kExitWaitSeconds = 30;

void wait_for_compiles() noexcept;

}  // namespace draftjit::jit
