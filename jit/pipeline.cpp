#include "jit/pipeline.hpp"

#include "jit/codegen.hpp"
#include "jit/nvrtc_compiler.hpp"

namespace draftjit::jit {

RenderedKernel render(const KernelSpec& spec, const Toolchain& toolchain) {
  return {spec, render_source(spec), make_key(spec, toolchain)};
}

Pipeline::Pipeline(std::unique_ptr<DiskCache> disk) : disk_(std::move(disk)) {}

std::shared_ptr<const CompiledKernel> Pipeline::get(const KernelSpec& spec, const Toolchain& toolchain,
                                                    Origin* origin) {
  const KernelKey key = make_key(spec, toolchain);
  bool built = false;
  auto compiled = memory_.get(key.text, [&] { return load_or_compile(spec, key, toolchain, origin); }, &built);
  if (!built) {
    ++memory_hits_;
    if (origin != nullptr) *origin = Origin::Memory;
  }
  return compiled;
}

std::shared_ptr<const CompiledKernel> Pipeline::load_or_compile(const KernelSpec& spec, const KernelKey& key,
                                                                const Toolchain& toolchain, Origin* origin) {
  auto compiled = std::make_shared<CompiledKernel>(CompiledKernel{key, spec.info().entry, {}, false});
  auto from_disk = [&](std::optional<std::vector<char>> cubin) {
    if (!cubin) return false;
    ++disk_hits_;
    if (origin != nullptr) *origin = Origin::Disk;
    compiled->cubin = std::move(*cubin);
    compiled->on_disk = true;
    return true;
  };
  std::unique_ptr<KeyLock> lock;
  if (disk_ != nullptr) {
    if (from_disk(disk_->load(key))) return compiled;
    // Another process may be compiling this key right now: wait for it, then look again.
    lock = disk_->lock(key);
    if (lock != nullptr && from_disk(disk_->load(key))) return compiled;
  }
  ++renders_;
  compiled->cubin = compile(render_source(spec), toolchain, key.stem).cubin;
  ++compiles_;
  if (origin != nullptr) *origin = Origin::Compiled;
  compiled->on_disk = disk_ != nullptr && disk_->store(key, compiled->cubin);
  return compiled;
}

Pipeline::Stats Pipeline::stats() const {
  return {memory_hits_.load(), disk_hits_.load(), renders_.load(), compiles_.load()};
}

Pipeline& process_pipeline() {
  static Pipeline pipeline([] {
    const CacheLocation location = cache_location_from_env();
    return location.enabled() ? std::make_unique<DiskCache>(location) : nullptr;
  }());
  return pipeline;
}

}  // namespace draftjit::jit
