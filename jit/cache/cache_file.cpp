#include "jit/cache/cache_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <random>

#include "jit/cache/file_time.hpp"
#include "jit/hash.hpp"
#include "jit/errno_text.hpp"
#include "jit/outside_text.hpp"

namespace draftjit::jit {
namespace fs = std::filesystem;
namespace {

constexpr std::array<char, 8> kMagic = {'D', 'J', 'C', 'U', 'B', 'I', 'N', '\0'};
constexpr std::uint32_t kFormatVersion = 3;  // 2: word-wise checksum; 3: keys of the family registry
constexpr std::string_view kTempMarker = ".tmp.";
constexpr std::size_t kHashDigits = 16;  // make_key's "{:016x}", also the temp names' random suffix

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

bool all_of(std::string_view text, std::string_view set) { return text.find_first_not_of(set) == text.npos; }

// Opens path for reading without following a symlink (O_NOFOLLOW: ELOOP) or waiting for a FIFO's writer
// (O_NONBLOCK), and only when it is a regular file (ENXIO otherwise, also what open() says of a socket). Returns the
// descriptor and its size, or -1 with the errno in error.
int open_regular(const fs::path& path, std::uint64_t& size, int& error, FileIdentity* identity = nullptr) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
  struct stat info {};
  error = fd < 0 || ::fstat(fd, &info) != 0 ? errno : 0;
  if (error == 0 && !S_ISREG(info.st_mode)) error = ENXIO;
  if (error != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  size = static_cast<std::uint64_t>(info.st_size);
  if (identity != nullptr) *identity = identity_of(info);
  return fd;
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

// The file's first bytes: all of it when it can be an entry, else just enough to tell what it is.
int read_prefix(const fs::path& path, std::vector<char>& bytes, std::uint64_t& size, FileState& state,
                FileIdentity& identity) {
  int error = 0;
  const int fd = open_regular(path, size, error, &identity);
  if (fd >= 0) {
    bytes.resize(size <= kMaxEntryBytes ? size : std::min<std::uint64_t>(size, sizeof(Header)));
    error = read_all(fd, bytes.data(), bytes.size());
    ::close(fd);
  }
  state = error == 0 ? FileState::Valid
          : error == ENOENT || error == ENOTDIR ? FileState::Missing  // ENOTDIR: the directory is a file
          : error == ENXIO || error == ELOOP    ? FileState::NotRegular
                                                : FileState::Unreadable;
  return error;
}

// Whether a regular file starts like an entry: its first min(size, 8) bytes are the magic's. With whole_magic, it
// must also hold all 8. A file that cannot be read does not.
bool starts_like_entry(const fs::path& path, bool whole_magic) {
  std::uint64_t size = 0;
  int error = 0;
  const int fd = open_regular(path, size, error);
  if (fd < 0) return false;
  std::array<char, kMagic.size()> start{};
  const std::size_t want = std::min<std::uint64_t>(size, start.size());
  error = read_all(fd, start.data(), want);
  ::close(fd);
  if (error != 0 || (whole_magic && want < start.size())) return false;
  return std::memcmp(start.data(), kMagic.data(), want) == 0;
}

const char* type_name(mode_t mode) {
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a regular file";
}

fs::file_time_type modified_time(const struct stat& info) {
  return fs::file_time_type::clock::from_sys(file_time(info.st_mtim));
}

}  // namespace

Classified classify(const fs::path& path) {
  Classified found;
  const std::string name = path.filename().string();
  const bool entry_name = entry_name_hash(name).has_value();
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) {
    // Nothing there, or it cannot be looked at (EACCES on the directory...): then an entry's name makes it ours, and
    // its content check says why it cannot be read.
    const bool absent = errno == ENOENT || errno == ENOTDIR;
    found.kind = absent ? FileKind::Missing : entry_name ? FileKind::Entry : FileKind::Foreign;
    return found;
  }
  found.bytes = static_cast<std::uintmax_t>(info.st_size);
  found.modified = modified_time(info);
  const bool regular = S_ISREG(info.st_mode);
  if (name == kLocksDir) {
    found.kind = S_ISDIR(info.st_mode) ? FileKind::Locks : FileKind::Foreign;
  } else if (entry_name) {
    found.kind = regular ? FileKind::Entry : FileKind::InTheWay;
    if (!regular) found.what = type_name(info.st_mode);
  } else if (regular && is_temp_name(name)) {
    // A writer creates its temp file empty and writes an entry into it from the start: anything else is not one.
    found.kind = starts_like_entry(path, /*whole_magic=*/false) ? FileKind::Temp : FileKind::Foreign;
  } else if (regular && name.ends_with(kEntrySuffix)) {
    // An entry renamed by hand: ours by its magic, though no key can find it under this name.
    found.kind = starts_like_entry(path, /*whole_magic=*/true) ? FileKind::Entry : FileKind::Foreign;
  } else {
    found.kind = FileKind::Foreign;  // not regular, or a name draftjit never writes
  }
  return found;
}

namespace {

// The checks of an entry's bytes. file_size is the file's, of which bytes holds all when it is at most
// kMaxEntryBytes and else only the header's worth (read_prefix), so that a huge file is refused unread.
CacheFile decode(std::string_view file_name, const std::vector<char>& bytes, std::uint64_t file_size,
                 std::vector<char>* cubin) {
  CacheFile file{std::string(file_name), FileState::Valid, {}, {}, 0, {}};
  auto fail = [&](std::string problem) {
    file.state = FileState::Damaged;
    file.problem = std::move(problem);
    return file;
  };
  if (bytes.size() < kMagic.size()) return fail(fmt::format("{} bytes: too short to be an entry", file_size));
  if (std::memcmp(bytes.data(), kMagic.data(), kMagic.size()) != 0) return fail("no draftjit magic: not an entry");
  if (file_size > kMaxEntryBytes) return fail(fmt::format("{} bytes: too large to be an entry", file_size));
  Header header{};
  if (bytes.size() < sizeof header) return fail("truncated header");
  std::memcpy(&header, bytes.data(), sizeof header);
  if (header.format_version != kFormatVersion) {
    // An older draftjit's entry: no key of this build can name it; `cache prune` removes it, warmup rebuilds it.
    return fail(header.format_version < kFormatVersion
                    ? fmt::format("format version {}, from an older draftjit (this one writes {}): no key of this "
                                  "build uses it; `draftjit cache prune` removes it, warmup rebuilds its kernel",
                                  header.format_version, kFormatVersion)
                    : fmt::format("format version {} (expected {})", header.format_version, kFormatVersion));
  }
  const std::uint64_t body = bytes.size() - sizeof header;  // sizes come from the file: compare without overflow
  if (header.key_bytes > body || header.cubin_bytes != body - header.key_bytes) {
    return fail(fmt::format("size {} does not match its header", bytes.size()));
  }
  const std::string_view key(bytes.data() + sizeof header, header.key_bytes);
  const char* payload = key.data() + key.size();
  if (checksum(key, payload, header.cubin_bytes) != header.checksum) return fail("checksum mismatch");
  // The name is what a load looks up: an entry copied or renamed onto another key's name must not pass as that key.
  const std::optional<std::uint64_t> named = entry_name_hash(file_name);
  if (!named) return fail(fmt::format("its name does not carry its key's hash, so no load finds it ({})", shown(key)));
  if (*named != hash_bytes(key)) return fail(fmt::format("it holds another key ({})", shown(key)));
  file.key.assign(key);
  file.cubin_bytes = header.cubin_bytes;
  if (cubin != nullptr) cubin->assign(payload, payload + header.cubin_bytes);
  return file;
}

}  // namespace

CacheFile decode_entry(std::string_view file_name, const std::vector<char>& bytes, std::vector<char>* cubin) {
  return decode(file_name, bytes, bytes.size(), cubin);
}

CacheFile read_cache_file(const fs::path& path, std::vector<char>* cubin) {
  std::vector<char> bytes;
  std::uint64_t size = 0;
  FileState state = FileState::Missing;
  FileIdentity identity;
  if (const int error = read_prefix(path, bytes, size, state, identity); error != 0) {
    return CacheFile{path, state,
                     error == ELOOP   ? "not a regular file (a symbolic link, never followed)"
                     : error == ENXIO ? "not a regular file"
                                      : errno_text(error),
                     {}, 0, identity};
  }
  CacheFile file = decode(path.filename().string(), bytes, size, cubin);
  file.path = path;
  file.identity = identity;
  return file;
}

std::vector<char> encode_entry(std::string_view key, const std::vector<char>& cubin) {
  const Header header{kMagic, kFormatVersion, static_cast<std::uint32_t>(key.size()), cubin.size(),
                      checksum(key, cubin.data(), cubin.size())};
  std::vector<char> bytes(sizeof header + key.size() + cubin.size());
  std::memcpy(bytes.data(), &header, sizeof header);
  // Guarded: an empty key or cubin may have a null data(), which memcpy must not get even for 0 bytes.
  if (!key.empty()) std::memcpy(bytes.data() + sizeof header, key.data(), key.size());
  if (!cubin.empty()) std::memcpy(bytes.data() + sizeof header + key.size(), cubin.data(), cubin.size());
  return bytes;
}

std::optional<std::uint64_t> entry_name_hash(std::string_view name) {
  // "<spec name>.<arch>-<16 hex digits>.cubin"
  if (!name.ends_with(kEntrySuffix)) return std::nullopt;
  const std::string_view stem = name.substr(0, name.size() - kEntrySuffix.size());
  if (stem.size() < kHashDigits + 2 || stem[stem.size() - kHashDigits - 1] != '-') return std::nullopt;
  const std::string_view digits = stem.substr(stem.size() - kHashDigits);
  if (!all_of(digits, "0123456789abcdef")) return std::nullopt;
  std::uint64_t hash = 0;
  for (const char c : digits) hash = hash * 16 + static_cast<std::uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
  return hash;
}

namespace {

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

}  // namespace

AtomicWrite write_atomically(const fs::path& path, const std::vector<char>& bytes) {
  const fs::path temp = temp_path_for(path);
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);  // O_EXCL: never a symlink
  if (fd < 0) return {AtomicWrite::Failed::Create, errno};
  AtomicWrite result;
  if (const int error = write_all(fd, bytes.data(), bytes.size()); error != 0) {
    result = {AtomicWrite::Failed::Write, error};
  }
  if (::close(fd) != 0 && result.ok()) result = {AtomicWrite::Failed::Write, errno};  // NFS reports write-back here
  if (result.ok() && ::rename(temp.c_str(), path.c_str()) != 0) result = {AtomicWrite::Failed::Rename, errno};
  if (!result.ok()) ::unlink(temp.c_str());
  return result;
}

