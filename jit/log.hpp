#pragma once
// draftjit's event log: one line per event, "draftjit: <level>: <event>: <message>", the message naming the key
// (or file, or library) it is about. Events are rare (compiles, disk hits, module loads, skipped entries, evictions,
// the NVRTC found): never one per warm call. DRAFTJIT_LOG=error|warn|info|debug (default warn) picks which are
// produced; below the threshold an event costs one relaxed atomic load. They go to stderr, or, once a sink is set
// (the Python package sets one that feeds logging.getLogger("draftjit")), to that sink instead. Never into a
// descriptor 2 that this process opened itself after stderr was closed (it may be one of draftjit's files: log.cpp).
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace draftjit::jit {

enum class LogLevel : std::uint8_t { Error = 0, Warn = 1, Info = 2, Debug = 3 };

const char* level_name(LogLevel level);  // "error", "warn", "info", "debug"

// The threshold from DRAFTJIT_LOG, read at the first call; an unknown value is warned about once and means warn.
LogLevel log_threshold();
inline bool log_enabled(LogLevel level) { return level <= log_threshold(); }

// Logs the event when its level is enabled. Never throws; a line that cannot be written is dropped.
void log_event(LogLevel level, std::string_view event, std::string_view message);

// Where enabled events go instead of stderr: called from any thread, possibly with draftjit's locks held, so it must
// not block on anything a draftjit caller may hold (the Python sink only queues). An empty sink restores stderr.
using LogSink = std::function<void(LogLevel level, std::string_view event, std::string_view message)>;
void set_log_sink(LogSink sink);

// The front end the calling thread's work comes from ("python", "torch op", "draftjit warmup"), which compile events
// name; "C++" outside any scope. A scope sets it for the thread until it ends; warmup's workers inherit their
// caller's.
const char* current_front_end();
class FrontEndScope {
 public:
  explicit FrontEndScope(const char* name);
  ~FrontEndScope();
  FrontEndScope(const FrontEndScope&) = delete;
  FrontEndScope& operator=(const FrontEndScope&) = delete;

 private:
  const char* previous_;
};

// For tests: the threshold as if DRAFTJIT_LOG held value (nullptr: unset), re-read from then on.
void set_log_threshold_for_test(const char* value);

}  // namespace draftjit::jit
