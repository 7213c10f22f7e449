#pragma once
#include <utility>

#include "driver_api.hpp"

namespace draftjit {

// Sole owner of one driver object, freed by `Free` on destruction. release() forgets the object without freeing it:
// objects of a destroyed context are already gone with it, and their handle values may since name another
// context's objects, so freeing them would be wrong.
template <typename Handle, typename Free>
class OwnedHandle {
 public:
  OwnedHandle() = default;
  explicit OwnedHandle(Handle handle) : handle_(handle) {}
  OwnedHandle(OwnedHandle&& other) noexcept : handle_(std::exchange(other.handle_, Handle{})) {}
  OwnedHandle& operator=(OwnedHandle&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, Handle{});
    }
    return *this;
  }
  ~OwnedHandle() { reset(); }

  Handle get() const { return handle_; }
  void release() { handle_ = Handle{}; }

 private:
  void reset() {
    if (handle_ != Handle{}) Free{}(handle_);
    handle_ = Handle{};
  }
  Handle handle_{};
};

struct UnloadModule {
  void operator()(CUmodule module) const { driver().cuModuleUnload(module); }
};
struct FreeDeviceMemory {
  void operator()(CUdeviceptr ptr) const { driver().cuMemFree(ptr); }
};
struct FreePinnedMemory {
  void operator()(void* ptr) const { driver().cuMemFreeHost(ptr); }
};

struct DestroyEvent {
  void operator()(CUevent event) const { driver().cuEventDestroy(event); }
};

using EventHandle = OwnedHandle<CUevent, DestroyEvent>;
using ModuleHandle = OwnedHandle<CUmodule, UnloadModule>;
using DeviceMemory = OwnedHandle<CUdeviceptr, FreeDeviceMemory>;
using PinnedMemory = OwnedHandle<void*, FreePinnedMemory>;

}  // namespace draftjit
