#include "jit/cache_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <random>

#include "jit/hash.hpp"

namespace draftjit::jit {
namespace fs = std::filesystem;
namespace {

constexpr std::array<char, 8> kMagic = {'D', 'J', 'C', 'U', 'B', 'I', 'N', '\0'};
constexpr std::uint32_t kFormatVersion = 2;  // 2: word-wise checksum
constexpr std::string_view kTempMarker = ".cubin.tmp.";

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

// The file's first bytes: all of it when it can be an entry, else just enough to tell whose it is.
int read_prefix(const fs::path& path, std::vector<char>& bytes, std::uint64_t& size, FileState& state) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  struct stat info {};
  int error = fd < 0 || ::fstat(fd, &info) != 0 ? errno : 0;
  if (error == 0 && !S_ISREG(info.st_mode)) error = ENXIO;
  if (error == 0) {
    size = static_cast<std::uint64_t>(info.st_size);
    bytes.resize(size <= kMaxEntryBytes ? size : std::min<std::uint64_t>(size, sizeof(Header)));
    error = read_all(fd, bytes.data(), bytes.size());
  }
  if (fd >= 0) ::close(fd);
  state = error == 0 ? FileState::Valid
          : error == ENOENT || error == ENOTDIR ? FileState::Missing  // ENOTDIR: the directory is a file
          : error == ENXIO ? FileState::NotRegular  // also what open() says of a socket
                           : FileState::Unreadable;
  return error;
}

}  // namespace

CacheFile read_cache_file(const fs::path& path, std::vector<char>* cubin) {
  CacheFile file{path, FileState::Missing, {}, {}, 0};
  std::vector<char> bytes;
  std::uint64_t size = 0;
  if (const int error = read_prefix(path, bytes, size, file.state); error != 0) {
    file.problem = file.state == FileState::NotRegular ? "not a regular file" : std::strerror(error);
    return file;
  }
  auto fail = [&](FileState state, std::string problem) {
    file.state = state;
    file.problem = std::move(problem);
    return file;
  };
  if (bytes.size() < kMagic.size() || std::memcmp(bytes.data(), kMagic.data(), kMagic.size()) != 0) {
    return fail(FileState::Foreign, "not a draftjit cache file (no magic)");
  }
  if (size > kMaxEntryBytes) return fail(FileState::Damaged, fmt::format("{} bytes: too large to be an entry", size));
  Header header{};
  if (bytes.size() < sizeof header) return fail(FileState::Damaged, "truncated header");
  std::memcpy(&header, bytes.data(), sizeof header);
  if (header.format_version != kFormatVersion) {
    return fail(FileState::Damaged,
                fmt::format("format version {} (expected {})", header.format_version, kFormatVersion));
  }
  const std::uint64_t body = bytes.size() - sizeof header;  // sizes come from the file: compare without overflow
  if (header.key_bytes > body || header.cubin_bytes != body - header.key_bytes) {
    return fail(FileState::Damaged, fmt::format("size {} does not match its header", bytes.size()));
  }
  const char* key = bytes.data() + sizeof header;
  const char* payload = key + header.key_bytes;
  if (checksum(std::string_view(key, header.key_bytes), payload, header.cubin_bytes) != header.checksum) {
    return fail(FileState::Damaged, "checksum mismatch");
  }
  file.key.assign(key, header.key_bytes);
  file.cubin_bytes = header.cubin_bytes;
  if (cubin != nullptr) cubin->assign(payload, payload + header.cubin_bytes);
  return file;
}

std::vector<char> encode_entry(std::string_view key, const std::vector<char>& cubin) {
  const Header header{kMagic, kFormatVersion, static_cast<std::uint32_t>(key.size()), cubin.size(),
                      checksum(key, cubin.data(), cubin.size())};
  std::vector<char> bytes(sizeof header + key.size() + cubin.size());
  std::memcpy(bytes.data(), &header, sizeof header);
  std::memcpy(bytes.data() + sizeof header, key.data(), key.size());
  std::memcpy(bytes.data() + sizeof header + key.size(), cubin.data(), cubin.size());
  return bytes;
}

fs::path temp_path_for(const fs::path& entry) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return entry.string() + fmt::format(".tmp.{}.{:x}", ::getpid(), rng());
}

bool is_temp_name(std::string_view name) {
  const std::size_t at = name.rfind(kTempMarker);
  if (at == std::string_view::npos) return false;
  std::string_view tail = name.substr(at + kTempMarker.size());  // "<pid>.<hex>"
  const std::size_t dot = tail.find('.');
  if (dot == 0 || dot == std::string_view::npos || dot + 1 == tail.size()) return false;
  const auto digits = [](std::string_view s, const char* set) { return s.find_first_not_of(set) == s.npos; };
  return digits(tail.substr(0, dot), "0123456789") && digits(tail.substr(dot + 1), "0123456789abcdef");
}

}  // namespace draftjit::jit
