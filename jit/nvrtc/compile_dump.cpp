#include "jit/nvrtc/compile_dump.hpp"

#include <fmt/format.h>

#include <system_error>
#include <vector>

#include "jit/cache/cache_file.hpp"
#include "jit/environment.hpp"
#include "jit/errno_text.hpp"
#include "jit/log.hpp"

namespace draftjit::jit {
namespace {

// Stems are predictable and the directory may be shared: a file is written as the cache writes entries, to a fresh
// temp name (O_EXCL) renamed over its own, so a symlink planted under a dump file's name is replaced, never followed.
void write_file(const std::filesystem::path& path, std::string_view text) {
  const AtomicWrite written = write_atomically(path, std::vector<char>(text.begin(), text.end()));
  if (!written.ok()) {
    log_event(LogLevel::Warn, "dump", fmt::format("could not write {}: {}", path.string(), errno_text(written.error)));
  }
}

}  // namespace

const std::optional<std::filesystem::path>& dump_dir() {
  static const std::optional<std::filesystem::path> dir = []() -> std::optional<std::filesystem::path> {
    const char* value = env_value("DRAFTJIT_DUMP_DIR");
    if (value == nullptr) return std::nullopt;
    return std::filesystem::path(value);
  }();
  return dir;
}

void dump_compile(const std::filesystem::path& dir, std::string_view stem, const std::string& source,
                  const Toolchain& toolchain, const std::string* ptx, const std::string& log) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    log_event(LogLevel::Warn, "dump", fmt::format("cannot create {}: {}", dir.string(), error.message()));
    return;
  }
  const std::string base = (dir / stem).string();
  write_file(base + ".cu", source);
  if (ptx != nullptr) write_file(base + ".ptx", *ptx);
  write_file(base + ".options", fmt::format("{}\n", fmt::join(toolchain.options, "\n")));
  write_file(base + ".log", log);
  log_event(LogLevel::Debug, "dump", fmt::format("{} -> {}.*", stem, base));
}

}  // namespace draftjit::jit
