// draftjit::stats(), reset_stats() and freeze(): the process pipeline's counters, the contexts' module loads and
// the compile policy, behind the public header.
#include "draftjit/stats.hpp"

#include "context_registry.hpp"
#include "jit/nvrtc/compile_policy.hpp"
#include "jit/pipeline.hpp"

namespace draftjit {

JitStats stats() {
  const jit::Pipeline::Stats counted = jit::process_pipeline().stats();
  JitStats result;
  result.memory_hits = counted.memory_hits;
  result.disk_hits = counted.disk_hits;
  result.disk_hits_per_layer = counted.disk_hits_per_layer;
  result.compiles = counted.compiles;
  result.compile_ms_total = counted.compile_ms_total;
  result.compile_ms_max = counted.compile_ms_max;
  result.module_loads = module_load_count();
  result.bytes_stored = counted.bytes_stored;
  return result;
}

void reset_stats() {
  jit::process_pipeline().reset_stats();
  reset_module_load_count();
}

void freeze() { jit::freeze(); }

}  // namespace draftjit
