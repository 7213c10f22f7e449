#include "context_registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <mutex>

#include "draftjit/errors.hpp"
#include "driver_api.hpp"
#include "driver_info.hpp"
#include "jit/kernel_family.hpp"
#include "jit/log.hpp"
#include "jit/cache/manifest.hpp"
#include "jit/pipeline.hpp"

namespace draftjit {
namespace {

constexpr unsigned kDefaultSharedLimit = 48 << 10;  // dynamic shared memory a kernel gets without opting in

std::atomic<std::size_t> module_loads{0};  // every context's, for stats()

CUdevice device_of_current_context() {
  CUdevice device = 0;
  check_cu(driver().cuCtxGetDevice(&device), "cuCtxGetDevice", "the current context");
  return device;
}

// A GPU NVRTC cannot target gets PTX, which the driver finishes; a driver older than the NVRTC cannot read its PTX.
std::string ptx_newer_than_driver(const jit::Toolchain& toolchain, std::string_view key) {
  std::string driver = "unknown";
  try {
    driver = driver_version();
  } catch (const Error&) {
  }
  return fmt::format(
      "cuModuleLoadData failed (CUDA_ERROR_UNSUPPORTED_PTX_VERSION) for {}: the kernel is PTX for {} (NVRTC cannot "
      "make a cubin for this GPU) from NVRTC {}, which is newer than the CUDA driver (CUDA {}), so the driver cannot "
      "finish it; update the driver, or set DRAFTJIT_NVRTC_LIBRARY to an NVRTC no newer than CUDA {}",
      key, toolchain.arch, toolchain.nvrtc_version, driver, driver);
}

// True while handle still names the context that had this ID.
bool alive(CUcontext handle, unsigned long long id) {
  unsigned long long now = 0;
  return driver().cuCtxGetId(handle, &now) == CUDA_SUCCESS && now == id;
}

// Every Context by context ID: one of the documented caches. Never destroyed: modules must outlive every caller,
// and unloading them during static destruction could run after the driver has shut down.
class Registry {
 public:
  static Registry& instance() {
    static Registry* registry = new Registry();
    return *registry;
  }

  Context& current() {
    const DriverApi& cu = driver();
    CUcontext handle = nullptr;
    check_cu(cu.cuCtxGetCurrent(&handle), "cuCtxGetCurrent", "kernel lookup");
    if (handle == nullptr) {
      throw Error(
          "draftjit: no CUDA context is current on this thread; make one current, e.g. with cudaSetDevice or "
          "cuCtxSetCurrent");
    }
    unsigned long long id = 0;
    check_cu(cu.cuCtxGetId(handle, &id), "cuCtxGetId", "the current context");
    {
      std::shared_lock lock(mutex_);
      if (auto it = contexts_.find(id); it != contexts_.end()) return *it->second;
    }
    auto context = std::make_unique<Context>(handle, id, device_of_current_context());
    std::unique_lock lock(mutex_);
    drop_dead_contexts();
    return *contexts_.try_emplace(id, std::move(context)).first->second;
  }

 private:
  // Called with the lock held, only when a context is seen for the first time (so never on a warm call).
  void drop_dead_contexts() {
    std::erase_if(contexts_, [](auto& entry) {
      Context& context = *entry.second;
      if (alive(context.handle(), context.id())) return false;
      context.abandon();
      return true;
    });
  }

  std::shared_mutex mutex_;
  std::unordered_map<unsigned long long, std::unique_ptr<Context>> contexts_;
};

}  // namespace

Context::Context(CUcontext handle, unsigned long long id, CUdevice device)
    : handle_(handle), id_(id), toolchain_(jit::choose_toolchain_for_device(device_arch(device))) {
  check_cu(driver().cuDeviceGetAttribute(&sm_count_, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device),
           "cuDeviceGetAttribute", "multiprocessor count");
}

Context::~Context() = default;

const LoadedKernel* Context::find(const jit::KernelSpec& spec) {
  std::shared_lock lock(mutex_);
  auto it = kernels_.find(spec.id());
  return it != kernels_.end() ? it->second.get() : nullptr;
}

const LoadedKernel& Context::kernel(const jit::KernelSpec& spec) {
  if (const LoadedKernel* loaded = find(spec)) return *loaded;
  auto compiled = jit::process_pipeline().get(spec, toolchain_);
  CUmodule raw = nullptr;
  const CUresult loaded = driver().cuModuleLoadData(&raw, compiled->cubin.data());
  if (loaded == CUDA_ERROR_UNSUPPORTED_PTX_VERSION && toolchain_.emits_ptx()) {
    throw Error(ptx_newer_than_driver(toolchain_, compiled->key.stem));
  }
  check_cu(loaded, "cuModuleLoadData", compiled->key.stem);
  ModuleHandle module(raw);
  auto kernel = std::make_unique<LoadedKernel>();
  kernel->entry = spec.variant_info().entry;
  kernel->key = compiled->key.stem;
  check_cu(driver().cuModuleGetFunction(&kernel->function, module.get(), kernel->entry), "cuModuleGetFunction",
           kernel->key);
  kernel->shared_bytes = spec.dynamic_shared_bytes();
  if (kernel->shared_bytes > kDefaultSharedLimit) {  // past the default a kernel must opt in, once per function
    check_cu(driver().cuFuncSetAttribute(kernel->function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                         static_cast<int>(kernel->shared_bytes)),
             "cuFuncSetAttribute", kernel->key);
  }
  check_cu(driver().cuOccupancyMaxActiveBlocksPerMultiprocessor(&kernel->blocks_per_sm, kernel->function,
                                                                 spec.threads, kernel->shared_bytes),
           "cuOccupancyMaxActiveBlocksPerMultiprocessor", kernel->key);
  kernel->blocks_per_sm = std::max(kernel->blocks_per_sm, 1);

  const LoadedKernel* result = nullptr;
  {
    std::unique_lock lock(mutex_);
    auto [it, inserted] = kernels_.try_emplace(spec.id(), std::move(kernel));
    result = it->second.get();
    if (!inserted) return *result;  // another thread won; ours unloads here
    modules_.push_back(std::move(module));
  }
  module_loads.fetch_add(1, std::memory_order_relaxed);
  jit::log_event(jit::LogLevel::Info, "module load", fmt::format("{} in context {}", result->key, id_));
  jit::record_kernel(spec, toolchain_);  // DRAFTJIT_RECORD: loaded here means launched by this process
  return *result;
}

void Context::abandon() {
  std::unique_lock lock(mutex_);
  for (ModuleHandle& module : modules_) module.release();
  workspace_.abandon();
}

Context& current_context() { return Registry::instance().current(); }

std::size_t module_load_count() { return module_loads.load(std::memory_order_relaxed); }
void reset_module_load_count() { module_loads.store(0, std::memory_order_relaxed); }

}  // namespace draftjit
