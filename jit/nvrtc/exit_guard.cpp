#include "jit/nvrtc/exit_guard.hpp"

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "draftjit/errors.hpp"

namespace draftjit::jit {
namespace {

std::atomic<int> in_flight{0};
std::atomic<bool> exiting{false};

void wait_at_exit() { wait_for_compiles(); }

// A child forked while another thread compiled inherits that count, but not the thread that would end it: without
// this, its exit would wait the full kExitWaitSeconds. Atomic stores only, as fork handlers must.
void reset_in_child() {
  in_flight.store(0, std::memory_order_relaxed);
  exiting.store(false, std::memory_order_relaxed);
}

}  // namespace

void wait_for_compiles() noexcept {
  exiting.store(true);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kExitWaitSeconds);
  while (in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

CompileInFlight::CompileInFlight() {
  [[maybe_unused]] static const int registered = pthread_atfork(nullptr, nullptr, reset_in_child);
  // Exit handlers run in reverse order of registration: one registered now runs before every handler NVRTC has
  // registered so far. A registration per compile is a few bytes; the handlers are idle once nothing compiles.
  (void)std::atexit(wait_at_exit);  // fails only past the C library's limit, and ours is not the only safeguard
  // Counted before the check, so the exit handler either sees this compile or this compile sees the exit.
  in_flight.fetch_add(1);
  if (exiting.load()) {
    in_flight.fetch_sub(1);
    throw Error("draftjit: not compiling: the process is exiting");
  }
}

CompileInFlight::~CompileInFlight() { in_flight.fetch_sub(1); }

}  // namespace draftjit::jit
