#include "workspace_pool.hpp"

#include "owned_handle.hpp"

namespace draftjit {
namespace {

constexpr std::size_t kWordBytes = 2 * sizeof(std::int32_t);
constexpr const char* kWhat = "draftjit workspace";

DeviceMemory allocate_device(std::size_t bytes) {
  CUdeviceptr ptr = 0;
  check_cu(driver().cuMemAlloc(&ptr, bytes), "cuMemAlloc", kWhat);
  return DeviceMemory(ptr);
}

}  // namespace

struct WorkspacePool::Slot {
  Slot() {
    const DriverApi& cu = driver();
    void* words = nullptr;
    check_cu(cu.cuMemHostAlloc(&words, kWordBytes, CU_MEMHOSTALLOC_DEVICEMAP), "cuMemHostAlloc", kWhat);
    host = PinnedMemory(words);
    check_cu(cu.cuMemHostGetDevicePointer(&mapped, words, 0), "cuMemHostGetDevicePointer", kWhat);
  }
  void reserve(std::size_t bytes) {
    if (device_bytes >= bytes) return;
    device = allocate_device(bytes);
    device_bytes = bytes;
  }
  void abandon() {
    device.release();
    host.release();
  }

  DeviceMemory device = allocate_device(kWordBytes);  // words, then offsets
  std::size_t device_bytes = kWordBytes;
  PinnedMemory host;  // two words, mapped into the device's address space at `mapped`
  CUdeviceptr mapped = 0;
};

WorkspacePool::WorkspacePool() = default;
WorkspacePool::~WorkspacePool() = default;

WorkspacePool::Lease::Lease(WorkspacePool& pool, std::unique_ptr<Slot> slot) : pool_(pool), slot_(std::move(slot)) {}
WorkspacePool::Lease::Lease(Lease&& other) noexcept
    : pool_(other.pool_), slot_(std::move(other.slot_)), completed_(other.completed_) {}

WorkspacePool::Lease::~Lease() {
  if (slot_ == nullptr) return;
  if (!completed_) {
    (void)slot_.release();  // leaked on purpose: 8 pinned bytes and a small device buffer, only on error paths
    return;
  }
  std::lock_guard lock(pool_.mutex_);
  pool_.free_.push_back(std::move(slot_));
}

CUdeviceptr WorkspacePool::Lease::device_words() const { return slot_->device.get(); }
CUdeviceptr WorkspacePool::Lease::device_offsets() const { return slot_->device.get() + kWordBytes; }
CUdeviceptr WorkspacePool::Lease::mapped_words() const { return slot_->mapped; }
std::int32_t* WorkspacePool::Lease::host_words() const { return static_cast<std::int32_t*>(slot_->host.get()); }

WorkspacePool::Lease WorkspacePool::acquire(std::size_t offsets) {
  std::unique_ptr<Slot> slot;
  {
    std::lock_guard lock(mutex_);
    if (!free_.empty()) {
      slot = std::move(free_.back());
      free_.pop_back();
    }
  }
  if (slot == nullptr) slot = std::make_unique<Slot>();
  slot->reserve(kWordBytes + offsets * sizeof(std::int32_t));
  return Lease(*this, std::move(slot));
}

std::size_t WorkspacePool::free_slots() {
  std::lock_guard lock(mutex_);
  return free_.size();
}

void WorkspacePool::abandon() {
  std::lock_guard lock(mutex_);
  for (auto& slot : free_) slot->abandon();
}

}  // namespace draftjit
