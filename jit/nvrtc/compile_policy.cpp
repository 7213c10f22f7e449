#include "jit/nvrtc/compile_policy.hpp"

#include <fmt/format.h>

#include <atomic>
#include <mutex>

#include "draftjit/errors.hpp"
#include "jit/environment.hpp"
#include "jit/log.hpp"

namespace draftjit::jit {
namespace {

std::atomic<bool> is_frozen{false};
constexpr int kUnread = -1;
std::atomic<int> mode{kUnread};

void read_mode(const char* value) {
  const std::string_view text = value == nullptr ? "allow" : value;
  JitMode parsed = JitMode::Allow;
  if (text == "strict") {
    parsed = JitMode::Strict;
  } else if (text == "warn") {
    parsed = JitMode::Warn;
  } else if (text != "allow") {
    log_event(LogLevel::Warn, "environment",
              fmt::format("DRAFTJIT_JIT={} is not strict, warn or allow; compiles after freeze() are allowed", text));
  }
  mode.store(static_cast<int>(parsed), std::memory_order_relaxed);
}

}  // namespace

void freeze() {
  is_frozen.store(true, std::memory_order_relaxed);
  log_event(LogLevel::Info, "freeze", fmt::format("compiles from now on are {}", [] {
              switch (jit_mode()) {
                case JitMode::Strict: return "errors (DRAFTJIT_JIT=strict)";
                case JitMode::Warn: return "logged as warnings (DRAFTJIT_JIT=warn)";
                case JitMode::Allow: break;
              }
              return "allowed (DRAFTJIT_JIT is not strict or warn)";
            }()));
}

bool frozen() { return is_frozen.load(std::memory_order_relaxed); }

JitMode jit_mode() {
  if (mode.load(std::memory_order_relaxed) == kUnread) {
    static std::once_flag once;
    std::call_once(once, [] { read_mode(env_value("DRAFTJIT_JIT")); });
  }
  return static_cast<JitMode>(mode.load(std::memory_order_relaxed));
}

void check_compile_allowed(std::string_view key) {
  if (!frozen()) return;
  switch (jit_mode()) {
    case JitMode::Strict:
      throw Error(fmt::format("kernel {} is not compiled and this process was frozen (draftjit freeze() with "
                              "DRAFTJIT_JIT=strict): warm it up before freezing, with prepare() for its batch size, "
                              "draftjit warmup, or a manifest recorded with DRAFTJIT_RECORD",
                              key));
    case JitMode::Warn:
      log_event(LogLevel::Warn, "compile after freeze", fmt::format("{} (DRAFTJIT_JIT=warn)", key));
      return;
    case JitMode::Allow:
      return;
  }
}

void reset_compile_policy_for_test(const char* value) {
  (void)jit_mode();  // the first read has happened, so it never overwrites this one
  read_mode(value);
  is_frozen.store(false, std::memory_order_relaxed);
}

}  // namespace draftjit::jit
