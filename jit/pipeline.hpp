#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "jit/cache/disk_cache.hpp"
#include "jit/kernel_key.hpp"
#include "jit/kernel_spec.hpp"
#include "jit/single_flight.hpp"
#include "jit/nvrtc/toolchain.hpp"

namespace draftjit::jit {

// The source of a spec and the key it is cached under, for `draftjit emit`. Pure: touches no cache, disk or GPU.
struct RenderedKernel {
  KernelSpec spec;
  std::string source;
  KernelKey key;
};
RenderedKernel render(const KernelSpec& spec, const Toolchain& toolchain);

struct CompiledKernel {
  KernelKey key;
  std::string entry;  // the extern "C" kernel name inside the cubin
  std::vector<char> cubin;  // or, for a virtual arch (Toolchain::emits_ptx), PTX with its NUL
  bool on_disk = false;  // in a cache directory: read from one, or stored in the writable one
};

enum class Origin { Memory, Disk, Compiled };

// The one orchestrator of the JIT: key -> memory (single-flight) -> disk -> cross-process compile lock -> disk
// again -> compile policy -> render -> NVRTC -> store on disk -> publish in memory. make_key needs no source, so a
// memory or disk hit renders nothing: the source is rendered only to be compiled. Runtime, prepare, warmup and
// `draftjit emit --cubin-info` all come through get(). Thread-safe; a failed compile is not kept, so the next
// request tries again and reports the same error.
class Pipeline {
 public:
  explicit Pipeline(std::unique_ptr<DiskCache> disk = nullptr);

  std::shared_ptr<const CompiledKernel> get(const KernelSpec& spec, const Toolchain& toolchain,
                                            Origin* origin = nullptr);

  // Counters since construction or the last reset_stats(), one atomic add per event. Only lookups count: a warm
  // call of the runtime finds its kernel in its context and never reaches the pipeline. memory_hits includes
  // requests that waited for another thread's build of the same key.
  struct Stats {
    std::size_t memory_hits = 0;
    std::size_t disk_hits = 0;
    std::vector<std::size_t> disk_hits_per_layer;  // indexed like disk()->layers()
    std::size_t renders = 0;
    std::size_t compiles = 0;
    double compile_ms_total = 0;  // of successful compiles
    double compile_ms_max = 0;
    std::size_t bytes_stored = 0;  // written to the writable cache directory
  };
  Stats stats() const;
  void reset_stats();
  const DiskCache* disk() const { return disk_.get(); }

 private:
  std::shared_ptr<const CompiledKernel> load_or_compile(const KernelSpec& spec, const KernelKey& key,
                                                        const Toolchain& toolchain, Origin* origin);

  std::unique_ptr<DiskCache> disk_;
  SingleFlight<CompiledKernel> memory_;
  std::atomic<std::size_t> memory_hits_{0};
  std::atomic<std::size_t> disk_hits_{0};
  std::vector<std::atomic<std::size_t>> disk_hits_per_layer_;  // one per layer of disk_, fixed at construction
  std::atomic<std::size_t> renders_{0};
  std::atomic<std::size_t> compiles_{0};
  std::atomic<std::uint64_t> compile_ns_total_{0};
  std::atomic<std::uint64_t> compile_ns_max_{0};
  std::atomic<std::size_t> bytes_stored_{0};
};

// The process-wide pipeline behind the runtime API, the CLI and Python: one of the documented caches. Its disk
// location comes from cache_location_from_env() the first time it is used. Never destroyed (threads may compile
// while the process exits); a child forked while another thread compiled starts a fresh one.
Pipeline& process_pipeline();

}  // namespace draftjit::jit
