#include "jit/key_lock.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <optional>
#include <thread>
#include <utility>

#include "jit/cache_file.hpp"
#include "jit/environment.hpp"
#include "jit/errno_text.hpp"

namespace draftjit::jit {
namespace fs = std::filesystem;
namespace {

// `<cache dir>/.locks`, made when missing and opened without following a symlink there (which would put the lock
// files wherever it points); -1 when it cannot be.
int open_locks_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir.parent_path(), ec);  // the cache directory itself may be a symlink: the user chose it
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return -1;
  return ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

// What is at dir when it is there but not a directory (a symlink is judged as one), else nullptr: a cache directory
// that is missing or read-only is no news here, the store says so.
const char* in_the_way(const fs::path& dir) {
  struct stat info {};
  if (::lstat(dir.c_str(), &info) != 0 || S_ISDIR(info.st_mode)) return nullptr;
  return S_ISLNK(info.st_mode) ? "a symbolic link, which is never followed" : "not a directory";
}

// ---- owner files -----------------------------------------------------------------------------------------------
//
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

std::string owner_line() {
  static std::atomic<std::uint64_t> sequence{0};  // with pid and time, makes every line this process writes unique
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const std::size_t space = host_identity().find(' ');
  return fmt::format("draftjit-lock v1 host={} pidns={} pid={} start={} seq={}\n", host_identity().substr(0, space),
                     host_identity().substr(space + 1), ::getpid(),
                     std::chrono::duration_cast<std::chrono::nanoseconds>(now).count(), sequence++);
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
};

enum class Read { Ok, Gone, InTheWay, Unreadable };

// Reads the owner file `name`; never follows a symlink, never blocks on a FIFO, reads at most kMaxOwnerBytes.
Read read_owner_file(int dir_fd, const std::string& name, OwnerFile& out) {
  const int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
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
    const auto modified = std::chrono::system_clock::time_point(
        std::chrono::seconds(info.st_mtim.tv_sec) + std::chrono::nanoseconds(info.st_mtim.tv_nsec));
    out.age = std::chrono::system_clock::now() - std::chrono::time_point_cast<std::chrono::system_clock::duration>(
                                                     modified);
  }
  ::close(fd);
  return result;
}

// Why the owner file is stale, or nullopt while its owner may be alive. A file whose mtime is far in the future
// (a host with a wrong clock) counts as old: otherwise it would never become stale.
std::optional<std::string> stale_reason(const OwnerFile& file) {
  const auto bound = std::chrono::duration_cast<std::chrono::system_clock::duration>(KeyLock::kStaleOwnerAge);
  const std::string host = field(file.content, "host");
  const std::string pid_text = field(file.content, "pid");
  if (file.age > bound || file.age < -bound) {
    return fmt::format("host {}, pid {}, {:.0f} s old (over the {} s bound)", host.empty() ? "?" : host,
                       pid_text.empty() ? "?" : pid_text, std::chrono::duration<double>(file.age).count(),
                       std::chrono::seconds(KeyLock::kStaleOwnerAge).count());
  }
  if (host + " " + field(file.content, "pidns") != host_identity() || pid_text.empty()) return std::nullopt;
  const long pid = std::strtol(pid_text.c_str(), nullptr, 10);
  if (pid <= 0 || pid > INT_MAX) return std::nullopt;
  // ESRCH: no such process. EPERM means one exists (another user's): maybe a reused pid, left to the age bound.
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
    return fmt::format("pid {} on this host, which is no longer running", pid);
  }
  return std::nullopt;
}

std::string who(const OwnerFile& file) {
  const std::string pid = field(file.content, "pid");
  if (pid.empty()) return "a process still writing its owner file";
  return fmt::format("pid {} on host {}", pid, field(file.content, "host"));
}