int open_regular_file(const fs::path& path, std::uintmax_t max_bytes, std::string_view what, std::uint64_t& size) {
  auto fail = [&](int error, std::string_view doing) {
    throw std::system_error(error, std::generic_category(), fmt::format("{} {} {}", doing, what, path.string()));
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail(errno, "cannot open");
  try {
    struct stat info {};
    if (::fstat(fd, &info) != 0) fail(errno, "cannot stat");
    if (!S_ISREG(info.st_mode)) {
      throw std::invalid_argument(fmt::format("{} {} is not a regular file", what, path.string()));
    }
    if (static_cast<std::uintmax_t>(info.st_size) > max_bytes) {
      throw std::invalid_argument(
          fmt::format("{} {} is {} bytes, over the {} it may have", what, path.string(), info.st_size, max_bytes));
    }
    size = static_cast<std::uint64_t>(info.st_size);
    return fd;
  } catch (...) {
    ::close(fd);
    throw;
  }
}

std::vector<char> read_regular_file(const fs::path& path, std::uintmax_t max_bytes, std::string_view what) {
  std::uint64_t size = 0;
  const int fd = open_regular_file(path, max_bytes, what, size);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  std::vector<char> bytes;
  bytes.reserve(static_cast<std::size_t>(size));
  std::array<char, 1 << 16> chunk{};
  while (true) {
    const ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      throw std::system_error(errno, std::generic_category(), fmt::format("cannot read {} {}", what, path.string()));
    }
    if (n == 0) return bytes;
    bytes.insert(bytes.end(), chunk.data(), chunk.data() + n);
    if (bytes.size() > max_bytes) {
      throw std::invalid_argument(fmt::format("{} {} grew past {} bytes while read", what, path.string(), max_bytes));
    }
  }
}

