#pragma once
// What this process's JIT did, and the switch that ends it: for servers that must see every compile and must not
// compile once serving (see README.md, "In production").
#include <cstddef>
#include <vector>

namespace draftjit {

// Counters since the process started or since reset_stats(). Only cold-path events count (a kernel looked up for
// a context, read from disk, compiled or loaded): a warm call changes none of them.
struct JitStats {
  std::size_t memory_hits = 0;  // kernels found in the in-memory cache (or built meanwhile by another thread)
  std::size_t disk_hits = 0;    // kernels read from a cache directory; per layer in disk_hits_per_layer
  std::vector<std::size_t> disk_hits_per_layer;  // indexed like `draftjit cache list`'s layers: the writable first
  std::size_t compiles = 0;                      // NVRTC compiles that succeeded
  double compile_ms_total = 0;
  double compile_ms_max = 0;
  std::size_t module_loads = 0;   // modules loaded into CUDA contexts
  std::size_t bytes_stored = 0;   // kernel bytes written to the writable cache directory
};

JitStats stats();
void reset_stats();

// From now on a compile in this process is an error when DRAFTJIT_JIT=strict, a logged warning when
// DRAFTJIT_JIT=warn, and allowed otherwise. Kernels already compiled, or found on disk, are unaffected.
void freeze();

}  // namespace draftjit
