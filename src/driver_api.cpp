#include "driver_api.hpp"

#include <dlfcn.h>
#include <pthread.h>
#include <fmt/format.h>

#include <atomic>
#include <string>

#include "draftjit/errors.hpp"

namespace draftjit {
namespace {

struct Loaded {
  DriverApi api{};
  std::string error;  // empty when api is usable
};

template <typename Fn>
void bind(void* lib, const char* symbol, Fn*& fn, std::string& error) {
  fn = reinterpret_cast<Fn*>(dlsym(lib, symbol));
  if (fn == nullptr && error.empty()) error = fmt::format("libcuda.so.1 lacks {}", symbol);
}

Loaded load() {
  Loaded loaded;
  // Never closed: modules and functions handed out stay valid until the process exits.
  void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* why = dlerror();  // NOLINT(concurrency-mt-unsafe): glibc keeps dlerror's state per thread
    loaded.error = fmt::format("no CUDA driver found (dlopen libcuda.so.1: {})", why != nullptr ? why : "unknown");
    return loaded;
  }
  DriverApi& api = loaded.api;
#define DRAFTJIT_DRIVER_BIND(name, symbol, signature) bind(lib, symbol, api.name, loaded.error);
  DRAFTJIT_DRIVER_ENTRY_POINTS(DRAFTJIT_DRIVER_BIND)
#undef DRAFTJIT_DRIVER_BIND
  if (loaded.error.empty()) {
    const CUresult init = api.cuInit(0);
    if (init != CUDA_SUCCESS) {
      loaded.error = fmt::format("no CUDA driver found (cuInit returned {})", static_cast<int>(init));
    }
  }
  return loaded;
}

// Set in a child forked after this process initialised the driver: CUDA does not support using a parent's driver
// state across fork() (its contexts, modules and memory belong to the parent), so every driver use there fails
// with a clear error instead of hanging or corrupting the parent's objects. Compiling (warmup, emit) still works.
std::atomic<bool> forked_after_init{false};

void mark_forked_child() { forked_after_init.store(true, std::memory_order_relaxed); }

// Never destroyed: calls from threads that outlive main (daemon threads at interpreter exit) may still read it.
const Loaded& loaded() {
  static const Loaded& instance = [] () -> const Loaded& {
    const Loaded& l = *new Loaded(load());
    pthread_atfork(nullptr, nullptr, mark_forked_child);
    return l;
  }();
  return instance;
}

constexpr const char* kForkedChild =
    "draftjit: this process was forked after CUDA was initialised in its parent, and CUDA cannot be used across "
    "fork(); start worker processes with the 'spawn' method (multiprocessing.set_start_method('spawn')) or fork "
    "before the first CUDA call. Compiling (warmup, emit) still works here";

}  // namespace

const DriverApi& driver() {
  const Loaded& l = loaded();
  if (!l.error.empty()) throw Error(l.error);
  if (forked_after_init.load(std::memory_order_relaxed)) throw Error(kForkedChild);
  return l.api;
}

bool cuda_device_available() noexcept {
  try {
    const Loaded& l = loaded();
    int count = 0;
    return l.error.empty() && !forked_after_init.load(std::memory_order_relaxed) &&
           l.api.cuDeviceGetCount(&count) == CUDA_SUCCESS && count > 0;
  } catch (...) {  // only an allocation failure while loading: no usable driver either
    return false;
  }
}

std::string device_arch(CUdevice device) {
  const DriverApi& cu = driver();
  int major = 0;
  int minor = 0;
  check_cu(cu.cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device),
           "cuDeviceGetAttribute", "compute capability");
  check_cu(cu.cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device),
           "cuDeviceGetAttribute", "compute capability");
  return fmt::format("sm_{}{}", major, minor);
}

void check_cu(CUresult result, std::string_view call, std::string_view context) {
  if (result == CUDA_SUCCESS) return;
  const char* name = nullptr;
  if (driver().cuGetErrorName(result, &name) != CUDA_SUCCESS || name == nullptr) name = "unknown CUresult";
  throw Error(fmt::format("{} failed ({}) for {}", call, name, context));
}

}  // namespace draftjit
