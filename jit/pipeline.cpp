#include "jit/pipeline.hpp"

#include <fmt/format.h>

#include <atomic>
#include <chrono>

#include "draftjit/errors.hpp"
#include "jit/nvrtc/codegen.hpp"
#include "jit/nvrtc/compile_dump.hpp"
#include "jit/nvrtc/compile_policy.hpp"
#include "jit/environment.hpp"
#include "jit/fork_local.hpp"
#include "jit/kernel_family.hpp"
#include "jit/log.hpp"
#include "jit/nvrtc/nvrtc_compiler.hpp"

namespace draftjit::jit {

RenderedKernel render(const KernelSpec& spec, const Toolchain& toolchain) {
  return {spec, render_source(spec), make_key(spec, toolchain)};
}

Pipeline::Pipeline(std::unique_ptr<DiskCache> disk)
    : disk_(std::move(disk)), disk_hits_per_layer_(disk_ != nullptr ? disk_->layers().size() : 0) {}

std::shared_ptr<const CompiledKernel> Pipeline::get(const KernelSpec& spec, const Toolchain& toolchain,
                                                    Origin* origin) {
  const KernelKey key = make_key(spec, toolchain);
  bool built = false;
  auto compiled = memory_.get(key.text, [&] { return load_or_compile(spec, key, toolchain, origin); }, &built);
  if (!built) {
    memory_hits_.fetch_add(1, std::memory_order_relaxed);
    if (origin != nullptr) *origin = Origin::Memory;
  }
  return compiled;
}

std::shared_ptr<const CompiledKernel> Pipeline::load_or_compile(const KernelSpec& spec, const KernelKey& key,
                                                                const Toolchain& toolchain, Origin* origin) {
  auto compiled = std::make_shared<CompiledKernel>(CompiledKernel{key, spec.variant_info().entry, {}, false});
  std::size_t layer = 0;
  auto from_disk = [&](std::optional<std::vector<char>> cubin) {
    if (!cubin) return false;
    ++disk_hits_;
    ++disk_hits_per_layer_[layer];
    log_event(LogLevel::Info, "disk hit", fmt::format("{} in layer {} ({})", key.stem, layer,
                                                      disk_->layers()[layer].dir.string()));
    if (origin != nullptr) *origin = Origin::Disk;
    compiled->cubin = std::move(*cubin);
    compiled->on_disk = true;
    return true;
  };
  std::unique_ptr<KeyLock> lock;
  if (disk_ != nullptr) {
    if (from_disk(disk_->load(key, &layer))) return compiled;
    // Another process may be compiling this key right now: wait for it, then look again.
    lock = disk_->lock(key);
    if (lock != nullptr && from_disk(disk_->load(key, &layer))) return compiled;
  }
  check_compile_allowed(key.stem);
  ++renders_;
  const std::string source = render_source(spec);
  const auto& dump = dump_dir();
  const auto start = std::chrono::steady_clock::now();
  CompileOutput output;
  try {
    output = compile(source, toolchain, key.stem, /*want_ptx=*/dump.has_value());
  } catch (const std::exception& error) {  // NVRTC's rejection (CompileError, with its log), or NVRTC missing
    // Info, and the error's first line only: the caller gets the whole error, and a warmup without NVRTC would
    // otherwise print its search once per kernel.
    const auto* rejected = dynamic_cast<const CompileError*>(&error);
    const std::string_view what = error.what();
    log_event(LogLevel::Info, "compile failed",
              fmt::format("{} for {} ({}): {}", key.stem, toolchain.arch, current_front_end(),
                          rejected != nullptr ? "NVRTC rejected it (its log is in the error)"
                                              : what.substr(0, what.find('\n'))));
    if (dump) dump_compile(*dump, key.stem, source, toolchain, nullptr, rejected != nullptr ? rejected->log() : "");
    throw;
  }
  const auto ns = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count());
  ++compiles_;
  compile_ns_total_ += ns;
  for (std::uint64_t seen = compile_ns_max_.load(); ns > seen && !compile_ns_max_.compare_exchange_weak(seen, ns);) {
  }
  log_event(LogLevel::Info, "compile",
            fmt::format("{} for {} in {:.1f} ms ({})", key.stem, toolchain.arch, static_cast<double>(ns) / 1e6,
                        current_front_end()));
  if (dump) dump_compile(*dump, key.stem, source, toolchain, &output.ptx, output.log);
  compiled->cubin = std::move(output.cubin);
  if (origin != nullptr) *origin = Origin::Compiled;
  compiled->on_disk = disk_ != nullptr && disk_->store(key, compiled->cubin);
  if (compiled->on_disk) bytes_stored_ += compiled->cubin.size();
  return compiled;
}

Pipeline::Stats Pipeline::stats() const {
  Stats stats{memory_hits_.load(),
              disk_hits_.load(),
              {},
              renders_.load(),
              compiles_.load(),
              static_cast<double>(compile_ns_total_.load()) / 1e6,
              static_cast<double>(compile_ns_max_.load()) / 1e6,
              bytes_stored_.load()};
  for (const auto& hits : disk_hits_per_layer_) stats.disk_hits_per_layer.push_back(hits.load());
  return stats;
}

void Pipeline::reset_stats() {
  for (auto* counter : {&memory_hits_, &disk_hits_, &renders_, &compiles_, &bytes_stored_}) counter->store(0);
  for (auto& hits : disk_hits_per_layer_) hits.store(0);
  compile_ns_total_.store(0);
  compile_ns_max_.store(0);
}

namespace {

Pipeline* make_process_pipeline() {
  check_environment();  // no work under a variable's value that was meant as something else
  const CacheLocation location = cache_location_from_env();
  return new Pipeline(location.enabled() ? std::make_unique<DiskCache>(location) : nullptr);
}

}  // namespace

// Never destroyed: threads still compiling while the process exits (daemon threads of a Python server) would
// otherwise run into a memo, mutex and disk cache destroyed under them. A forked child builds its own: the parent's
// may hold unfinished single-flight entries of threads that do not exist there, which the child would wait on.
Pipeline& process_pipeline() { return ForkLocal<Pipeline>::get(make_process_pipeline); }

}  // namespace draftjit::jit
