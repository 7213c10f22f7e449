#include "jit/cache/key_lock.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <thread>
#include <utility>

#include "jit/cache/cache_file.hpp"
#include "jit/environment.hpp"
#include "jit/errno_text.hpp"
#include "jit/cache/lock_file.hpp"
#include "jit/hash.hpp"

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

LockMode lock_mode_from(const char* value) {
  return parse_env_word("DRAFTJIT_LOCK", value).value_or("flock") == "file" ? LockMode::File : LockMode::Flock;
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

// The stripes whose wait ran out in this process, each holding a tag of its cache directory (0: none): a holder that
// is stopped (SIGSTOP) or stuck would otherwise cost the full wait for every kernel of its stripe, one after another.
// Lock-free, so a fork or an exit finds no lock held; two directories sharing a tag cost one skipped wait.
std::array<std::atomic<std::uint64_t>, KeyLock::kLockStripes> gave_up_on{};

std::uint64_t directory_tag(const fs::path& cache_dir) { return hash_bytes(cache_dir.string()) | 1; }

// What is in the stripe file's place that it cannot be opened as one, from openat's errno and, when it opened,
// fstat; nullptr for a regular file or an errno that says nothing of what is there.
const char* stripe_in_the_way(int error, int fd) {
  if (error == ELOOP) return "a symbolic link, which is never followed";
  if (error == EISDIR) return "a directory";
  struct stat info {};
  if (fd >= 0 && ::fstat(fd, &info) == 0 && !S_ISREG(info.st_mode)) return "not a regular file";
  return nullptr;
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
  const std::size_t stripe = key_hash % kLockStripes;
  const std::string name = fmt::format("{:02}.lock", stripe);
  const std::string owner_name = name + ".owner";
  bool use_file = mode == LockMode::File;
  if (!use_file) {
    // O_NOFOLLOW: a symlinked lock file is not followed either; O_NONBLOCK: a FIFO there cannot hang the open.
    fd_ = ::openat(dir_fd, name.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
    const char* what = stripe_in_the_way(fd_ < 0 ? errno : 0, fd_);
    if (what != nullptr) {
      warn(fmt::format("compile lock {} is {} and is left alone; processes missing the same kernel may each compile "
                       "it",
                       (dir / name).string(), what));
    }
    if (fd_ < 0 || what != nullptr) {
      if (fd_ >= 0) ::close(std::exchange(fd_, -1));
      ::close(dir_fd);
      return;
    }
  }
  const std::uint64_t tag = directory_tag(cache_dir);
  const bool given_up = gave_up_on[stripe].load(std::memory_order_relaxed) == tag;
  bool timed_out = false;
  const std::string content = new_owner_line();
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
      OwnerFileAttempt attempt = try_owner_file(dir_fd, owner_name, content);
      const OwnerFileOutcome outcome = attempt.outcome;
      if (outcome == OwnerFileOutcome::Taken) {
        held_ = true;
        dir_fd_ = std::exchange(dir_fd, -1);
        owned_ = owner_name;
        content_ = content;
        break;
      }
      if (outcome == OwnerFileOutcome::InTheWay) {
        warn(fmt::format("compile lock {} is not a regular file and is left alone; processes missing the same "
                         "kernel may each compile it",
                         (dir / owner_name).string()));
        break;
      }
      if (outcome == OwnerFileOutcome::NoLock) break;
      if (outcome == OwnerFileOutcome::Busy) wait.holder = std::move(attempt.holder);
      if (outcome == OwnerFileOutcome::Broken) {
        warn(fmt::format("removed the stale compile lock {} of {}", (dir / owner_name).string(), attempt.stale));
      }
      if (outcome != OwnerFileOutcome::Busy && ++breaks <= 8) continue;
    }
    if (given_up) break;  // still held: one try, no wait (see gave_up_on)
    const auto waited_for = std::chrono::steady_clock::now() - wait.start;
    if (waited_for >= max_wait) {
      timed_out = true;
      break;
    }
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
  if (held_ && given_up) {
    std::uint64_t expected = tag;  // taken again: its next wait is a full one
    gave_up_on[stripe].compare_exchange_strong(expected, 0, std::memory_order_relaxed);
  }
  if (timed_out) {
    gave_up_on[stripe].store(tag, std::memory_order_relaxed);
    const std::string key = key_name.empty() ? fmt::format("key hash {:016x}", key_hash) : std::string(key_name);
    const std::string holder = use_file && !wait.holder.empty() ? wait.holder : "another process";
    warn(fmt::format("gave up after {:g} s waiting for the compile lock {} before compiling {} ({} holds it): "
                     "compiling without it, and this process does not wait for it again (its next kernels of that "
                     "stripe try it once)",
                     std::chrono::duration<double>(max_wait).count(), (dir / (use_file ? owner_name : name)).string(),
                     key, holder));
  }
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
      if (ours) (void)release_owner_file(dir_fd_, owned_, content_);  // leaves it when it is no longer ours
    } catch (...) {  // no memory for the aside name: the file stays, and ages into a stale one
    }
    ::close(dir_fd_);
  }
}

}  // namespace draftjit::jit
