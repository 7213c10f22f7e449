#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>

#include "commands.hpp"
#include "jit/disk_cache.hpp"
#include "jit/kernel_key.hpp"
#include "jit/toolchain.hpp"

namespace draftjit::cli {
namespace {

std::string age(std::filesystem::file_time_type modified) {
  using namespace std::chrono;
  const auto s = duration_cast<seconds>(std::filesystem::file_time_type::clock::now() - modified).count();
  if (s < 120) return fmt::format("{}s", std::max<long long>(s, 0));
  if (s < 2LL * 3600) return fmt::format("{}m", s / 60);
  if (s < 2LL * 86400) return fmt::format("{}h", s / 3600);
  return fmt::format("{}d", s / 86400);
}

// What an entry holds, read off the arch in its name: "ptx" for a virtual arch (the driver finishes it at load).
const char* code_of(const std::string& file_name) {
  const std::string_view arch = jit::arch_of_stem(file_name);
  if (arch.empty()) return "?";
  return jit::is_virtual_arch(arch) ? "ptx" : "cubin";
}

void print_layers(const jit::DiskCache& cache) {
  for (std::size_t i = 0; i < cache.layers().size(); ++i) {
    const auto& layer = cache.layers()[i];
    fmt::print("layer {}: {} ({})\n", i, layer.dir.string(), layer.writable ? "writable" : "read-only");
  }
}

// list prints every entry; verify only the invalid ones and fails when there are any. Temp files are listed, never
// invalid: a writer may still be on them.
int list_or_verify(const jit::DiskCache& cache, bool verify) {
  const jit::DiskCache::Listing listing = cache.list();
  print_layers(cache);
  std::size_t invalid = 0;
  std::size_t temps = 0;
  std::uintmax_t bytes = 0;
  if (!verify) fmt::print("{:<8} {:>9} {:>5} {:>5} {:<5}  {}\n", "STATE", "BYTES", "AGE", "LAYER", "CODE", "FILE");
  for (const jit::DiskCache::Entry& entry : listing.entries) {
    const bool valid = entry.file.state == jit::FileState::Valid;
    invalid += !valid && !entry.temp;
    temps += entry.temp;
    bytes += entry.bytes;
    if (verify && (valid || entry.temp)) continue;
    const char* state = entry.temp ? "temp" : valid ? "ok" : "INVALID";
    const std::string name = entry.file.path.filename().string();
    fmt::print("{:<8} {:>9} {:>5} {:>5} {:<5}  {}{}\n", state, entry.bytes, age(entry.modified), entry.layer,
               code_of(name), name, valid || entry.temp ? "" : ": " + entry.file.problem);
  }
  fmt::print("{} files, {} invalid, {} temp, {} bytes; {} other files ignored\n", listing.entries.size() - temps,
             invalid, temps, bytes, listing.others);
  return verify && invalid > 0 ? 1 : 0;
}

int clear(const jit::DiskCache& cache) {
  if (cache.writable() == nullptr) throw std::runtime_error("no writable cache directory to clear");
  const jit::DiskCache::Removal removal = cache.remove(/*entries=*/true);
  for (const std::string& failure : removal.failures) fmt::print(stderr, "draftjit cache: cannot remove {}\n", failure);
  for (const std::string& left : removal.left) {
    fmt::print(stderr, "draftjit cache: left {}: not a regular file, never followed or removed; remove it by hand\n",
               left);
  }
  fmt::print("removed {} files from {}{}{}\n", removal.removed, cache.writable()->dir.string(),
             removal.failures.empty() ? "" : fmt::format("; {} could not be removed", removal.failures.size()),
             removal.left.empty() ? "" : fmt::format("; {} left in entries' places", removal.left.size()));
  return removal.failures.empty() ? 0 : 1;
}

int run(const std::string& action) {
  const jit::CacheLocation location = jit::cache_location_from_env();
  if (action == "path") {
    fmt::print("{}\n", location.writable ? location.writable->string() : "(none: " + location.why_not_writable + ")");
    for (const auto& dir : location.read_only) fmt::print("{} (read-only)\n", dir.string());
    return location.enabled() ? 0 : 1;
  }
  if (!location.enabled()) throw std::runtime_error(location.why_not_writable);
  const jit::DiskCache cache(location);
  return action == "clear" ? clear(cache) : list_or_verify(cache, action == "verify");
}

}  // namespace

int run_cache(const Args& args) {
  if (args.size() != 1) throw std::invalid_argument("cache takes one of: list, verify, clear, path");
  const std::string& action = args[0];
  if (action != "path" && action != "list" && action != "verify" && action != "clear") {
    throw std::invalid_argument(fmt::format("unknown cache action '{}'", action));
  }
  return run(action);
}

}  // namespace draftjit::cli
