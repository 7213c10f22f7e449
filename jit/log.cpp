#include "jit/log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

#include "jit/environment.hpp"

namespace draftjit::jit {
namespace {

thread_local const char* front_end = nullptr;

constexpr int kUnread = -1;
std::atomic<int> threshold{kUnread};

// The sink, swapped whole and never freed: no lock on the logging path (a forked child cannot inherit one held by
// another thread) and nothing destroyed under a thread that logs while the process exits. set_log_sink is called
// about once per process, so what it leaks is one std::function.
std::atomic<const LogSink*> sink{nullptr};

// Whether descriptor 2 is a stderr someone gave this process. draftjit opens every file with O_CLOEXEC, and a
// descriptor that came through exec cannot have it, so a descriptor 2 with FD_CLOEXEC set was opened in this process
// after stderr was closed: maybe a lock stripe or a cache entry of draftjit's (it was: with `2>&-` log lines landed
// in .locks files and in entries being stored), which a line written there would damage. Closed: nothing to write.
bool stderr_is_given() {
  const int flags = ::fcntl(STDERR_FILENO, F_GETFD);
  return flags >= 0 && (flags & FD_CLOEXEC) == 0;
}

void write_stderr(LogLevel level, std::string_view event, std::string_view message) {
  if (!stderr_is_given()) return;
  std::string line = "draftjit: ";
  line.append(level_name(level)).append(": ").append(event).append(": ").append(message).append("\n");
  (void)std::fwrite(line.data(), 1, line.size(), stderr);  // one write per line, so lines of threads don't mix
}

// An unknown value logs at warn, and is an error where draftjit's work starts (jit/environment's check_environment,
// and doctor): logging itself must never throw.
void read_threshold(const char* value) {
  std::string unknown;
  int parsed = static_cast<int>(LogLevel::Warn);
  try {
    const std::string_view word = parse_env_word("DRAFTJIT_LOG", value).value_or("warn");
    for (LogLevel level : {LogLevel::Error, LogLevel::Warn, LogLevel::Info, LogLevel::Debug}) {
      if (word == level_name(level)) parsed = static_cast<int>(level);
    }
  } catch (const std::invalid_argument& e) {
    unknown = e.what();
  }
  threshold.store(parsed, std::memory_order_relaxed);
  if (!unknown.empty()) log_event(LogLevel::Warn, "environment", unknown + "; logging at warn");
}

}  // namespace

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::Error: return "error";
    case LogLevel::Warn: return "warn";
    case LogLevel::Info: return "info";
    case LogLevel::Debug: return "debug";
  }
  return "?";
}

LogLevel log_threshold() {
  int value = threshold.load(std::memory_order_relaxed);
  if (value == kUnread) {
    static std::once_flag once;
    std::call_once(once, [] { read_threshold(env_value("DRAFTJIT_LOG")); });
    value = threshold.load(std::memory_order_relaxed);
  }
  return static_cast<LogLevel>(value);
}

void log_event(LogLevel level, std::string_view event, std::string_view message) {
  if (!log_enabled(level)) return;
  const LogSink* current = sink.load(std::memory_order_acquire);
  try {
    if (current != nullptr) return (*current)(level, event, message);
    write_stderr(level, event, message);
  } catch (...) {  // an event that cannot be delivered is lost, never the caller's work
  }
}

void set_log_sink(LogSink new_sink) {
  sink.store(new_sink ? new LogSink(std::move(new_sink)) : nullptr, std::memory_order_release);
}

const char* current_front_end() { return front_end != nullptr ? front_end : "C++"; }

FrontEndScope::FrontEndScope(const char* name) : previous_(front_end) { front_end = name; }
FrontEndScope::~FrontEndScope() { front_end = previous_; }

void set_log_threshold_for_test(const char* value) {
  (void)log_threshold();  // the first read has happened, so it never overwrites this one
  read_threshold(value);
}

}  // namespace draftjit::jit
