#include "jit/output_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>

#include "jit/cache/cache_file.hpp"
#include "jit/errno_text.hpp"

namespace draftjit::jit {
namespace fs = std::filesystem;
namespace {

const char* type_of(mode_t mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "an unknown kind of file";
}

bool written_through(mode_t mode) { return S_ISFIFO(mode) || S_ISCHR(mode) || S_ISSOCK(mode); }

// Opens what path names for writing as it is (no O_CREAT, no O_TRUNC: it exists and is not a regular file), then
// checks what was opened, not what a stat saw before: the path may have changed in between. A FIFO's open waits for
// its reader, as a shell's `>` does.
void write_through(const fs::path& path, const std::vector<char>& bytes, std::string_view what, bool follow) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY | (follow ? 0 : O_NOFOLLOW));
  if (fd < 0) {
    throw std::runtime_error(fmt::format("cannot open {} {}: {}", what, path.string(), errno_text(errno)));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    throw std::runtime_error(fmt::format("cannot stat {} {}: {}", what, path.string(), errno_text(errno)));
  }
  if (!written_through(info.st_mode)) {
    throw std::runtime_error(fmt::format("{} {} became {} while it was opened; nothing written", what, path.string(),
                                         type_of(info.st_mode)));
  }
  const char* data = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(fmt::format("cannot write {} {}: {}", what, path.string(), errno_text(errno)));
    data += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace

void write_output_file(const fs::path& path, const std::vector<char>& bytes, std::string_view what) {
  struct stat link {};
  if (::lstat(path.c_str(), &link) != 0) {
    if (errno != ENOENT) {
      throw std::runtime_error(fmt::format("cannot write {} {}: {}", what, path.string(), errno_text(errno)));
    }
    link.st_mode = 0;  // nothing there: created like a regular file is replaced
  }
  if (link.st_mode == 0 || S_ISREG(link.st_mode)) {
    if (const AtomicWrite written = write_atomically(path, bytes); !written.ok()) {
      throw std::runtime_error(fmt::format("cannot write {} {}: {}", what, path.string(), errno_text(written.error)));
    }
    return;
  }
  if (written_through(link.st_mode)) return write_through(path, bytes, what, /*follow=*/false);
  if (!S_ISLNK(link.st_mode)) {
    throw std::runtime_error(fmt::format("cannot write {} {}: it is {}, neither a regular file to replace nor a pipe "
                                         "or device to write through",
                                         what, path.string(), type_of(link.st_mode)));
  }
  struct stat target {};
  if (::stat(path.c_str(), &target) == 0 && written_through(target.st_mode)) {
    return write_through(path, bytes, what, /*follow=*/true);
  }
  std::error_code ec;
  const fs::path resolved = fs::canonical(path, ec);
  throw std::runtime_error(fmt::format(
      "cannot write {} {}: it is a symbolic link{}; only a pipe or device is written through a link, and a file is "
      "replaced only under its own name{}",
      what, path.string(), ec ? " (dangling)" : fmt::format(" to {}", type_of(target.st_mode)),
      ec || !S_ISREG(target.st_mode) ? "" : fmt::format(": give {} instead", resolved.string())));
}

}  // namespace draftjit::jit
