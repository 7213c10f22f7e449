#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "commands.hpp"
#include "jit/pipeline.hpp"

namespace draftjit::cli {
namespace {

struct Job {
  jit::KernelSpec spec;
  const jit::Toolchain* toolchain;
};

std::vector<Job> plan(const std::vector<int>& bs_list, const std::vector<jit::Toolchain>& toolchains,
                      const Tuning& tuning) {
  std::vector<Job> jobs;
  const std::vector<jit::KernelSpec> specs = jit::kernels_for(bs_list, tuning);
  for (const jit::Toolchain& toolchain : toolchains) {
    for (const jit::KernelSpec& spec : specs) jobs.push_back({spec, &toolchain});
  }
  return jobs;
}

class Progress {
 public:
  explicit Progress(std::size_t total) : total_(total), tty_(::isatty(STDERR_FILENO) == 1) {}

  void done(const Job& job, const char* outcome, const std::string& detail = {}) {
    std::lock_guard lock(mutex_);
    ++finished_;
    if (tty_) {
      constexpr int kWidth = 30;
      const int filled = static_cast<int>(kWidth * finished_ / std::max<std::size_t>(total_, 1));
      fmt::print(stderr, "\r[{:=<{}}{: <{}}] {}/{} {:<48}", "", filled, "", kWidth - filled, finished_, total_,
                 job.spec.name() + "." + job.toolchain->arch);
      if (finished_ == total_) fmt::print(stderr, "\n");
    }
    if (!tty_ || !detail.empty()) {
      fmt::print(stderr, "{}{:<9} {}.{}{}\n", tty_ ? "\n" : "", outcome, job.spec.name(), job.toolchain->arch, detail);
    }
  }

 private:
  std::mutex mutex_;
  std::size_t total_;
  std::size_t finished_ = 0;
  bool tty_;
};

}  // namespace

int run_warmup(const Args& args) {
  const Options options(args, {"--bs", "--arch", "--jobs", "--unroll-max", "--fused-max"}, {});
  if (!options.has("--bs")) throw std::invalid_argument("--bs is required, e.g. --bs 1-1024");
  const std::vector<int> bs_list = parse_bs_list(options.get("--bs", ""));
  const std::vector<jit::Toolchain> toolchains =
      parse_toolchains(options.has("--arch") ? options.get("--arch", "") : default_arch());
  const int jobs_wanted = options.get_int("--jobs", std::numeric_limits<int>::max());
  if (jobs_wanted < 1) throw std::invalid_argument("--jobs must be at least 1");
  const Tuning tuning = tuning_from(options);

  jit::Pipeline& pipeline = jit::process_pipeline();
  const jit::DiskCache* disk = pipeline.disk();
  if (disk != nullptr) {
    // Temp files of killed runs: nobody else removes them outside `cache clear`. Best effort: a directory that
    // cannot be read shows up again, with its reason, in the stores' warnings.
    try {
      const std::size_t stale = disk->remove(/*entries=*/false).removed;
      if (stale > 0) fmt::print("warmup: removed {} stale temp file{}\n", stale, stale == 1 ? "" : "s");
    } catch (const std::system_error&) {
    }
  }
  const std::vector<Job> jobs = plan(bs_list, toolchains, tuning);
  Progress progress(jobs.size());
  std::atomic<std::size_t> next{0}, compiled{0}, cached{0}, failed{0}, not_stored{0}, bytes{0};
  const auto start = std::chrono::steady_clock::now();

  auto worker = [&] {
    for (std::size_t i = next++; i < jobs.size(); i = next++) {
      const Job& job = jobs[i];
      try {
        jit::Origin origin{};
        const auto kernel = pipeline.get(job.spec, *job.toolchain, &origin);
        (origin == jit::Origin::Compiled ? compiled : cached)++;
        if (kernel->on_disk) {
          bytes += kernel->cubin.size();
        } else {
          ++not_stored;
        }
        progress.done(job, origin == jit::Origin::Compiled ? "compiled" : "cached");
      } catch (const std::exception& e) {
        ++failed;
        progress.done(job, "FAILED", fmt::format(": {}", e.what()));
      }
    }
  };
  // Compiles are CPU-bound: threads beyond the cores (or the jobs) only add contention.
  const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t workers = std::max<std::size_t>(1, std::min({static_cast<std::size_t>(jobs_wanted), cores,
                                                                 jobs.size()}));
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < workers; ++t) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();

  std::string arch_list;
  for (const jit::Toolchain& toolchain : toolchains) arch_list += (arch_list.empty() ? "" : ",") + toolchain.arch;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // A disabled cache is the user's choice; a cache that could not take every kernel is a failed warmup.
  const bool stores_expected = disk != nullptr;
  std::string where = "memory only (disk cache disabled)";
  if (stores_expected) {
    const std::string dir = disk->writable() != nullptr ? disk->writable()->dir.string() : "no writable directory";
    where = not_stored > 0 ? fmt::format("NOT all stored in {} (see the warnings above)", dir)
                           : fmt::format("{} bytes of cubin in the cache ({})", bytes.load(), dir);
  }
  fmt::print("warmup: {} kernels for {} bs on {} with {} threads: {} compiled, {} already cached, {} failed, "
             "{} not stored in {:.2f} s; {}\n",
             jobs.size(), bs_list.size(), arch_list, workers, compiled.load(), cached.load(), failed.load(),
             stores_expected ? not_stored.load() : 0, seconds, where);
  return failed == 0 && (!stores_expected || not_stored == 0) ? 0 : 1;
}

}  // namespace draftjit::cli
