#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

#include "commands.hpp"
#include "jit/cache/cache_bundle.hpp"
#include "jit/cache/cache_prune.hpp"
#include "jit/cache/disk_cache.hpp"
#include "jit/kernel_key.hpp"
#include "jit/cache/manifest.hpp"
#include "jit/outside_text.hpp"
#include "jit/nvrtc/toolchain.hpp"

namespace draftjit::cli {
namespace {

constexpr const char* kCacheActions = R"(cache takes one of:
  list | verify | clear | path
  prune --max-bytes N [--older-than D]   (or --older-than D alone) evict the least recently used entries of the
                                          writable directory until they total at most N bytes (K, M, G: powers
                                          of 1024), and those last used more than D ago (30m, 12h, 7d)
  export FILE [--manifest M]              write every layer's valid entries (or those of M's kernels) into one
                                          bundle file
  import FILE                             check and store a bundle's entries into the writable directory)";

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
    const std::string name = entry.file.path.filename().string();  // any name a directory holds: outside text
    fmt::print("{:<8} {:>9} {:>5} {:>5} {:<5}  {}{}\n", state, entry.bytes, age(entry.modified), entry.layer,
               code_of(name), jit::escaped(name), valid || entry.temp ? "" : ": " + entry.file.problem);
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

jit::PruneRule prune_rule(const Options& options) {
  jit::PruneRule rule;
  if (options.has("--max-bytes")) rule.max_bytes = jit::parse_byte_size(options.get("--max-bytes", ""), "--max-bytes");
  if (options.has("--older-than")) rule.older_than = jit::parse_age(options.get("--older-than", ""), "--older-than");
  if (!rule.any()) throw std::invalid_argument("cache prune needs --max-bytes N, --older-than D, or both");
  return rule;
}

int prune(const jit::DiskCache& cache, const jit::PruneRule& rule) {
  if (cache.writable() == nullptr) throw std::runtime_error("no writable cache directory to prune");
  const jit::PruneResult result = cache.prune(rule);
  for (const std::string& failure : result.failures) fmt::print(stderr, "draftjit cache: cannot evict {}\n", failure);
  fmt::print("pruned {}: removed {} entries ({} bytes); {} entries ({} bytes) left{}{}\n",
             cache.writable()->dir.string(), result.removed, result.removed_bytes,
             result.listed - result.removed - result.gone, result.kept_bytes,
             result.changed == 0 ? "" : fmt::format("; {} kept: used or stored again since listed", result.changed),
             result.failures.empty() ? "" : fmt::format("; {} could not be removed", result.failures.size()));
  return result.failures.empty() ? 0 : 1;
}

// The stems of a manifest's kernels: their keys need each arch's toolchain, so NVRTC.
std::set<std::string> manifest_stems(const std::string& manifest) {
  std::set<std::string> stems;
  std::map<std::string, jit::Toolchain> toolchains;
  for (const jit::ManifestEntry& entry : jit::read_manifest(manifest)) {
    auto it = toolchains.find(entry.arch);
    if (it == toolchains.end()) it = toolchains.emplace(entry.arch, jit::Toolchain::for_arch(entry.arch)).first;
    stems.insert(jit::make_key(entry.spec, it->second).stem);
  }
  return stems;
}

// Whether file is where stdout goes (/dev/stdout, /proc/self/fd/1, the FIFO or pipe stdout is): the bundle is then
// the whole of stdout, and the summary goes to stderr instead of after its trailer, where import would refuse it.
bool is_stdout(const std::string& file) {
  struct stat out {};
  struct stat named {};
  return ::fstat(STDOUT_FILENO, &out) == 0 && ::stat(file.c_str(), &named) == 0 && out.st_dev == named.st_dev &&
         out.st_ino == named.st_ino;
}

int export_to(const jit::DiskCache& cache, const std::string& file, const Options& options) {
  std::optional<std::set<std::string>> only;
  if (options.has("--manifest")) only = manifest_stems(options.get("--manifest", ""));
  std::FILE* report = is_stdout(file) ? stderr : stdout;
  const jit::ExportResult result = jit::export_bundle(cache, file, only);
  for (const std::string& stem : result.missing) {
    fmt::print(stderr, "draftjit cache: {} (in the manifest) has no valid entry in any layer\n", stem);
  }
  fmt::print(
      report, "exported {} entries ({} bytes) to {}{}{}\n", result.exported, result.bytes, file,
      result.invalid == 0 ? "" : fmt::format("; {} invalid entries left out (cache verify names them)", result.invalid),
      result.missing.empty() ? "" : fmt::format("; {} of the manifest's kernels missing", result.missing.size()));
  return result.missing.empty() ? 0 : 1;
}

// Each entry is reported as it is imported: a bundle may hold more of them than is worth keeping in memory.
int import_from(jit::DiskCache& cache, const std::string& file) {
  const jit::ImportSummary summary = jit::import_bundle(cache, file, [](const jit::ImportItem& item) {
    if (item.imported) {
      fmt::print("imported {}\n", jit::escaped(item.name));  // a bundle's names are outside text
    } else {
      fmt::print(stderr, "draftjit cache: skipped {}: {}\n", jit::shown(item.name), item.why);
    }
  });
  const std::size_t skipped = summary.entries - summary.imported;
  // A bound smaller than the bundle evicted some of what was imported: said, never left to "imported N of N".
  const jit::DiskCache::Evicted evicted = cache.evicted_by_bound();
  fmt::print("imported {} of {} entries from {} into {}{}{}\n", summary.imported, summary.entries, file,
             cache.writable()->dir.string(), skipped == 0 ? "" : fmt::format("; {} skipped", skipped),
             evicted.entries == 0
                 ? ""
                 : fmt::format("; {} entries ({} bytes) evicted by DRAFTJIT_CACHE_MAX_BYTES={} meanwhile: not all of "
                               "them are in the cache",
                               evicted.entries, evicted.bytes, cache.max_bytes().value_or(0)));
  return skipped == 0 ? 0 : 1;
}

// The file operand of export and import, then their options.
const std::string& file_operand(const Args& args) {
  if (args.size() < 2 || args[1].starts_with("--")) {
    throw std::invalid_argument(fmt::format("cache {} needs a FILE", args[0]));
  }
  return args[1];
}

int run(const Args& args) {
  const std::string& action = args[0];
  const Args rest(args.begin() + 1, args.end());
  const bool with_file = action == "export" || action == "import";
  // Usage errors first, before the environment is read or anything is touched.
  const std::string file = with_file ? file_operand(args) : std::string();
  const Options options(with_file ? Args(rest.begin() + 1, rest.end()) : rest,
                        action == "prune"    ? std::vector<std::string>{"--max-bytes", "--older-than"}
                        : action == "export" ? std::vector<std::string>{"--manifest"}
                                             : std::vector<std::string>{},
                        {});
  const jit::PruneRule rule = action == "prune" ? prune_rule(options) : jit::PruneRule{};
  const jit::CacheLocation location = jit::cache_location_from_env();
  if (action == "path") {
    fmt::print("{}\n", location.writable ? location.writable->string() : "(none: " + location.why_not_writable + ")");
    for (const auto& dir : location.read_only) fmt::print("{} (read-only)\n", dir.string());
    return location.enabled() ? 0 : 1;
  }
  if (!location.enabled()) throw std::runtime_error(location.why_not_writable);
  jit::DiskCache cache(location);
  if (action == "prune") return prune(cache, rule);
  if (action == "export") return export_to(cache, file, options);
  if (action == "import") return import_from(cache, file);
  return action == "clear" ? clear(cache) : list_or_verify(cache, action == "verify");
}

}  // namespace

int run_cache(const Args& args) {
  if (args.empty()) throw std::invalid_argument(kCacheActions);
  const std::string& action = args[0];
  for (const char* known : {"path", "list", "verify", "clear", "prune", "export", "import"}) {
    if (action == known) return run(args);
  }
  throw std::invalid_argument(fmt::format("unknown cache action '{}'; {}", action, kCacheActions));
}

}  // namespace draftjit::cli
