#include "workspace_pool.hpp"

#include "driver_api.hpp"

namespace draftjit {
namespace {

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t bytes) : bytes_(bytes) {
    check_cu(driver().cuMemAlloc(&ptr_, bytes), "cuMemAlloc", "draftjit workspace");
  }
  DeviceBuffer(DeviceBuffer&& other) noexcept { swap(other); }
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    swap(other);
    return *this;
  }
  ~DeviceBuffer() {
    if (ptr_ != 0) driver().cuMemFree(ptr_);
  }
  CUdeviceptr get() const { return ptr_; }
  std::size_t bytes() const { return bytes_; }

 private:
  void swap(DeviceBuffer& other) noexcept {
    std::swap(ptr_, other.ptr_);
    std::swap(bytes_, other.bytes_);
  }
  CUdeviceptr ptr_ = 0;
  std::size_t bytes_ = 0;
};

class MappedWords {
 public:
  MappedWords() {
    const DriverApi& cu = driver();
    void* ptr = nullptr;
    check_cu(cu.cuMemHostAlloc(&ptr, 2 * sizeof(std::int32_t), CU_MEMHOSTALLOC_DEVICEMAP), "cuMemHostAlloc",
             "draftjit workspace");
    words_ = static_cast<std::int32_t*>(ptr);
    const CUresult mapped = cu.cuMemHostGetDevicePointer(&device_, ptr, 0);
    if (mapped != CUDA_SUCCESS) {
      cu.cuMemFreeHost(ptr);
      check_cu(mapped, "cuMemHostGetDevicePointer", "draftjit workspace");
    }
  }
  MappedWords(const MappedWords&) = delete;
  MappedWords& operator=(const MappedWords&) = delete;
  ~MappedWords() { driver().cuMemFreeHost(words_); }
  std::int32_t* host() const { return words_; }
  CUdeviceptr device() const { return device_; }

 private:
  std::int32_t* words_ = nullptr;
  CUdeviceptr device_ = 0;
};

constexpr std::size_t kWordBytes = 2 * sizeof(std::int32_t);

}  // namespace

struct WorkspacePool::Slot {
  DeviceBuffer device{kWordBytes};  // words, then offsets
  MappedWords host;
};

WorkspacePool::WorkspacePool() = default;
WorkspacePool::~WorkspacePool() = default;

WorkspacePool::Lease::Lease(WorkspacePool& pool, std::unique_ptr<Slot> slot) : pool_(pool), slot_(std::move(slot)) {}
WorkspacePool::Lease::Lease(Lease&&) noexcept = default;

WorkspacePool::Lease::~Lease() {
  if (slot_ == nullptr) return;
  std::lock_guard lock(pool_.mutex_);
  pool_.free_.push_back(std::move(slot_));
}

CUdeviceptr WorkspacePool::Lease::device_words() const { return slot_->device.get(); }
CUdeviceptr WorkspacePool::Lease::device_offsets() const { return slot_->device.get() + kWordBytes; }
CUdeviceptr WorkspacePool::Lease::mapped_words() const { return slot_->host.device(); }
std::int32_t* WorkspacePool::Lease::host_words() const { return slot_->host.host(); }

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
  const std::size_t needed = kWordBytes + offsets * sizeof(std::int32_t);
  if (slot->device.bytes() < needed) slot->device = DeviceBuffer(needed);
  return Lease(*this, std::move(slot));
}

}  // namespace draftjit
