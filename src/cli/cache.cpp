#include <fmt/format.h>

#include <stdexcept>

#include "commands.hpp"
#include "jit/disk_cache.hpp"

namespace draftjit::cli {

int run_cache(const Args& args) {
  if (args.size() != 1) throw std::invalid_argument("cache takes one of: list, verify, clear, path");
  const std::string& action = args[0];
  const auto dir = jit::default_cache_dir();
  if (action == "path") {
    fmt::print("{}\n", dir ? dir->string() : "(disabled by DRAFTJIT_DISABLE_DISK_CACHE)");
    return 0;
  }
  if (!dir) throw std::runtime_error("the disk cache is disabled (DRAFTJIT_DISABLE_DISK_CACHE)");
  jit::DiskCache cache(*dir);
  if (action == "clear") {
    fmt::print("removed {} files from {}\n", cache.clear(), dir->string());
    return 0;
  }
  if (action != "list" && action != "verify") {
    throw std::invalid_argument(fmt::format("unknown cache action '{}'", action));
  }
  std::size_t bad = 0;
  std::uint64_t bytes = 0;
  const auto files = cache.list();
  for (const jit::CacheFile& file : files) {
    bytes += file.cubin_bytes;
    if (!file.problem.empty()) ++bad;
    if (action == "list" || !file.problem.empty()) {
      fmt::print("{:<8} {:>8} {}{}\n", file.problem.empty() ? "ok" : "INVALID", file.cubin_bytes,
                 file.path.filename().string(), file.problem.empty() ? "" : ": " + file.problem);
    }
  }
  fmt::print("{} files, {} invalid, {} bytes of cubin in {}\n", files.size(), bad, bytes, dir->string());
  return action == "verify" && bad > 0 ? 1 : 0;
}

}  // namespace draftjit::cli
