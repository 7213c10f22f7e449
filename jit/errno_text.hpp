#pragma once
#include <string>
#include <system_error>

namespace draftjit::jit {

// What an errno value means, like strerror but thread-safe (strerror may share one buffer between threads, and
// loads, stores and warmup workers report errors concurrently).
inline std::string errno_text(int error) { return std::generic_category().message(error); }

}  // namespace draftjit::jit
