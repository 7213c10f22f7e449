#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "jit/warning.hpp"

namespace draftjit::jit {

// A cross-process advisory lock for compiling one key: an exclusive flock on one of kLockStripes files under
// `<cache dir>/.locks/`, so processes that miss the same key together (tensor-parallel ranks) compile it once while
// the others wait and then find it on disk. Striping bounds the lock files to a fixed set; two keys sharing a
// stripe only wait for each other. The kernel drops a flock when its holder dies, so a killed compiler never blocks
// anyone; waiting is bounded, and when no lock can be had (read-only directory, a `.locks` or a stripe file that is a
// symlink, which is never followed, or a directory: said, never silent) the caller compiles anyway. A stripe whose
// wait ran out is remembered by the process: later keys of that stripe try it once and go on without waiting (a
// stopped holder costs one wait per stripe, not one per kernel), until it is taken again.
//
// A flock belongs to the open file description, which a child forked (without exec) while the lock is held shares:
// the release is therefore an explicit LOCK_UN by the process that took it, not a close that the child's copy would
// outlive, and a child's copy of a KeyLock only closes its descriptor. Lock files are O_CLOEXEC: exec'd children get
// none.
//
// Where flock does not work (NFS without a lock manager: ENOLCK, EOPNOTSUPP, ENOSYS), or with DRAFTJIT_LOCK=file
// (NFS whose flock is only local to each client), the lock is an owner file `NN.lock.owner` beside the stripe file:
// jit/cache/lock_file has the protocol (taking, judging staleness, breaking, releasing); this class chooses it, waits on
// it, says what it found and releases it from the taker only, as with flock.
enum class LockMode : std::uint8_t {
  Flock,  // DRAFTJIT_LOCK unset or "flock": flock, and the owner file where flock fails
  File,   // DRAFTJIT_LOCK=file: the owner file only
};

// DRAFTJIT_LOCK's mode: unset, "flock" or "file" (jit/environment's rule); anything else throws
// std::invalid_argument naming it: a lock mode meant for NFS is not replaced by one that does not work there.
LockMode lock_mode_from(const char* value);
// lock_mode_from(DRAFTJIT_LOCK), read at the first call of the process that succeeds (a refusal is thrown each time).
LockMode lock_mode();

// For tests: flock fails with this errno (0: flock is called), as it does on NFS without a lock manager (ENOLCK).
void set_flock_error_for_test(int error);

class KeyLock {
 public:
  static constexpr int kLockStripes = 64;
  // A wait this long is said once: compiles take 10-200 ms, so the holder is slow, stopped or stuck.
  static constexpr std::chrono::seconds kWaitNotice{1};

  // Waits up to max_wait for the stripe of key_hash. held() tells whether it was taken; waited() whether another
  // holder made us wait (then the entry has most likely appeared on disk). key_name names the key in the warning of
  // a long wait; warn gets that, the warning that the locks are off and the note that a stale owner file was broken.
  KeyLock(const std::filesystem::path& cache_dir, std::uint64_t key_hash, std::chrono::milliseconds max_wait,
          std::string_view key_name = {}, const WarningSink& warn = warn_to_log, LockMode mode = lock_mode());
  ~KeyLock();
  KeyLock(const KeyLock&) = delete;
  KeyLock& operator=(const KeyLock&) = delete;

  bool held() const { return held_; }
  bool waited() const { return waited_; }

 private:
  int fd_ = -1;          // the stripe file (flock), or -1
  int dir_fd_ = -1;      // `.locks`, while an owner file is held
  std::string owned_;    // the owner file's name in `.locks`, while held
  std::string content_;  // and the line written in it
  pid_t owner_ = 0;  // the process that took the lock: only it releases it
  bool held_ = false;
  bool waited_ = false;
};

}  // namespace draftjit::jit