fs::path temp_path_for(const fs::path& entry) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return entry.string() + fmt::format("{}{}.{:0{}x}", kTempMarker, ::getpid(), rng(), kHashDigits);
}

bool is_temp_name(std::string_view name) {
  // "<entry name>.tmp.<pid>.<16 hex digits>"
  const std::size_t at = name.rfind(kTempMarker);
  if (at == std::string_view::npos || !entry_name_hash(name.substr(0, at))) return false;
  const std::string_view tail = name.substr(at + kTempMarker.size());
  const std::size_t dot = tail.find('.');
  if (dot == std::string_view::npos) return false;
  const std::string_view pid = tail.substr(0, dot);
  const std::string_view random = tail.substr(dot + 1);
  return !pid.empty() && pid.size() <= 10 && pid[0] != '0' && all_of(pid, "0123456789") &&
         random.size() == kHashDigits && all_of(random, "0123456789abcdef");
}

FileIdentity identity_of(const struct stat& info) {
  return {static_cast<std::uint64_t>(info.st_dev), static_cast<std::uint64_t>(info.st_ino),
          static_cast<std::uint64_t>(info.st_size), static_cast<std::int64_t>(info.st_mtim.tv_sec),
          static_cast<std::int64_t>(info.st_mtim.tv_nsec)};
}

}  // namespace draftjit::jit
