#include "jit/key_lock.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

namespace draftjit::jit {

KeyLock::KeyLock(const std::filesystem::path& cache_dir, std::uint64_t key_hash, std::chrono::milliseconds max_wait) {
  const std::filesystem::path dir = cache_dir / ".locks";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string path = (dir / fmt::format("{:02}.lock", key_hash % kLockStripes)).string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) return;
  // Polling rather than a blocking flock keeps the wait bounded without signals or timers.
  const auto deadline = std::chrono::steady_clock::now() + max_wait;
  auto pause = std::chrono::milliseconds(1);
  while (true) {
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) {
      held_ = true;
      return;
    }
    if ((errno != EWOULDBLOCK && errno != EINTR) || std::chrono::steady_clock::now() >= deadline) return;
    waited_ = true;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
}

KeyLock::~KeyLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

}  // namespace draftjit::jit
