#include "jit/disk_cache.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

namespace draftjit::jit {
namespace fs = std::filesystem;
namespace {

// Longer than any compile, so waiting for another process's compile normally ends with its entry on disk.
constexpr std::chrono::seconds kMaxLockWait{30};

// Writes all bytes or returns errno.
int write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return 0;
}

// Calls visit(path, status) for every file in dir; a directory that does not exist has none. Throws
// std::system_error naming dir when it exists but cannot be read (ENOTDIR, EACCES...).
template <typename Visit>
void for_each_file(const fs::path& dir, Visit visit) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec == std::errc::no_such_file_or_directory) return;
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::error_code status_ec;
    visit(it->path(), it->symlink_status(status_ec));  // symlinks are never followed: they are not ours
  }
  if (ec) throw std::system_error(ec, "cannot read cache directory " + dir.string());
}

bool is_stale(const fs::path& path) {
  std::error_code ec;
  const auto modified = fs::last_write_time(path, ec);
  return !ec && fs::file_time_type::clock::now() - modified > kStaleTempAge;
}

}  // namespace

// fwrite, not fmt::print: a warning that cannot be written (stderr full or closed) must not fail the load or store
// it is about.
void warn_to_stderr(const std::string& message) {
  const std::string line = "draftjit: warning: " + message + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

DiskCache::DiskCache(const CacheLocation& location, WarningSink warn) : warn_(std::move(warn)) {
  if (location.writable) layers_.push_back({*location.writable, true});
  for (const fs::path& dir : location.read_only) layers_.push_back({dir, false});
}

DiskCache::DiskCache(fs::path writable_dir, WarningSink warn)
    : DiskCache(CacheLocation{std::move(writable_dir), {}, {}}, std::move(warn)) {}

const DiskCache::Layer* DiskCache::writable() const {
  return !layers_.empty() && layers_[0].writable ? &layers_[0] : nullptr;
}

fs::path DiskCache::path_for(const KernelKey& key) const {
  return writable()->dir / (key.stem + std::string(kEntrySuffix));
}

std::optional<std::vector<char>> DiskCache::load(const KernelKey& key) const {
  for (const Layer& layer : layers_) {
    const fs::path path = layer.dir / (key.stem + std::string(kEntrySuffix));
    std::vector<char> cubin;
    CacheFile file = read_cache_file(path, &cubin);
    if (file.state == FileState::Missing) continue;
    if (file.state == FileState::Valid) {
      if (file.key == key.text) return cubin;
      // Same name, so same key hash: a file copied or renamed by hand, or one written by another build.
      file.state = FileState::Damaged;
      file.problem = fmt::format("it holds another key ({})", file.key);
    }
    if (file.state == FileState::Unreadable || file.state == FileState::NotRegular) {
      warn(fmt::format("cannot use cache file {}: {}; left in place, compiling instead", path.string(), file.problem));
    } else if (!layer.writable) {
      warn(fmt::format("skipping {} in the read-only cache layer: {}", path.string(), file.problem));
    } else {
      // A regular file under an entry's exact name is ours by that name, whatever is left of its header.
      warn(fmt::format("ignoring cache file {}: {}; it will be rebuilt", path.string(), file.problem));
      std::error_code ec;
      fs::remove(path, ec);
    }
  }
  return std::nullopt;
}

bool DiskCache::store(const KernelKey& key, const std::vector<char>& cubin) {
  if (writable() == nullptr) return false;
  const fs::path& dir = writable()->dir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    warn(fmt::format("cannot create cache directory {}: {}; kernels stay in memory only", dir.string(),
                     ec.message()));
    return false;
  }
  const fs::path entry = path_for(key);
  struct stat info {};
  if (::lstat(entry.c_str(), &info) == 0 && !S_ISREG(info.st_mode)) {
    warn(fmt::format("not storing {}: something that is not a regular file is in its place", entry.string()));
    return false;
  }
  const fs::path temp = temp_path_for(entry);
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    warn(fmt::format("cannot write to cache directory {}: {}; kernels stay in memory only", dir.string(),
                     std::strerror(errno)));
    return false;
  }
  const std::vector<char> bytes = encode_entry(key.text, cubin);
  int error = write_all(fd, bytes.data(), bytes.size());
  if (::close(fd) != 0 && error == 0) error = errno;
  if (error != 0) {
    ::unlink(temp.c_str());
    warn(fmt::format("cannot write cache files in {}: {}; kernels stay in memory only", dir.string(),
                     std::strerror(error)));
    return false;
  }
  if (::rename(temp.c_str(), entry.c_str()) != 0) {
    error = errno;
    ::unlink(temp.c_str());
    warn(fmt::format("cannot store {}: {}; this kernel stays in memory only", entry.string(), std::strerror(error)));
    return false;
  }
  return true;
}

std::unique_ptr<KeyLock> DiskCache::lock(const KernelKey& key) const {
  if (writable() == nullptr) return nullptr;
  return std::make_unique<KeyLock>(writable()->dir, key.hash, kMaxLockWait);
}

DiskCache::Listing DiskCache::list() const {
  Listing listing;
  for (std::size_t layer = 0; layer < layers_.size(); ++layer) {
    for_each_file(layers_[layer].dir, [&](const fs::path& path, const fs::file_status& status) {
      const std::string name = path.filename().string();
      if (name == ".locks" && fs::is_directory(status)) return;
      Entry entry{CacheFile{path, FileState::Valid, {}, {}, 0}, layer, is_temp_name(name), 0, {}};
      if (!fs::is_regular_file(status) || !(entry.temp || name.ends_with(kEntrySuffix))) {
        ++listing.others;
        return;
      }
      if (!entry.temp) entry.file = read_cache_file(path);
      if (!entry.file.ours()) {
        ++listing.others;
        return;
      }
      std::error_code ec;
      entry.bytes = fs::file_size(path, ec);
      entry.modified = fs::last_write_time(path, ec);
      listing.entries.push_back(std::move(entry));
    });
  }
  return listing;
}

DiskCache::Removal DiskCache::remove(bool entries) const {
  Removal removal;
  if (writable() == nullptr) return removal;
  for_each_file(writable()->dir, [&](const fs::path& path, const fs::file_status& status) {
    if (!fs::is_regular_file(status)) return;
    const std::string name = path.filename().string();
    const bool doomed = is_temp_name(name) ? is_stale(path)
                                           : entries && name.ends_with(kEntrySuffix) && read_cache_file(path).ours();
    if (!doomed) return;
    std::error_code ec;
    if (fs::remove(path, ec)) {
      ++removal.removed;
    } else if (ec) {
      removal.failures.push_back(fmt::format("{}: {}", path.string(), ec.message()));
    }
  });
  return removal;
}

void DiskCache::warn(const std::string& message) const {
  {
    std::lock_guard lock(warned_mutex_);
    if (!warned_.insert(message).second) return;
  }
  warn_(message);
}

}  // namespace draftjit::jit
