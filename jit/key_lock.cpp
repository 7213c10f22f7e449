#include "jit/key_lock.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "jit/cache_file.hpp"

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

}  // namespace

KeyLock::KeyLock(const fs::path& cache_dir, std::uint64_t key_hash, std::chrono::milliseconds max_wait,
                 std::string_view key_name, const WarningSink& warn)
    : owner_(::getpid()) {
  const fs::path dir = cache_dir / kLocksDir;
  const int dir_fd = open_locks_dir(dir);
  if (dir_fd < 0) {
    if (const char* what = in_the_way(dir)) {
      warn(fmt::format("compile locks are off in {}: {} is {}; processes missing the same kernel may each compile it",
                       cache_dir.string(), dir.string(), what));
    }
    return;
  }
  const std::string name = fmt::format("{:02}.lock", key_hash % kLockStripes);
  // O_NOFOLLOW: a symlinked lock file is not followed either; O_NONBLOCK: a FIFO there cannot hang the open.
  fd_ = ::openat(dir_fd, name.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
  ::close(dir_fd);
  if (fd_ < 0) return;
  // Polling rather than a blocking flock keeps the wait bounded without signals or timers.
  const auto start = std::chrono::steady_clock::now();
  auto pause = std::chrono::milliseconds(1);
  bool noticed = false;
  while (true) {
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) {
      held_ = true;
      return;
    }
    if (errno != EWOULDBLOCK && errno != EINTR) return;
    const auto waited_for = std::chrono::steady_clock::now() - start;
    if (waited_for >= max_wait) return;
    if (!noticed && waited_for >= kWaitNotice) {
      noticed = true;
      const std::string key = key_name.empty() ? fmt::format("key hash {:016x}", key_hash) : std::string(key_name);
      warn(fmt::format("waiting up to {:g} s for the compile lock {} before compiling {}: another process holds it, "
                       "compiling that kernel or another of its lock stripe",
                       std::chrono::duration<double>(max_wait).count(), (dir / name).string(), key));
    }
    waited_ = true;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
}

KeyLock::~KeyLock() {
  if (fd_ < 0) return;
  // Explicit, by the taker only: see the class comment. A child's LOCK_UN would drop the parent's lock.
  if (held_ && ::getpid() == owner_) ::flock(fd_, LOCK_UN);
  ::close(fd_);
}

}  // namespace draftjit::jit
