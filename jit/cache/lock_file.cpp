#include "jit/cache/lock_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <utility>

#include "jit/cache/cache_file.hpp"
#include "jit/cache/file_time.hpp"
#include "jit/outside_text.hpp"

namespace draftjit::jit {
namespace {

// The protocol. Taking: create `NN.lock.owner` with O_CREAT | O_EXCL (atomic on local filesystems and NFSv3+) and
// write the owner line in one write(). Judging one that exists: read it (never following, never blocking); it is
// stale when it is older than kStaleOwnerAge (by its mtime) or its owner is on this host and gone. A file without a
// complete owner line is a taker between its create and its write, judged by age alone.
//
// Breaking (a stale one) and releasing (our own) both go through take_back(): rename the file to a name no one
// else uses, read what was moved, and unlink it only when it is the content that was judged (the stale owner's, or
// ours). Comparing and then unlinking by name would race: between the read and the unlink another waiter may break
// the same stale file and take the lock with a file of its own, which the unlink would then remove, letting a third
// process in beside it. rename moves one inode atomically, so what is read afterwards is exactly what was moved;
// when it is not what was judged (someone broke and retook it in between), it is linked back under the name, which
// link() refuses to do over a file that appeared meanwhile. In that last case one taker has lost its file and
// another holds the lock too: two processes compile one key, and the cache's atomic store makes that harmless. No
// interleaving removes a live owner's file for good except that one, and none removes a file that is not an owner
// file of this protocol under this name.

constexpr std::size_t kMaxOwnerBytes = 512;

std::string this_host() {
  std::array<char, HOST_NAME_MAX + 1> name{};
  if (::gethostname(name.data(), name.size() - 1) != 0 || name[0] == '\0') return "unknown-host";
  return name.data();
}

// The pid namespace, so that two containers sharing a host name never judge each other's pids.
std::string this_pid_namespace() {
  std::array<char, 64> link{};
  const ssize_t n = ::readlink("/proc/self/ns/pid", link.data(), link.size() - 1);
  return n > 0 ? std::string(link.data(), static_cast<std::size_t>(n)) : "unknown";
}

const std::string& host_identity() {
  static const auto* identity = new std::string(this_host() + " " + this_pid_namespace());  // leaked, like the rest
  return *identity;
}

std::string field(std::string_view line, std::string_view name) {
  const std::string key = " " + std::string(name) + "=";
  const std::size_t at = line.find(key);
  if (at == std::string_view::npos) return {};
  const std::size_t begin = at + key.size();
  return std::string(line.substr(begin, line.find_first_of(" \n", begin) - begin));
}

struct OwnerFile {
  std::string content;
  std::chrono::system_clock::duration age{};
  bool readable = true;  // else only its age and identity are known (another user's file, mode 0600)
  FileIdentity identity;
};

enum class Read { Ok, Gone, InTheWay, Unreadable };

// What fstatat says of an owner file that cannot be opened for reading: its age and identity need no read
// permission, so another user's file (0600) still ages into a stale one instead of holding every waiter forever.
Read stat_owner_file(int dir_fd, const std::string& name, OwnerFile& out) {
  struct stat info {};
  if (::fstatat(dir_fd, name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno == ENOENT ? Read::Gone : Read::Unreadable;
  }
  if (!S_ISREG(info.st_mode)) return Read::InTheWay;
  out.readable = false;
  out.identity = identity_of(info);
  out.age = std::chrono::system_clock::now() - file_time(info.st_mtim);
  return Read::Ok;
}

// Reads the owner file `name`; never follows a symlink, never blocks on a FIFO, reads at most kMaxOwnerBytes. One
// it cannot open is judged by stat_owner_file (Ok, not readable).
Read read_owner_file(int dir_fd, const std::string& name, OwnerFile& out) {
  const int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0 && (errno == EACCES || errno == EPERM)) return stat_owner_file(dir_fd, name, out);
  if (fd < 0) return errno == ENOENT ? Read::Gone : errno == ELOOP ? Read::InTheWay : Read::Unreadable;
  struct stat info {};
  Read result = Read::Ok;
  if (::fstat(fd, &info) != 0) {
    result = Read::Unreadable;
  } else if (!S_ISREG(info.st_mode)) {
    result = Read::InTheWay;
  } else {
    std::array<char, kMaxOwnerBytes> buffer{};
    ssize_t n = 0;
    do {
      n = ::pread(fd, buffer.data(), buffer.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) result = Read::Unreadable;
    if (n > 0) out.content.assign(buffer.data(), static_cast<std::size_t>(n));
    out.age = std::chrono::system_clock::now() - file_time(info.st_mtim);
    out.identity = identity_of(info);
  }
  ::close(fd);
  return result;
}

// Why the owner file is stale, or nullopt while its owner may be alive. A file whose mtime is far in the future
// (a host with a wrong clock) counts as old: otherwise it would never become stale.
std::optional<std::string> stale_reason(const OwnerFile& file) {
  const auto bound = std::chrono::duration_cast<std::chrono::system_clock::duration>(kStaleOwnerAge);
  const std::string host = field(file.content, "host");
  const std::string pid_text = field(file.content, "pid");
  if (file.age > bound || file.age < -bound) {
    return fmt::format("{}, {:.0f} s old (over the {} s bound)",
                       file.readable ? fmt::format("host {}, pid {}", host.empty() ? "?" : escaped(host, 64),
                                                   pid_text.empty() ? "?" : escaped(pid_text, 32))
                                     : std::string("an owner file this process cannot read"),
                       std::chrono::duration<double>(file.age).count(), std::chrono::seconds(kStaleOwnerAge).count());
  }
  // Only an owner of this host and pid namespace is judged by its pid; an unknown namespace (no /proc) is nobody's.
  const std::string pidns = field(file.content, "pidns");
  if (pidns == "unknown" || host + " " + pidns != host_identity() || pid_text.empty()) return std::nullopt;
  const long pid = std::strtol(pid_text.c_str(), nullptr, 10);
  if (pid <= 0 || pid > INT_MAX) return std::nullopt;
  // ESRCH: no such process. EPERM means one exists (another user's): maybe a reused pid, left to the age bound.
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
    return fmt::format("pid {} on this host, which is no longer running", pid);
  }
  return std::nullopt;
}

std::string who(const OwnerFile& file) {
  if (!file.readable) return "an owner whose file this process cannot read";
  const std::string pid = field(file.content, "pid");
  if (pid.empty()) return "a process still writing its owner file";
  return fmt::format("pid {} on host {}", escaped(pid, 32), escaped(field(file.content, "host"), 64));
}

enum class TakeBack {
  Gone,     // the file is gone from the name: removed by us, or by someone else before us
  Kept,     // it holds something else, and is back under its name
  Refused,  // it cannot be moved (a read-only or foreign-owned .locks): nobody can remove it
};

// See the protocol above: moves `name` aside, removes it when it is what was judged (`judged`'s content, or for a file
// that could not be read, its identity: device, inode, size and mtime, which a rename keeps), else puts it back.
TakeBack take_back(int dir_fd, const std::string& name, const OwnerFile& judged) {
  static std::atomic<std::uint64_t> sequence{0};
  const std::string aside = fmt::format("{}.{}.{}.aside", name, ::getpid(), sequence++);
  if (::renameat(dir_fd, name.c_str(), dir_fd, aside.c_str()) != 0) {
    return errno == ENOENT ? TakeBack::Gone : TakeBack::Refused;
  }
  OwnerFile moved;
  const bool same = read_owner_file(dir_fd, aside, moved) == Read::Ok && moved.readable == judged.readable &&
                    (judged.readable ? moved.content == judged.content : moved.identity == judged.identity);
  if (same) {
    ::unlinkat(dir_fd, aside.c_str(), 0);
    return TakeBack::Gone;
  }
  // Not what was judged: put it back, never over a file that took the name meanwhile (link fails with EEXIST then).
  if (::linkat(dir_fd, aside.c_str(), dir_fd, name.c_str(), 0) != 0 && errno != EEXIST) {
    (void)::renameat(dir_fd, aside.c_str(), dir_fd, name.c_str());  // no hard links here: rename it back
    return TakeBack::Kept;
  }
  ::unlinkat(dir_fd, aside.c_str(), 0);
  return TakeBack::Kept;
}

}  // namespace

std::string new_owner_line() {
  static std::atomic<std::uint64_t> sequence{0};  // with pid and time, makes every line this process writes unique
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const std::size_t space = host_identity().find(' ');
  return fmt::format("draftjit-lock v1 host={} pidns={} pid={} start={} seq={}\n", host_identity().substr(0, space),
                     host_identity().substr(space + 1), ::getpid(),
                     std::chrono::duration_cast<std::chrono::nanoseconds>(now).count(), sequence++);
}

OwnerFileAttempt try_owner_file(int dir_fd, const std::string& name, const std::string& line) {
  const int fd = ::openat(dir_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
                          0644);
  if (fd >= 0) {
    ssize_t written = 0;
    do {
      written = ::write(fd, line.data(), line.size());
    } while (written < 0 && errno == EINTR);
    // close() reports what NFS could not write back.
    const bool ok = written == static_cast<ssize_t>(line.size()) && ::close(fd) == 0;
    if (ok) return {OwnerFileOutcome::Taken, {}, {}};
    if (written != static_cast<ssize_t>(line.size())) ::close(fd);
    ::unlinkat(dir_fd, name.c_str(), 0);  // ours, created a moment ago and too young for anyone to break
    return {OwnerFileOutcome::NoLock, {}, {}};
  }
  // Read-only or full directory: no lock, as where flock cannot be had.
  if (errno != EEXIST) return {OwnerFileOutcome::NoLock, {}, {}};
  OwnerFile file;
  switch (read_owner_file(dir_fd, name, file)) {
    case Read::Gone: return {OwnerFileOutcome::Gone, {}, {}};  // released or broken since
    case Read::InTheWay: return {OwnerFileOutcome::InTheWay, {}, {}};
    case Read::Unreadable: return {OwnerFileOutcome::Busy, "an owner whose file cannot be looked at", {}};
    case Read::Ok: break;
  }
  std::optional<std::string> stale = stale_reason(file);
  if (!stale) return {OwnerFileOutcome::Busy, who(file), {}};
  switch (take_back(dir_fd, name, file)) {
    case TakeBack::Gone: return {OwnerFileOutcome::Broken, {}, std::move(*stale)};
    case TakeBack::Kept: return {OwnerFileOutcome::Busy, who(file), {}};  // someone took it meanwhile
    case TakeBack::Refused: break;  // a stale lock nobody can remove: waiting for it would never end
  }
  return {OwnerFileOutcome::NoLock, {}, {}};
}

bool release_owner_file(int dir_fd, const std::string& name, const std::string& line) {
  OwnerFile ours;
  ours.content = line;
  return take_back(dir_fd, name, ours) == TakeBack::Gone;
}

}  // namespace draftjit::jit