// See the protocol above: moves `name` aside, removes it when it holds `expected`, else puts it back. True when the
// file is gone from the name (removed by us, or by someone else before us).
bool take_back(int dir_fd, const std::string& name, const std::string& expected) {
  static std::atomic<std::uint64_t> sequence{0};
  const std::string aside = fmt::format("{}.{}.{}.aside", name, ::getpid(), sequence++);
  if (::renameat(dir_fd, name.c_str(), dir_fd, aside.c_str()) != 0) return errno == ENOENT;
  OwnerFile moved;
  if (read_owner_file(dir_fd, aside, moved) == Read::Ok && moved.content == expected) {
    ::unlinkat(dir_fd, aside.c_str(), 0);
    return true;
  }
  // Not what was judged: put it back, never over a file that took the name meanwhile (link fails with EEXIST then).
  if (::linkat(dir_fd, aside.c_str(), dir_fd, name.c_str(), 0) != 0 && errno != EEXIST) {
    (void)::renameat(dir_fd, aside.c_str(), dir_fd, name.c_str());  // no hard links here: rename it back
    return false;
  }
  ::unlinkat(dir_fd, aside.c_str(), 0);
  return false;
}

bool flock_unsupported(int error) { return error == ENOLCK || error == EOPNOTSUPP || error == ENOSYS; }

std::atomic<int> flock_error_for_test{0};

int try_flock(int fd) {
  if (const int error = flock_error_for_test.load(std::memory_order_relaxed)) {
    errno = error;
    return -1;
  }
  return ::flock(fd, LOCK_EX | LOCK_NB);
}

}  // namespace

LockMode lock_mode_from(const char* value, const WarningSink& warn) {
  if (value == nullptr || std::string_view(value) == "flock") return LockMode::Flock;
  if (std::string_view(value) == "file") return LockMode::File;
  warn(fmt::format("DRAFTJIT_LOCK={} is neither flock nor file; using flock (with lock files where it fails)", value));
  return LockMode::Flock;
}

void set_flock_error_for_test(int error) { flock_error_for_test.store(error, std::memory_order_relaxed); }

LockMode lock_mode() {
  static const LockMode mode = lock_mode_from(env_value("DRAFTJIT_LOCK"));
  return mode;
}

namespace {

// The state of one bounded wait.
struct Wait {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::chrono::milliseconds pause{1};
  bool noticed = false;
  std::string holder;  // who holds the owner file, when known: for the notice
};

// One try at the owner file. Busy: a live holder, named in holder. Broke: the file was stale and is gone now (or
// was released meanwhile): try again at once. NoLock: no lock can be had here, compile without one.
enum class Attempt { Held, Busy, Broke, NoLock };

Attempt attempt_owner_file(int dir_fd, const fs::path& dir, const std::string& name, const std::string& content,
                           std::string& holder, const WarningSink& warn) {
  const int fd = ::openat(dir_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
                          0644);
  if (fd >= 0) {
    ssize_t written = 0;
    do {
      written = ::write(fd, content.data(), content.size());
    } while (written < 0 && errno == EINTR);
    // close() reports what NFS could not write back.
    const bool ok = written == static_cast<ssize_t>(content.size()) && ::close(fd) == 0;
    if (ok) return Attempt::Held;
    if (written != static_cast<ssize_t>(content.size())) ::close(fd);
    ::unlinkat(dir_fd, name.c_str(), 0);  // ours, created a moment ago and too young for anyone to break
    return Attempt::NoLock;
  }
  if (errno != EEXIST) return Attempt::NoLock;  // read-only or full directory: compile without a lock, as with flock
  OwnerFile file;
  switch (read_owner_file(dir_fd, name, file)) {
    case Read::Gone: return Attempt::Broke;  // released or broken since: try again at once
    case Read::InTheWay:
      warn(fmt::format("compile lock {} is not a regular file and is left alone; processes missing the same kernel "
                       "may each compile it",
                       (dir / name).string()));
      return Attempt::NoLock;
    case Read::Unreadable: holder = "an owner whose file cannot be read"; return Attempt::Busy;
    case Read::Ok: break;
  }
  const std::optional<std::string> stale = stale_reason(file);
  if (!stale) {
    holder = who(file);
    return Attempt::Busy;
  }
  if (!take_back(dir_fd, name, file.content)) {
    holder = who(file);
    return Attempt::Busy;  // cannot be removed (permissions), or someone took it meanwhile
  }
  warn(fmt::format("removed the stale compile lock {} of {}", (dir / name).string(), *stale));
  return Attempt::Broke;
}

}  // namespace

