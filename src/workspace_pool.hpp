#pragma once
#include <cuda.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace draftjit {

// Scratch for the blocking call, per context. The fused kernel writes (total, status) straight into mapped pinned
// host memory, so reading the total needs no copy-engine transfer behind the kernel (measured 5-8 us cheaper,
// docs/PERF.md). The two-kernel path keeps its words and offsets in device memory, where the fill kernel reads
// them, and copies the words into the same pinned pair. Slots are reused, so a warm call allocates nothing; each
// concurrent caller holds its own slot, so calls on different streams never share scratch.
class WorkspacePool {
 public:
  struct Slot;

  class Lease {
   public:
    Lease(WorkspacePool& pool, std::unique_ptr<Slot> slot);
    Lease(Lease&&) noexcept;
    ~Lease();
    CUdeviceptr device_words() const;    // [0] total, [1] status, in device memory
    CUdeviceptr device_offsets() const;  // room for the requested offsets
    CUdeviceptr mapped_words() const;    // the device's address of host_words()
    std::int32_t* host_words() const;    // [0] total, [1] status, pinned and mapped

    // The GPU is done with the slot (the stream was synchronised after the last work that uses it): only then does
    // it go back to the pool. A lease that ends without this (an error after a kernel or copy was queued) keeps the
    // slot out of the pool for good, since the GPU may still write it while a call on another stream reuses it.
    void complete() { completed_ = true; }

   private:
    WorkspacePool& pool_;
    std::unique_ptr<Slot> slot_;
    bool completed_ = false;
  };

  WorkspacePool();
  ~WorkspacePool();

  // A slot whose offsets area holds at least `offsets` int32 entries (allocating or growing only when needed).
  // The pool's context must be current.
  Lease acquire(std::size_t offsets);

  // Forgets every free slot's memory without freeing it: for a context that the driver has already destroyed.
  void abandon();

  std::size_t free_slots();  // for tests

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<Slot>> free_;
};

}  // namespace draftjit
