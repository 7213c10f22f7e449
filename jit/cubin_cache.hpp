#pragma once
#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "jit/disk_cache.hpp"
#include "jit/kernel_key.hpp"
#include "jit/kernel_spec.hpp"

namespace draftjit::jit {

struct CompiledKernel {
  KernelKey key;
  std::string entry;  // the extern "C" kernel name inside the cubin
  std::vector<char> cubin;
};

enum class Origin { Memory, Disk, Compiled };

// Rendered source -> cubin, looked up in memory, then on disk, then compiled by NVRTC. Thread-safe and
// single-flight: threads asking for the same new key wait for one compile. A failed compile is not cached, so the
// next request tries again (and reports the same error).
class CubinCache {
 public:
  explicit CubinCache(std::unique_ptr<DiskCache> disk = nullptr);

  std::shared_ptr<const CompiledKernel> get(const KernelSpec& spec, std::string_view arch, Origin* origin = nullptr);

  struct Stats {
    std::size_t memory_hits = 0;
    std::size_t disk_hits = 0;
    std::size_t compiles = 0;
  };
  Stats stats() const;
  DiskCache* disk() { return disk_.get(); }

 private:
  std::shared_ptr<const CompiledKernel> build(const KernelSpec& spec, std::string_view arch, std::string source,
                                              KernelKey key, Origin* origin);

  std::unique_ptr<DiskCache> disk_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_future<std::shared_ptr<const CompiledKernel>>> entries_;
  std::atomic<std::size_t> memory_hits_{0};
  std::atomic<std::size_t> disk_hits_{0};
  std::atomic<std::size_t> compiles_{0};
};

// The process-wide cache behind the runtime API and the CLI; its disk location comes from default_cache_dir() the
// first time it is used.
CubinCache& process_cubin_cache();

}  // namespace draftjit::jit
