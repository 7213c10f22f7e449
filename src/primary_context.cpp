#include "primary_context.hpp"

#include <fmt/format.h>

#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "driver_api.hpp"

namespace draftjit {
namespace {

// Never destroyed, like the contexts they hold: calls may still run in threads that outlive main.
struct Retained {
  std::mutex mutex;
  std::unordered_map<int, CUcontext> contexts;
};

CUcontext retained_primary_context(int device) {
  static Retained& state = *new Retained();
  auto& [mutex, retained] = state;
  std::lock_guard lock(mutex);
  if (auto it = retained.find(device); it != retained.end()) return it->second;
  const DriverApi& cu = driver();
  CUdevice handle = 0;
  check_cu(cu.cuDeviceGet(&handle, device), "cuDeviceGet", fmt::format("device {}", device));
  CUcontext context = nullptr;
  check_cu(cu.cuDevicePrimaryCtxRetain(&context, handle), "cuDevicePrimaryCtxRetain",
           fmt::format("device {}", device));
  return retained.emplace(device, context).first->second;
}

}  // namespace

PrimaryContextScope::PrimaryContextScope(int device) {
  const DriverApi& cu = driver();
  const CUcontext primary = retained_primary_context(device);
  CUcontext current = nullptr;
  check_cu(cu.cuCtxGetCurrent(&current), "cuCtxGetCurrent", "primary context scope");
  if (current == primary) return;
  check_cu(cu.cuCtxPushCurrent(primary), "cuCtxPushCurrent", fmt::format("device {}", device));
  pushed_ = true;
}

PrimaryContextScope::~PrimaryContextScope() {
  if (!pushed_) return;
  CUcontext popped = nullptr;
  driver().cuCtxPopCurrent(&popped);
}

int device_of_pointer(const void* ptr, const char* what) {
  int ordinal = -1;
  const CUresult result = driver().cuPointerGetAttribute(&ordinal, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL,
                                                         reinterpret_cast<CUdeviceptr>(ptr));
  if (result != CUDA_SUCCESS) {
    throw std::invalid_argument(fmt::format("{}: {} is not a CUDA device pointer", what, ptr));
  }
  return ordinal;
}

}  // namespace draftjit
