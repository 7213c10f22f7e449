#include "jit/nvrtc/compile_policy.hpp"

#include <fmt/format.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <string>

#include "draftjit/errors.hpp"
#include "jit/environment.hpp"
#include "jit/log.hpp"

namespace draftjit::jit {
namespace {

std::atomic<bool> is_frozen{false};
constexpr int kUnread = -1;
constexpr int kRefused = -2;  // DRAFTJIT_JIT holds no mode: every use is an error, never a guess
std::atomic<int> mode{kUnread};

std::string& refusal() {
  static auto* text = new std::string;  // leaked: compiles may run while the process exits
  return *text;
}

void read_mode(const char* value) {
  try {
    const std::string_view word = parse_env_word("DRAFTJIT_JIT", value).value_or("allow");
    const JitMode parsed = word == "strict" ? JitMode::Strict : word == "warn" ? JitMode::Warn : JitMode::Allow;
    mode.store(static_cast<int>(parsed), std::memory_order_relaxed);
  } catch (const std::invalid_argument& e) {
    refusal() = e.what();
    mode.store(kRefused, std::memory_order_relaxed);
  }
}

}  // namespace

void freeze() {
  is_frozen.store(true, std::memory_order_relaxed);  // first: a DRAFTJIT_JIT that cannot be read leaves it frozen
  const JitMode current = jit_mode();
  log_event(LogLevel::Info, "freeze", fmt::format("compiles from now on are {}", [current] {
              switch (current) {
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
  const int read = mode.load(std::memory_order_relaxed);
  // A safety switch that cannot be read fails closed: freeze() and every compile after it say why.
  if (read == kRefused) throw Error(refusal() + ": compiles after freeze() cannot be judged");
  return static_cast<JitMode>(read);
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
  try {
    (void)jit_mode();  // the first read has happened, so it never overwrites this one
  } catch (const Error&) {  // the value read refused: replaced below all the same
  }
  read_mode(value);
  is_frozen.store(false, std::memory_order_relaxed);
}

}  // namespace draftjit::jit
