#include "context_kernels.hpp"

#include <fmt/format.h>

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "driver_api.hpp"
#include "jit/cubin_cache.hpp"
#include "jit/errors.hpp"

namespace draftjit {
namespace {

struct FunctionKey {
  CUcontext context;
  std::uint64_t spec;
  bool operator==(const FunctionKey&) const = default;
};

struct FunctionKeyHash {
  std::size_t operator()(const FunctionKey& k) const noexcept {
    return std::hash<const void*>()(k.context) ^ (k.spec * 0x9e3779b97f4a7c15ull);
  }
};

class Module {
 public:
  explicit Module(const std::vector<char>& cubin, const std::string& key) {
    check_cu(driver().cuModuleLoadData(&module_, cubin.data()), "cuModuleLoadData", key);
  }
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  ~Module() {
    if (module_ != nullptr) driver().cuModuleUnload(module_);
  }
  CUmodule get() const { return module_; }

 private:
  CUmodule module_ = nullptr;
};

std::unique_ptr<ContextState> describe_context(CUcontext context) {
  const DriverApi& cu = driver();
  auto state = std::make_unique<ContextState>();
  state->context = context;
  CUdevice device = 0;
  check_cu(cu.cuCtxGetDevice(&device), "cuCtxGetDevice", "the current context");
  state->arch = device_arch(device);
  check_cu(cu.cuDeviceGetAttribute(&state->sm_count, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device),
           "cuDeviceGetAttribute", "multiprocessor count");
  return state;
}

// The documented per-context cache. Never destroyed: modules must outlive every caller, and unloading them during
// static destruction could run after the driver has shut down.
class ContextKernels {
 public:
  static ContextKernels& instance() {
    static ContextKernels* cache = new ContextKernels();
    return *cache;
  }

  const LoadedKernel& get(const jit::KernelSpec& spec) {
    const FunctionKey key{current_context(), spec.id()};
    {
      std::shared_lock lock(mutex_);
      if (auto it = kernels_.find(key); it != kernels_.end()) return *it->second;
    }
    return load(key, spec);
  }

 private:
  static CUcontext current_context() {
    CUcontext context = nullptr;
    check_cu(driver().cuCtxGetCurrent(&context), "cuCtxGetCurrent", "kernel lookup");
    if (context == nullptr) {
      throw Error(
          "draftjit: no CUDA context is current on this thread; make one current, e.g. with cudaSetDevice or "
          "cuCtxSetCurrent");
    }
    return context;
  }

  const LoadedKernel& load(const FunctionKey& key, const jit::KernelSpec& spec) {
    ContextState& state = context_state(key.context);
    auto compiled = jit::process_cubin_cache().get(spec, state.arch);
    auto module = std::make_unique<Module>(compiled->cubin, compiled->key.stem);
    auto kernel = std::make_unique<LoadedKernel>();
    kernel->context = &state;
    kernel->key = compiled->key.stem;
    check_cu(driver().cuModuleGetFunction(&kernel->function, module->get(), compiled->entry.c_str()),
             "cuModuleGetFunction", kernel->key);

    std::unique_lock lock(mutex_);
    auto [it, inserted] = kernels_.try_emplace(key, std::move(kernel));
    if (inserted) modules_.push_back(std::move(module));  // else another thread won; ours unloads here
    return *it->second;
  }

  ContextState& context_state(CUcontext context) {
    {
      std::shared_lock lock(mutex_);
      if (auto it = contexts_.find(context); it != contexts_.end()) return *it->second;
    }
    auto state = describe_context(context);
    std::unique_lock lock(mutex_);
    return *contexts_.try_emplace(context, std::move(state)).first->second;
  }

  std::shared_mutex mutex_;
  std::unordered_map<FunctionKey, std::unique_ptr<LoadedKernel>, FunctionKeyHash> kernels_;
  std::unordered_map<CUcontext, std::unique_ptr<ContextState>> contexts_;
  std::vector<std::unique_ptr<Module>> modules_;
};

}  // namespace

const LoadedKernel& kernel_for_current_context(const jit::KernelSpec& spec) {
  return ContextKernels::instance().get(spec);
}

}  // namespace draftjit
