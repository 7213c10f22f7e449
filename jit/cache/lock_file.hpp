#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace draftjit::jit {

// The compile lock as an owner file, for where flock does not work (jit/cache/key_lock decides when, waits, warns and
// keeps it fork-safe): `NN.lock.owner` in the locks directory, created with O_CREAT | O_EXCL and holding one owner
// line (host, pid namespace, pid, start time, sequence number). A taker that finds one judges it: stale when its owner
// is on this host (same host name and pid namespace) and gone (kill(pid, 0) == ESRCH), or when it is older than
// kStaleOwnerAge on any host. One the taker cannot read (another user's, mode 0600) is judged by its age alone, from
// fstatat. Breaking a stale one and releasing our own both first rename the file to a name of their own and then
// read what they moved, so they act on exactly the content they judged, or for an unreadable one the identity
// (device, inode, size, mtime) (lock_file.cpp has the race argument). The worst a lost race does is let two processes compile one key, which the cache's atomic store
// makes harmless.

// An owner file this old is stale whatever its host: 600 times the slowest compile, so only a dead or stuck holder's
// (another host's, whose pid cannot be checked) is this old. Breaking a live one costs a duplicate compile; keeping a
// dead one costs every process a full wait on that stripe until then.
inline constexpr std::chrono::minutes kStaleOwnerAge{2};

// A fresh owner line of this process: unique to each call (pid, time and a sequence number), so that a release can
// tell its own file from one a later taker wrote.
std::string new_owner_line();

enum class OwnerFileOutcome : std::uint8_t {
  Taken,     // created, holding our line: the lock is held
  Busy,      // a live owner holds it (or a fresh one whose file cannot be read): holder names it
  Gone,      // it went away (released, or broken by another taker) while being judged: try again at once
  Broken,    // it was stale and is removed (stale says why): try again at once
  InTheWay,  // not a regular file (a symlink, never followed): left alone, so no lock can be had
  NoLock,    // cannot be created (read-only or full directory, a failed write), or a stale one cannot be removed
};

struct OwnerFileAttempt {
  OwnerFileOutcome outcome = OwnerFileOutcome::NoLock;
  std::string holder;  // Busy: "pid 12 on host h", or what is known of it
  std::string stale;   // Broken: why ("pid 12 on this host, which is no longer running")
};

// One try at the owner file `name` in the directory dir_fd: create it holding line, or judge the one there and break
// it when stale. Never follows a symlink, never blocks on a FIFO.
OwnerFileAttempt try_owner_file(int dir_fd, const std::string& name, const std::string& line);

// Removes the owner file `name` only while it still holds line (ours): one a taker wrote after breaking ours is put
// back. True when the name holds none of ours any more (removed by us, or gone before).
bool release_owner_file(int dir_fd, const std::string& name, const std::string& line);

}  // namespace draftjit::jit
