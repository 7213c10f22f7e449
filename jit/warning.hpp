#pragma once
#include <cstdio>
#include <functional>
#include <string>

namespace draftjit::jit {

// Where the disk cache, its location and its compile lock send warnings: stderr by default, a list in tests.
using WarningSink = std::function<void(const std::string&)>;

// "draftjit: warning: <message>". fwrite, not fmt::print: a warning that cannot be written (stderr full or closed)
// must not fail the load, store or wait it is about.
inline void warn_to_stderr(const std::string& message) {
  const std::string line = "draftjit: warning: " + message + "\n";
  (void)std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace draftjit::jit
