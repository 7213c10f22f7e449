#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <system_error>

#include "commands.hpp"
#include "jit/log.hpp"
#include "jit/cache/manifest.hpp"
#include "jit/warmup.hpp"

namespace draftjit::cli {
namespace {

// One kernel's progress on stderr (jit::warmup serialises the calls): a bar on a terminal, a line per kernel
// otherwise, and failures always. Never throws: a line that cannot be written (stderr full, or a pipe whose reader
// is gone) is dropped, and the kernel still counts as built. Returns 0, or the errno of a write that failed.
int print_progress(bool tty, const jit::WarmupItem& item) {
  const std::string name = item.spec.name() + "." + item.toolchain->arch;
  const char* outcome = item.failed ? "FAILED" : item.origin == jit::Origin::Compiled ? "compiled" : "cached";
  std::string text;
  if (tty) {
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(kWidth * item.finished / std::max<std::size_t>(item.kernels, 1));
    text += fmt::format("\r[{:=<{}}{: <{}}] {}/{} {:<48}", "", filled, "", kWidth - filled, item.finished,
                        item.kernels, name);
    if (item.finished == item.kernels) text += "\n";
  }
  if (!tty || item.failed) {
    text += fmt::format("{}{:<9} {}{}\n", tty ? "\n" : "", outcome, name, item.failed ? ": " + item.error : "");
  }
  errno = 0;
  if (std::fwrite(text.data(), 1, text.size(), stderr) == text.size()) return 0;
  return errno != 0 ? errno : EIO;
}

// The kernels a manifest names, each for its recorded arch; what --bs and --arch would say instead is refused
// rather than guessed (filter, or retarget?), and so is the tuning, which the recorded specs already carry.
void plan_from_manifest(const Options& options, const std::string& manifest, jit::WarmupRequest& request) {
  for (const char* other : {"--bs", "--arch", "--unroll-max", "--fused-max", "--kind"}) {
    if (options.has(other)) {
      throw std::invalid_argument(fmt::format("--manifest cannot be combined with {}: the manifest names each kernel "
                                              "and the arch it was recorded for",
                                              other));
    }
  }
  request.kernels = jit::warmup_kernels(jit::read_manifest(manifest));
  if (request.kernels.empty()) {
    throw std::runtime_error(fmt::format("the manifest {} names no kernels: was DRAFTJIT_RECORD set where kernels "
                                         "were launched?",
                                         manifest));
  }
}

}  // namespace

int run_warmup(const Args& args) {
  const Options options(args, {"--bs", "--arch", "--jobs", "--unroll-max", "--fused-max", "--manifest", "--kind"},
                        switch_flags());
  const std::string manifest = options.get("--manifest", "");
  jit::WarmupRequest request;
  std::size_t bs_count = 0;
  if (options.has("--manifest")) {
    plan_from_manifest(options, manifest, request);
  } else {
    if (!options.has("--bs")) throw std::invalid_argument("--bs (or --manifest) is required, e.g. --bs 1-1024");
    const std::vector<int> parsed = parse_bs_list(options.get("--bs", ""));
    const std::vector<std::int64_t> batch_sizes(parsed.begin(), parsed.end());
    const std::vector<jit::Toolchain> toolchains =
        parse_toolchains(options.has("--arch") ? options.get("--arch", "") : default_arch());
    const KindChoice choice = kind_from(options, "main");
    request.specs = ops::kernels_for(*choice.kind, batch_sizes, choice.flags, tuning_from(options));
    request.toolchains = toolchains;
    bs_count = batch_sizes.size();
  }
  const int jobs_wanted = options.get_int("--jobs", std::numeric_limits<int>::max());
  if (jobs_wanted < 1) throw std::invalid_argument("--jobs must be at least 1");
  request.jobs = static_cast<std::size_t>(jobs_wanted);

  const bool tty = ::isatty(STDERR_FILENO) == 1;
  const jit::FrontEndScope front_end("draftjit warmup");
  int progress_error = 0;  // of the first progress write that failed: said once, at the end, on stdout
  const jit::WarmupSummary s = jit::warmup(request, jit::process_pipeline(), [&](const jit::WarmupItem& item) {
    const int error = print_progress(tty, item);
    if (progress_error == 0) progress_error = error;
  });

  if (s.stale_temps_removed > 0) {
    fmt::print("warmup: removed {} stale temp file{}\n", s.stale_temps_removed, s.stale_temps_removed == 1 ? "" : "s");
  }
  std::vector<std::string> archs;  // in first-use order
  auto note_arch = [&](const std::string& arch) {
    if (std::find(archs.begin(), archs.end(), arch) == archs.end()) archs.push_back(arch);
  };
  for (const jit::Toolchain& toolchain : request.toolchains) note_arch(toolchain.arch);
  for (const jit::WarmupKernel& kernel : request.kernels) note_arch(kernel.toolchain.arch);
  const std::string source = options.has("--manifest") ? fmt::format("from the manifest {}", manifest)
                                                       : fmt::format("for {} bs", bs_count);
  // A disabled cache is the user's choice; a cache that could not take every kernel is a failed warmup.
  std::string where = "memory only (disk cache disabled)";
  if (s.disk_enabled) {
    const std::string dir = s.cache_dir.empty() ? "no writable directory" : s.cache_dir;
    // A bound smaller than what was stored evicted some of it, maybe this warmup's own kernels: never "in the cache".
    where = s.not_stored > 0 ? fmt::format("NOT all stored in {} (see the warnings above)", dir)
            : s.evicted > 0
                ? fmt::format("{} bytes of cubin stored in {}, and {} entries ({} bytes) evicted by "
                              "DRAFTJIT_CACHE_MAX_BYTES={} meanwhile: not all of these kernels may still be there",
                              s.bytes, dir, s.evicted, s.evicted_bytes, s.max_bytes.value_or(0))
                : fmt::format("{} bytes of cubin in the cache ({})", s.bytes, dir);
  }
  if (progress_error != 0) {
    fmt::print("warmup: progress could not be written to stderr ({}); the warmup went on\n",
               std::error_code(progress_error, std::generic_category()).message());
  }
  fmt::print("warmup: {} kernels {} on {} with {} threads: {} compiled, {} already cached, {} failed, "
             "{} not stored in {:.2f} s; {}\n",
             s.kernels, source, fmt::join(archs, ","), s.workers, s.compiled, s.cached, s.failed,
             s.disk_enabled ? s.not_stored : 0, s.seconds, where);
  return s.failed == 0 && (!s.disk_enabled || s.not_stored == 0) ? 0 : 1;
}

}  // namespace draftjit::cli
