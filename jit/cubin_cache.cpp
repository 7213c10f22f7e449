#include "jit/cubin_cache.hpp"

#include "jit/codegen.hpp"
#include "jit/nvrtc_compiler.hpp"

namespace draftjit::jit {

CubinCache::CubinCache(std::unique_ptr<DiskCache> disk) : disk_(std::move(disk)) {}

std::shared_ptr<const CompiledKernel> CubinCache::get(const KernelSpec& spec, std::string_view arch,
                                                      Origin* origin) {
  check_arch(arch);
  std::string source = render_source(spec);
  KernelKey key = make_key(spec, arch, source);

  std::promise<std::shared_ptr<const CompiledKernel>> promise;
  {
    std::unique_lock lock(mutex_);
    auto [it, inserted] = entries_.try_emplace(key.text);
    if (!inserted) {
      auto pending = it->second;
      lock.unlock();
      ++memory_hits_;
      if (origin != nullptr) *origin = Origin::Memory;
      return pending.get();
    }
    it->second = promise.get_future().share();
  }
  try {
    auto kernel = build(spec, arch, std::move(source), key, origin);
    promise.set_value(kernel);
    return kernel;
  } catch (...) {
    {
      std::lock_guard lock(mutex_);
      entries_.erase(key.text);
    }
    promise.set_exception(std::current_exception());
    throw;
  }
}

std::shared_ptr<const CompiledKernel> CubinCache::build(const KernelSpec& spec, std::string_view arch,
                                                        std::string source, KernelKey key, Origin* origin) {
  auto kernel = std::make_shared<CompiledKernel>();
  kernel->entry = spec.entry();
  if (disk_ != nullptr) {
    if (auto cubin = disk_->load(key)) {
      ++disk_hits_;
      if (origin != nullptr) *origin = Origin::Disk;
      kernel->key = std::move(key);
      kernel->cubin = std::move(*cubin);
      return kernel;
    }
  }
  kernel->cubin = compile(source, arch, key.stem).cubin;
  ++compiles_;
  if (origin != nullptr) *origin = Origin::Compiled;
  if (disk_ != nullptr) disk_->store(key, kernel->cubin);
  kernel->key = std::move(key);
  return kernel;
}

CubinCache::Stats CubinCache::stats() const { return {memory_hits_.load(), disk_hits_.load(), compiles_.load()}; }

CubinCache& process_cubin_cache() {
  static CubinCache cache([] {
    auto dir = default_cache_dir();
    return dir ? std::make_unique<DiskCache>(*dir) : nullptr;
  }());
  return cache;
}

}  // namespace draftjit::jit
