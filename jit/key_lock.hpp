#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>

namespace draftjit::jit {

// A cross-process advisory lock for compiling one key: an exclusive flock on one of kLockStripes files under
// `<cache dir>/.locks/`, so processes that miss the same key together (tensor-parallel ranks) compile it once while
// the others wait and then find it on disk. Striping bounds the lock files to a fixed set; two keys sharing a
// stripe only wait for each other. The kernel drops a flock when its holder dies, so a killed compiler never blocks
// anyone; waiting is bounded, and when no lock can be had (read-only directory, ENOLCK) the caller compiles anyway.
class KeyLock {
 public:
  static constexpr int kLockStripes = 64;

  // Waits up to max_wait for the stripe of key_hash. held() tells whether it was taken; waited() whether another
  // holder made us wait (then the entry has most likely appeared on disk).
  KeyLock(const std::filesystem::path& cache_dir, std::uint64_t key_hash, std::chrono::milliseconds max_wait);
  ~KeyLock();
  KeyLock(const KeyLock&) = delete;
  KeyLock& operator=(const KeyLock&) = delete;

  bool held() const { return held_; }
  bool waited() const { return waited_; }

 private:
  int fd_ = -1;
  bool held_ = false;
  bool waited_ = false;
};

}  // namespace draftjit::jit
