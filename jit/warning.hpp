#pragma once
#include <functional>
#include <string>

#include "jit/log.hpp"

namespace draftjit::jit {

// Where the disk cache, its location and its compile lock send warnings: the log by default, a list in tests.
using WarningSink = std::function<void(const std::string&)>;

// A "cache" event at warn level (jit/log.hpp): never throws, so a warning that cannot be written does not fail the
// load, store or wait it is about.
inline void warn_to_log(const std::string& message) { log_event(LogLevel::Warn, "cache", message); }

}  // namespace draftjit::jit