KeyLock::KeyLock(const fs::path& cache_dir, std::uint64_t key_hash, std::chrono::milliseconds max_wait,
                 std::string_view key_name, const WarningSink& warn, LockMode mode)
    : owner_(::getpid()) {
  const fs::path dir = cache_dir / kLocksDir;
  int dir_fd = open_locks_dir(dir);
  if (dir_fd < 0) {
    if (const char* what = in_the_way(dir)) {
      warn(fmt::format("compile locks are off in {}: {} is {}; processes missing the same kernel may each compile it",
                       cache_dir.string(), dir.string(), what));
    }
    return;
  }
  const std::string name = fmt::format("{:02}.lock", key_hash % kLockStripes);
  const std::string owner_name = name + ".owner";
  bool use_file = mode == LockMode::File;
  if (!use_file) {
    // O_NOFOLLOW: a symlinked lock file is not followed either; O_NONBLOCK: a FIFO there cannot hang the open.
    fd_ = ::openat(dir_fd, name.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
    if (fd_ < 0) {
      ::close(dir_fd);
      return;
    }
  }
  const std::string content = owner_line();
  // Polling rather than a blocking flock keeps the wait bounded without signals or timers.
  Wait wait;
  int breaks = 0;  // a stale file that keeps coming back (a broken clock) is waited on like a live one
  while (true) {
    if (!use_file) {
      if (try_flock(fd_) == 0) {
        held_ = true;
        break;
      }
      const int error = errno;
      if (flock_unsupported(error)) {
        static std::atomic<bool> said{false};
        if (!said.exchange(true)) {
          log_event(LogLevel::Info, "cache",
                    fmt::format("flock is not supported in {} ({}): compile locks are owner files there", dir.string(),
                                errno_text(error)));
        }
        ::close(fd_);
        fd_ = -1;
        use_file = true;
        continue;
      }
      if (error != EWOULDBLOCK && error != EINTR) break;
    } else {
      const Attempt attempt = attempt_owner_file(dir_fd, dir, owner_name, content, wait.holder, warn);
      if (attempt == Attempt::Held) {
        held_ = true;
        dir_fd_ = std::exchange(dir_fd, -1);
        owned_ = owner_name;
        content_ = content;
        break;
      }
      if (attempt == Attempt::NoLock) break;
      if (attempt == Attempt::Broke && ++breaks <= 8) continue;
    }
    const auto waited_for = std::chrono::steady_clock::now() - wait.start;
    if (waited_for >= max_wait) break;
    if (!wait.noticed && waited_for >= kWaitNotice) {
      wait.noticed = true;
      const std::string key = key_name.empty() ? fmt::format("key hash {:016x}", key_hash) : std::string(key_name);
      const std::string lock = (dir / (use_file ? owner_name : name)).string();
      const std::string holder = use_file && !wait.holder.empty() ? wait.holder : "another process";
      warn(fmt::format("waiting up to {:g} s for the compile lock {} before compiling {}: {} holds it, "
                       "compiling that kernel or another of its lock stripe",
                       std::chrono::duration<double>(max_wait).count(), lock, key, holder));
    }
    waited_ = true;
    std::this_thread::sleep_for(wait.pause);
    wait.pause = std::min(wait.pause * 2, std::chrono::milliseconds(20));
  }
  if (dir_fd >= 0) ::close(dir_fd);
}

KeyLock::~KeyLock() {
  // Explicit, by the taker only: see the class comment. A child's LOCK_UN would drop the parent's lock, and a child
  // removing the owner file would let a third process in beside the parent.
  const bool ours = held_ && ::getpid() == owner_;
  if (fd_ >= 0) {
    if (ours) ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
  if (dir_fd_ >= 0) {
    try {
      if (ours) (void)take_back(dir_fd_, owned_, content_);  // leaves it when it is no longer ours
    } catch (...) {  // no memory for the aside name: the file stays, and ages into a stale one
    }
    ::close(dir_fd_);
  }
}

}  // namespace draftjit::jit
