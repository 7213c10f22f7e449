#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "jit/kernel_spec.hpp"
#include "jit/cache/manifest.hpp"
#include "jit/pipeline.hpp"
#include "jit/nvrtc/toolchain.hpp"

namespace draftjit::jit {

// One kernel named as it is, for one toolchain: what a manifest line becomes.
struct WarmupKernel {
  KernelSpec spec;
  Toolchain toolchain;
};

// Filling a cache ahead of use: the one loop behind `draftjit warmup` and the Python module's warmup().
struct WarmupRequest {
  std::vector<KernelSpec> specs;      // the kernels of the calls warmed (ops::kernels_for); duplicates add none
  std::vector<Toolchain> toolchains;  // every kernel of specs is built for each of them
  // Kernels built as they are, each for its own toolchain, after those of specs; one that repeats a kernel of the
  // plan (same spec, arch, options and NVRTC version) is built once.
  std::vector<WarmupKernel> kernels;
  std::size_t jobs = 0;  // worker threads wanted; 0: one per core. Never more than the cores or the kernels.
};

// One kernel done, for progress output.
struct WarmupItem {
  KernelSpec spec;
  const Toolchain* toolchain = nullptr;  // one of the request's (in toolchains, or of one of its kernels)
  Origin origin = Origin::Compiled;      // meaningless when failed
  bool failed = false;
  std::string error;    // what the pipeline threw, when failed
  bool stored = false;  // in a cache directory (found in one, or written to the writable one)
  std::size_t bytes = 0;     // of the cubin
  std::size_t finished = 0;  // kernels done so far, this one included: 1, 2, ... kernels
  std::size_t kernels = 0;   // in the whole warmup
};

struct WarmupSummary {
  std::size_t kernels = 0;  // distinct specs x toolchains, and the distinct explicit kernels
  std::size_t compiled = 0;
  std::size_t cached = 0;      // found in memory or on disk
  std::size_t failed = 0;
  std::size_t not_stored = 0;  // built or found but in memory only: the disk cache is off or refused it
  std::size_t bytes = 0;       // of the cubins that are stored
  std::size_t stale_temps_removed = 0;
  std::size_t workers = 0;
  double seconds = 0;  // of the compile phase, after the sweep
  bool disk_enabled = false;
  std::string cache_dir;  // the writable directory; empty without one
  // What the DRAFTJIT_CACHE_MAX_BYTES bound (max_bytes) evicted while this warmup stored: a bound smaller than the
  // warmup's kernels leaves some of them out of the cache, which the summary must say.
  std::optional<std::uint64_t> max_bytes;
  std::size_t evicted = 0;
  std::uintmax_t evicted_bytes = 0;
};

// The manifest's kernels, each for the toolchain of its arch (Toolchain::for_arch, once per arch): a request's
// `kernels`. Throws like Toolchain::for_arch.
std::vector<WarmupKernel> warmup_kernels(const std::vector<ManifestEntry>& entries);

// Sweeps the writable directory's stale temp files (best effort), then gets every kernel these batch sizes use on
// each toolchain, and every explicit kernel, through the pipeline, in parallel worker threads. A kernel that fails
// is counted, never thrown. `on_done` (may be empty) is called once per kernel, one call at a time; if it throws, no
// further kernel is started and its first exception is rethrown once the workers have stopped.
WarmupSummary warmup(const WarmupRequest& request, Pipeline& pipeline,
                     const std::function<void(const WarmupItem&)>& on_done = {});

}  // namespace draftjit::jit
