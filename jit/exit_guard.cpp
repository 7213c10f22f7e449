#include "jit/exit_guard.hpp"

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

}  // namespace

void wait_for_compiles() noexcept {
  exiting.store(true);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kExitWaitSeconds);
  while (in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

CompileInFlight::CompileInFlight() {
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
