#include "jit/warmup.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>

#include "jit/log.hpp"

namespace draftjit::jit {
namespace {

// Temp files of killed runs: nobody else removes them outside `cache clear`. Best effort: a directory that cannot
// be read shows up again, with its reason, in the stores' warnings.
std::size_t sweep_stale_temps(const DiskCache* disk) {
  if (disk == nullptr) return 0;
  try {
    return disk->remove(/*entries=*/false).removed;
  } catch (const std::system_error&) {
    return 0;
  }
}

bool same_toolchain(const Toolchain& a, const Toolchain& b) {
  return a.arch == b.arch && a.options == b.options && a.nvrtc_version == b.nvrtc_version;
}

// One item per kernel and toolchain, spec and toolchain filled in, toolchain by toolchain, then the explicit
// kernels in their order; each kernel once.
std::vector<WarmupItem> plan(const WarmupRequest& request) {
  std::vector<WarmupItem> items;
  auto add = [&](const KernelSpec& spec, const Toolchain& toolchain) {
    const bool planned = std::any_of(items.begin(), items.end(), [&](const WarmupItem& item) {
      return item.spec == spec && same_toolchain(*item.toolchain, toolchain);
    });
    if (planned) return;
    WarmupItem item;
    item.spec = spec;
    item.toolchain = &toolchain;
    items.push_back(std::move(item));
  };
  for (const Toolchain& toolchain : request.toolchains) {
    for (const KernelSpec& spec : request.specs) add(spec, toolchain);
  }
  for (const WarmupKernel& kernel : request.kernels) add(kernel.spec, kernel.toolchain);
  return items;
}

// Compiles are CPU-bound: threads beyond the cores (or the kernels) only add contention.
std::size_t worker_count(std::size_t wanted, std::size_t kernels) {
  const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
  return std::max<std::size_t>(1, std::min({wanted == 0 ? cores : wanted, cores, kernels}));
}

}  // namespace

std::vector<WarmupKernel> warmup_kernels(const std::vector<ManifestEntry>& entries) {
  std::vector<WarmupKernel> kernels;
  std::vector<Toolchain> toolchains;  // one per arch: for_arch asks NVRTC
  for (const ManifestEntry& entry : entries) {
    auto found = std::find_if(toolchains.begin(), toolchains.end(),
                              [&](const Toolchain& t) { return t.arch == entry.arch; });
    if (found == toolchains.end()) found = toolchains.insert(toolchains.end(), Toolchain::for_arch(entry.arch));
    kernels.push_back({entry.spec, *found});
  }
  return kernels;
}

WarmupSummary warmup(const WarmupRequest& request, Pipeline& pipeline,
                     const std::function<void(const WarmupItem&)>& on_done) {
  WarmupSummary summary;
  const DiskCache* disk = pipeline.disk();
  summary.disk_enabled = disk != nullptr;
  if (disk != nullptr && disk->writable() != nullptr) summary.cache_dir = disk->writable()->dir.string();
  summary.stale_temps_removed = sweep_stale_temps(disk);
  const DiskCache::Evicted evicted_before = disk != nullptr ? disk->evicted_by_bound() : DiskCache::Evicted{};

  const std::vector<WarmupItem> plan_items = plan(request);
  summary.kernels = plan_items.size();
  const auto start = std::chrono::steady_clock::now();
  std::atomic<std::size_t> next{0};
  std::mutex done_mutex;  // guards the counts and serialises on_done
  std::exception_ptr callback_error;

  auto finish = [&](WarmupItem& item) {
    std::lock_guard lock(done_mutex);
    item.finished = summary.compiled + summary.cached + summary.failed + 1;
    item.kernels = summary.kernels;
    if (item.failed) {
      ++summary.failed;
    } else {
      ++(item.origin == Origin::Compiled ? summary.compiled : summary.cached);
      if (item.stored) {
        summary.bytes += item.bytes;
      } else {
        ++summary.not_stored;
      }
    }
    if (!on_done || callback_error) return;
    try {
      on_done(item);
    } catch (...) {  // out of the worker thread it would terminate the process: hand it to the caller
      callback_error = std::current_exception();
      next = plan_items.size();
    }
  };
  const char* front_end = current_front_end();  // the workers' compiles are the caller's
  auto worker = [&] {
    const FrontEndScope scope(front_end);
    for (std::size_t i = next++; i < plan_items.size(); i = next++) {
      WarmupItem item = plan_items[i];
      try {
        const auto kernel = pipeline.get(item.spec, *item.toolchain, &item.origin);
        item.stored = kernel->on_disk;
        item.bytes = kernel->cubin.size();
      } catch (const std::exception& e) {
        item.failed = true;
        item.error = e.what();
      }
      finish(item);  // outside the try: output trouble in on_done never marks a built kernel failed
    }
  };

  // The calling thread is one of the workers, so a thread that cannot be started only means fewer of them.
  const std::size_t wanted = worker_count(request.jobs, plan_items.size());
  std::vector<std::thread> threads;
  try {
    while (threads.size() + 1 < wanted) threads.emplace_back(worker);
  } catch (const std::system_error&) {
  }
  summary.workers = threads.size() + 1;
  worker();
  for (std::thread& t : threads) t.join();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (disk != nullptr) {
    const DiskCache::Evicted evicted = disk->evicted_by_bound();
    summary.max_bytes = disk->max_bytes();
    summary.evicted = evicted.entries - evicted_before.entries;
    summary.evicted_bytes = evicted.bytes - evicted_before.bytes;
  }
  if (callback_error) std::rethrow_exception(callback_error);
  return summary;
}

}  // namespace draftjit::jit
