#include "jit/pipeline.hpp"

#include "jit/codegen.hpp"
#include "jit/nvrtc_compiler.hpp"

namespace draftjit::jit {

RenderedKernel render(const KernelSpec& spec, const Toolchain& toolchain) {
  RenderedKernel kernel{spec, render_source(spec), {}};
  kernel.key = make_key(spec, toolchain, kernel.source);
  return kernel;
}

Pipeline::Pipeline(std::unique_ptr<DiskCache> disk) : disk_(std::move(disk)) {}

std::shared_ptr<const CompiledKernel> Pipeline::get(const KernelSpec& spec, const Toolchain& toolchain,
                                                    Origin* origin) {
  const RenderedKernel kernel = render(spec, toolchain);
  bool built = false;
  auto compiled = memory_.get(kernel.key.text, [&] { return load_or_compile(kernel, toolchain, origin); }, &built);
  if (!built) {
    ++memory_hits_;
    if (origin != nullptr) *origin = Origin::Memory;
  }
  return compiled;
}

std::shared_ptr<const CompiledKernel> Pipeline::load_or_compile(const RenderedKernel& kernel,
                                                                const Toolchain& toolchain, Origin* origin) {
  auto compiled = std::make_shared<CompiledKernel>(CompiledKernel{kernel.key, kernel.spec.info().entry, {}});
  if (disk_ != nullptr) {
    if (auto cubin = disk_->load(kernel.key)) {
      ++disk_hits_;
      if (origin != nullptr) *origin = Origin::Disk;
      compiled->cubin = std::move(*cubin);
      return compiled;
    }
  }
  compiled->cubin = compile(kernel.source, toolchain, kernel.key.stem).cubin;
  ++compiles_;
  if (origin != nullptr) *origin = Origin::Compiled;
  if (disk_ != nullptr) disk_->store(kernel.key, compiled->cubin);
  return compiled;
}

Pipeline::Stats Pipeline::stats() const { return {memory_hits_.load(), disk_hits_.load(), compiles_.load()}; }

Pipeline& process_pipeline() {
  static Pipeline pipeline([] {
    auto dir = default_cache_dir();
    return dir ? std::make_unique<DiskCache>(*dir) : nullptr;
  }());
  return pipeline;
}

}  // namespace draftjit::jit
