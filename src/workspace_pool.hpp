#pragma once
#include <cuda.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace draftjit {

// Scratch for the blocking call: a device word pair (total, status), the pinned host pair it is copied into, and
// device room for the offsets of the two-kernel path. Slots are reused, so a warm call allocates nothing; each
// concurrent caller holds its own slot, so calls on different streams never share scratch.
class WorkspacePool {
 public:
  struct Slot;

  class Lease {
   public:
    Lease(WorkspacePool& pool, std::unique_ptr<Slot> slot);
    Lease(Lease&&) noexcept;
    ~Lease();
    CUdeviceptr device_words() const;          // [0] total, [1] status
    CUdeviceptr device_offsets() const;        // room for the requested offsets
    const std::int32_t* host_words() const;    // pinned copy target of device_words()

   private:
    WorkspacePool& pool_;
    std::unique_ptr<Slot> slot_;
  };

  WorkspacePool();
  ~WorkspacePool();

  // A slot whose offsets area holds at least `offsets` int32 entries (allocating or growing only when needed).
  // The pool's context must be current.
  Lease acquire(std::size_t offsets);

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<Slot>> free_;
};

}  // namespace draftjit
