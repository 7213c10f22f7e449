#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
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
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int jobs_wanted = options.get_int("--jobs", cores);
  if (jobs_wanted < 1) throw std::invalid_argument("--jobs must be at least 1");
  const Tuning tuning = tuning_from(options);

  const std::vector<Job> jobs = plan(bs_list, toolchains, tuning);
  jit::Pipeline& pipeline = jit::process_pipeline();
  Progress progress(jobs.size());
  std::atomic<std::size_t> next{0}, compiled{0}, cached{0}, failed{0}, bytes{0};
  const auto start = std::chrono::steady_clock::now();

  auto worker = [&] {
    for (std::size_t i = next++; i < jobs.size(); i = next++) {
      const Job& job = jobs[i];
      try {
        jit::Origin origin{};
        bytes += pipeline.get(job.spec, *job.toolchain, &origin)->cubin.size();
        (origin == jit::Origin::Compiled ? compiled : cached)++;
        progress.done(job, origin == jit::Origin::Compiled ? "compiled" : "cached");
      } catch (const std::exception& e) {
        ++failed;
        progress.done(job, "FAILED", fmt::format(": {}", e.what()));
      }
    }
  };
  std::vector<std::thread> threads;
  const int workers = std::min<int>(jobs_wanted, static_cast<int>(std::max<std::size_t>(jobs.size(), 1)));
  for (int t = 0; t < workers; ++t) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();

  std::string arch_list;
  for (const jit::Toolchain& toolchain : toolchains) arch_list += (arch_list.empty() ? "" : ",") + toolchain.arch;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const jit::DiskCache* disk = pipeline.disk();
  fmt::print("warmup: {} kernels for {} bs on {}: {} compiled, {} already cached, {} failed in {:.2f} s; "
             "{} bytes of cubin in {}\n",
             jobs.size(), bs_list.size(), arch_list, compiled.load(), cached.load(), failed.load(),
             seconds, bytes.load(), disk != nullptr ? disk->dir().string() : "memory only (disk cache disabled)");
  return failed.load() == 0 ? 0 : 1;
}

}  // namespace draftjit::cli
