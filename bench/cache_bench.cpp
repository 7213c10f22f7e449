// Costs of the kernel caches, one figure per mode (microseconds unless stated):
//   cold-compile        NVRTC compile of fresh specialisations, median after the first (no GPU needed)
//   disk-hit            this process's first two Pipeline::get calls (bs, bs + 1) from a warm disk cache; no GPU
//   first-call          this process's first call at bs from a warm disk cache (run `draftjit warmup` first) against
//                       cuModuleLoadData + cuModuleGetFunction of the same cubin
//   first-call-phases   the same first call split into its steps
//   warm-overhead       host time of a warm async call minus a raw cuLaunchKernel of the same kernel
#include <cuda.h>
#include <cuda_runtime.h>
#include <draftjit/draftjit.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "context_registry.hpp"
#include "driver_api.hpp"
#include "ops/draft_extend/family.hpp"
#include "jit/pipeline.hpp"
#include "launch.hpp"

namespace draft_extend = draftjit::ops::draft_extend;

namespace {

using Clock = std::chrono::steady_clock;

double us_since(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int cold_compile() {
  draftjit::jit::Pipeline pipeline;  // memory only: every spec is a real compile
  const auto sm90 = draftjit::jit::Toolchain::for_arch("sm_90");
  std::vector<double> ms;
  for (int bs = 1; bs <= 33; ++bs) {
    const auto start = Clock::now();
    pipeline.get(draft_extend::fused_spec(bs, {}), sm90);
    ms.push_back(us_since(start) / 1000.0);
  }
  const double first = ms.front();
  ms.erase(ms.begin());
  fmt::print("cold-compile: first {:.1f} ms, median of the next {} {:.1f} ms, max {:.1f} ms\n", first, ms.size(),
             median(ms), *std::max_element(ms.begin(), ms.end()));
  return 0;
}

int disk_hit(int bs) {
  draftjit::jit::Pipeline& pipeline = draftjit::jit::process_pipeline();
  for (int n : {bs, bs + 1}) {
    draftjit::jit::Origin origin{};
    const auto start = Clock::now();
    pipeline.get(draft_extend::fused_spec(n, {}), draftjit::jit::Toolchain::for_arch("sm_90"), &origin);
    fmt::print("disk-hit bs={}: {:.1f} us ({})\n", n, us_since(start),
               origin == draftjit::jit::Origin::Disk ? "disk" : "NOT a disk hit: warm the cache first");
  }
  return 0;
}

struct Buffers {
  int *ext, *seq, *out, *words;
  Buffers() {
    cudaMalloc(&ext, 64 * sizeof(int));
    cudaMalloc(&seq, 64 * sizeof(int));
    cudaMalloc(&out, 512 * sizeof(int));
    cudaMalloc(&words, 2 * sizeof(int));
    cudaMemset(ext, 0, 64 * sizeof(int));
    cudaMemset(seq, 0, 64 * sizeof(int));
  }
  draftjit::DraftExtendArgs args(int bs) const { return {ext, seq, bs, 2048, out, out + 256, 256}; }
};

// Loads the kernel of bs + 1 as the context's first module, untimed, so that no timed load pays the context's
// first-module cost. The module stays loaded for the rest of the (short) process.
void load_unrelated_module(int bs, const draftjit::jit::Toolchain& toolchain) {
  CUmodule module = nullptr;
  draftjit::driver().cuModuleLoadData(
      &module, draftjit::jit::process_pipeline().get(draft_extend::fused_spec(bs + 1, {}), toolchain)->cubin.data());
}

// Our first call from a warm disk cache against the floor the issue sets: cuModuleLoadData + cuModuleGetFunction of
// the same cubin, in the same process. One unrelated module is loaded first, untimed, so that neither side pays the
// context's first-module cost; the raw load runs second, on file pages and driver state our call has warmed, which
// makes the ratio conservative.
int first_call(int bs) {
  cudaSetDevice(0);
  cudaFree(nullptr);  // create the context outside the timed region
  Buffers b;
  const auto sm90 = draftjit::jit::Toolchain::for_arch("sm_90");
  draftjit::jit::Pipeline& pipeline = draftjit::jit::process_pipeline();
  load_unrelated_module(bs, sm90);
  const auto stats_before = pipeline.stats();
  const auto start = Clock::now();
  draftjit::fill_draft_extend_metadata_async(b.args(bs), nullptr, b.words, b.words + 1);
  const double launched = us_since(start);
  cudaDeviceSynchronize();
  const auto stats = pipeline.stats();

  const auto same = pipeline.get(draft_extend::fused_spec(bs, {}), sm90);  // a memory hit: no disk, no NVRTC
  CUmodule module = nullptr;
  CUfunction function = nullptr;
  const auto raw_start = Clock::now();
  draftjit::driver().cuModuleLoadData(&module, same->cubin.data());
  draftjit::driver().cuModuleGetFunction(&function, module, same->entry.c_str());
  const double raw = us_since(raw_start);
  fmt::print("first-call bs={}: {:.1f} us from call to launch ({} disk hits, {} renders, {} compiles); "
             "cuModuleLoadData + cuModuleGetFunction of the same cubin {:.1f} us; ratio {:.2f}\n",
             bs, launched, stats.disk_hits - stats_before.disk_hits, stats.renders - stats_before.renders,
             stats.compiles - stats_before.compiles, raw, launched / raw);
  return 0;
}

// Where a first call's time goes, in a fresh process: the context's registry entry (toolchain, SM count), the
// kernel (pipeline: key, disk; then cuModuleLoadData + cuModuleGetFunction), then the now-warm call itself.
int first_call_phases(int bs) {
  cudaSetDevice(0);
  cudaFree(nullptr);
  Buffers b;
  const auto sm90 = draftjit::jit::Toolchain::for_arch("sm_90");
  auto start = Clock::now();
  draftjit::jit::process_pipeline();
  const double pipeline_us = us_since(start);
  load_unrelated_module(bs, sm90);
  start = Clock::now();
  draftjit::Context& context = draftjit::current_context();
  const double context_us = us_since(start);
  start = Clock::now();
  const auto compiled = draftjit::jit::process_pipeline().get(draft_extend::fused_spec(bs, {}), sm90);
  const double get_us = us_since(start);
  start = Clock::now();
  context.kernel(draft_extend::fused_spec(bs, {}));  // the pipeline now answers from memory: this is the load
  const double load_us = us_since(start);
  start = Clock::now();
  draftjit::fill_draft_extend_metadata_async(b.args(bs), nullptr, b.words, b.words + 1);
  const double call_us = us_since(start);
  cudaDeviceSynchronize();
  fmt::print("first-call-phases bs={}: process pipeline {:.1f} us, context entry {:.1f} us, pipeline get (disk) "
             "{:.1f} us, module load + get function {:.1f} us, the call once loaded {:.1f} us\n",
             bs, pipeline_us, context_us, get_us, load_us, call_us);
  return 0;
}

int warm_overhead(int bs) {
  cudaSetDevice(0);
  Buffers b;
  const draftjit::DraftExtendArgs args = b.args(bs);
  const draftjit::jit::KernelSpec spec = draft_extend::fused_spec(bs, {});
  draftjit::prepare(bs);
  const draftjit::LoadedKernel& kernel = draftjit::current_context().kernel(spec);
  draftjit_kernels::FusedParams params{b.ext, b.seq, bs, 2048, b.out, b.out + 256, 256, b.words, b.words + 1, nullptr};
  void* args_of_raw[] = {&params};
  const unsigned blocks = 2;  // capacity 256 / 128 threads, as the runtime picks
  auto raw = [&] {
    draftjit::driver().cuLaunchKernel(kernel.function, blocks, 1, 1, spec.threads, 1, 1, 0, nullptr, args_of_raw,
                                      nullptr);
  };
  auto ours = [&] { draftjit::fill_draft_extend_metadata_async(args, nullptr, b.words, b.words + 1); };
  auto host_time = [&](auto call) {
    std::vector<double> us;
    for (int i = -200; i < 20000; ++i) {
      if (i % 100 == 0) cudaDeviceSynchronize();  // keep the launch queue short, outside the timed calls
      const auto start = Clock::now();
      call();
      if (i >= 0) us.push_back(us_since(start));
    }
    return median(us);
  };
  const double raw_us = host_time(raw);
  const double ours_us = host_time(ours);
  fmt::print("warm-overhead bs={}: raw cuLaunchKernel {:.3f} us, draftjit async call {:.3f} us, overhead {:.3f} us\n",
             bs, raw_us, ours_us, ours_us - raw_us);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  const int bs = argc > 2 ? std::stoi(argv[2]) : 32;
  try {
    if (mode == "cold-compile") return cold_compile();
    if (mode == "disk-hit") return disk_hit(bs);
    if (mode == "first-call") return first_call(bs);
    if (mode == "first-call-phases") return first_call_phases(bs);
    if (mode == "warm-overhead") return warm_overhead(bs);
  } catch (const std::exception& e) {
    fmt::print(stderr, "draftjit_cache_bench: {}\n", e.what());
    return 1;
  }
  fmt::print(stderr, "usage: draftjit_cache_bench cold-compile | disk-hit [bs] | first-call [bs] | "
                     "first-call-phases [bs] | warm-overhead [bs]\n");
  return 2;
}
