#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace draftjit::test {

// The CLI built beside the unit tests (tests/CMakeLists.txt defines DRAFTJIT_CLI).
inline const std::string kCli = DRAFTJIT_CLI;

// Whether this build (and so the CLI beside it) runs under AddressSanitizer (-DDRAFTJIT_SANITIZE=address,...; GCC and
// clang define __SANITIZE_ADDRESS__): its shadow memory reserves terabytes of address space, so a test that bounds
// the CLI's memory with `ulimit -v` cannot run it there, and skips by name saying so.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif

// A device address for argument checks, which only compare it with null: nothing is dereferenced before the checks
// pass, so the tests without a GPU see the driver's error, never a fault.
template <class T = std::int32_t>
T* fake(std::uintptr_t n) {
  return reinterpret_cast<T*>(std::uintptr_t{0x10000} * n);
}

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Sets (or, with nullopt, unsets) an environment variable for the scope, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, std::optional<std::string> value);
  ~ScopedEnv();

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// Collects warnings from a DiskCache.
struct WarningLog {
  std::vector<std::string> messages;
  auto sink() {
    return [this](const std::string& m) { messages.push_back(m); };
  }
};

// The whole file as bytes ("" when it cannot be read), and a file replaced by exactly these bytes.
std::string read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, const std::string& bytes);

inline bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

// "DRAFTJIT_CACHE_DIR='dir' ": the prefix that points a CLI run at a cache directory.
inline std::string cache_dir_env(const std::filesystem::path& dir) {
  return "DRAFTJIT_CACHE_DIR='" + dir.string() + "' ";
}

// Runs a shell command, returning its exit status and appending its stdout+stderr to *output when given.
int run_command(const std::string& command, std::string* output = nullptr);

}  // namespace draftjit::test
