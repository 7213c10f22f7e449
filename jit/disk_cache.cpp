#include "jit/disk_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <random>
#include <system_error>

#include "jit/hash.hpp"

namespace draftjit::jit {
namespace fs = std::filesystem;
namespace {

constexpr std::array<char, 8> kMagic = {'D', 'J', 'C', 'U', 'B', 'I', 'N', '\0'};
constexpr std::uint32_t kFormatVersion = 2;  // 2: word-wise checksum
constexpr const char* kExtension = ".cubin";

struct Header {
  std::array<char, 8> magic;
  std::uint32_t format_version;
  std::uint32_t key_bytes;
  std::uint64_t cubin_bytes;
  std::uint64_t checksum;  // hash_bytes of the cubin, seeded with hash_bytes of the key text
};
static_assert(sizeof(Header) == 32);

std::uint64_t checksum(std::string_view key, const char* cubin, std::size_t size) {
  return hash_bytes(std::string_view(cubin, size), hash_bytes(key));
}

const char* env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

// Reads exactly size bytes or returns errno (EIO when the file is shorter).
int read_all(int fd, char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::read(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : EIO;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return 0;
}

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

std::string unique_suffix() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return fmt::format(".tmp.{}.{:x}", ::getpid(), rng());
}

}  // namespace

void warn_to_stderr(const std::string& message) { fmt::print(stderr, "draftjit: warning: {}\n", message); }

std::optional<fs::path> default_cache_dir() {
  if (const char* off = env("DRAFTJIT_DISABLE_DISK_CACHE"); off != nullptr && std::string_view(off) != "0") {
    return std::nullopt;
  }
  if (const char* dir = env("DRAFTJIT_CACHE_DIR")) return fs::path(dir);
  if (const char* xdg = env("XDG_CACHE_HOME")) return fs::path(xdg) / "draftjit";
  if (const char* home = env("HOME")) return fs::path(home) / ".cache" / "draftjit";
  return std::nullopt;
}

DiskCache::DiskCache(fs::path dir, WarningSink warn) : dir_(std::move(dir)), warn_(std::move(warn)) {}

fs::path DiskCache::path_for(const KernelKey& key) const { return dir_ / (key.stem + kExtension); }

CacheFile read_cache_file(const fs::path& path, std::vector<char>* cubin) {
  CacheFile file{path, {}, 0, {}};
  // One read of the whole file with plain POSIX calls: this sits on a new process's first kernel launch, where
  // iostreams' first-use set-up alone cost ~200 us.
  std::vector<char> bytes;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat info {};
  if (fd < 0 || ::fstat(fd, &info) != 0) {
    const int error = errno;
    if (fd >= 0) ::close(fd);
    file.problem = fmt::format("cannot read: {}", std::strerror(error));
    return file;
  }
  bytes.resize(static_cast<std::size_t>(info.st_size));
  const int error = read_all(fd, bytes.data(), bytes.size());
  ::close(fd);
  if (error != 0) {
    file.problem = fmt::format("cannot read: {}", std::strerror(error));
    return file;
  }

  Header header{};
  if (bytes.size() < sizeof header) {
    file.problem = "truncated header";
    return file;
  }
  std::memcpy(&header, bytes.data(), sizeof header);
  if (header.magic != kMagic) {
    file.problem = "not a draftjit cache file (bad magic)";
    return file;
  }
  if (header.format_version != kFormatVersion) {
    file.problem = fmt::format("format version {} (expected {})", header.format_version, kFormatVersion);
    return file;
  }
  const std::uint64_t body = bytes.size() - sizeof header;  // sizes come from the file: compare without overflow
  if (header.key_bytes > body || header.cubin_bytes != body - header.key_bytes) {
    file.problem = fmt::format("size {} does not match its header", bytes.size());
    return file;
  }
  const char* key = bytes.data() + sizeof header;
  const char* payload = key + header.key_bytes;
  file.key.assign(key, header.key_bytes);
  file.cubin_bytes = header.cubin_bytes;
  if (checksum(file.key, payload, header.cubin_bytes) != header.checksum) {
    file.problem = "checksum mismatch";
    return file;
  }
  if (cubin != nullptr) cubin->assign(payload, payload + header.cubin_bytes);
  return file;
}

std::optional<std::vector<char>> DiskCache::load(const KernelKey& key) const {
  const fs::path path = path_for(key);
  if (::access(path.c_str(), F_OK) != 0) return std::nullopt;
  std::vector<char> cubin;
  CacheFile file = read_cache_file(path, &cubin);
  if (file.problem.empty() && file.key != key.text) file.problem = "holds a different key (hash collision)";
  if (!file.problem.empty()) {
    warn_(fmt::format("ignoring cache file {}: {}; it will be rebuilt", path.string(), file.problem));
    std::error_code ec;
    fs::remove(path, ec);
    return std::nullopt;
  }
  return cubin;
}

bool DiskCache::store(const KernelKey& key, const std::vector<char>& cubin) {
  if (store_disabled_.load(std::memory_order_relaxed)) return false;
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) {
    warn_once(fmt::format("cannot create cache directory {}: {}; kernels stay in memory only", dir_.string(),
                          ec.message()));
    return false;
  }
  const fs::path final_path = path_for(key);
  const fs::path temp_path = final_path.string() + unique_suffix();
  const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    warn_once(fmt::format("cannot write to cache directory {}: {}; kernels stay in memory only", dir_.string(),
                          std::strerror(errno)));
    return false;
  }
  Header header{kMagic, kFormatVersion, static_cast<std::uint32_t>(key.text.size()), cubin.size(),
                checksum(key.text, cubin.data(), cubin.size())};
  int error = write_all(fd, reinterpret_cast<const char*>(&header), sizeof header);
  if (error == 0) error = write_all(fd, key.text.data(), key.text.size());
  if (error == 0) error = write_all(fd, cubin.data(), cubin.size());
  if (::close(fd) != 0 && error == 0) error = errno;
  if (error == 0 && ::rename(temp_path.c_str(), final_path.c_str()) != 0) error = errno;
  if (error != 0) {
    ::unlink(temp_path.c_str());
    warn_once(fmt::format("cannot write cache file {}: {}; kernels stay in memory only", final_path.string(),
                          std::strerror(error)));
    return false;
  }
  return true;
}

std::vector<CacheFile> DiskCache::list() const {
  std::vector<CacheFile> files;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir_, ec)) {
    if (entry.path().extension() == kExtension) files.push_back(read_cache_file(entry.path()));
  }
  return files;
}

std::size_t DiskCache::clear() {
  std::size_t removed = 0;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    const bool ours = entry.path().extension() == kExtension || name.find(".cubin.tmp.") != std::string::npos;
    if (ours && fs::remove(entry.path(), ec)) ++removed;
  }
  return removed;
}

void DiskCache::warn_once(const std::string& message) {
  if (!store_disabled_.exchange(true)) warn_(message);
}

}  // namespace draftjit::jit
