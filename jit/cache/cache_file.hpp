#pragma once
#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace draftjit::jit {

// The on-disk format of one cache entry, `<key stem>.cubin`, the stem ending in `-<the key hash, 16 hex digits>`
// (make_key): a header (magic, format version, key size, cubin size, checksum), the full key text, then the cubin.
// Entries are written to `<entry name>.tmp.<pid>.<16 hex digits>` and renamed.
//
// Which files in a cache directory are draftjit's, and so what load, list, verify, clear and the warmup sweep may do
// with them, is decided here and nowhere else: classify() by name and lstat, then read_cache_file() for the content
// of an entry. docs/DESIGN.md ("Which files are draftjit's") has the rule and what each command does.

inline constexpr std::string_view kEntrySuffix = ".cubin";
inline constexpr std::string_view kLocksDir = ".locks";  // jit/cache/key_lock's stripe files
inline constexpr std::uint64_t kMaxEntryBytes = 64 << 20;  // far above any draftjit cubin; larger files are not read
// A temp file this old belongs to a writer that died: stores take milliseconds.
inline constexpr std::chrono::minutes kStaleTempAge{5};

// What a name in a cache directory is to draftjit. Nothing is ever followed: a symlink is judged as a symlink.
enum class FileKind {
  Entry,     // a regular file named like an entry, or named *.cubin and starting with the magic: the content decides
  Temp,      // a regular file with a temp name that is empty or starts like an entry: a store in flight, or a dead one
  Locks,     // the .locks directory (a real directory)
  InTheWay,  // not a regular file (symlink, FIFO, directory...) under an entry's name: never followed, read, removed
  Foreign,   // anything else: never read past its first bytes, never removed
  Missing,   // nothing there
};

struct Classified {
  FileKind kind = FileKind::Missing;
  std::string what;                             // InTheWay only: what is there ("a symbolic link")
  std::uintmax_t bytes = 0;                     // lstat's size
  std::filesystem::file_time_type modified{};  // lstat's modification time
};

// The one rule, from the name and lstat, and for a regular file whose name alone cannot tell (a temp name, a .cubin
// name that is not an entry's) its first 8 bytes, read without following or blocking.
Classified classify(const std::filesystem::path& path);

// The content check of an Entry.
enum class FileState {
  Valid,
  Missing,     // ENOENT, or ENOTDIR (no directory to hold it)
  Unreadable,  // open or read failed otherwise (EMFILE, EACCES, EIO...): maybe transient, so never removed by load
  NotRegular,  // a symlink, FIFO, directory, socket or device: never followed, opened for reading or removed
  Damaged,     // ours, but unusable: short, no magic, wrong version, sizes or checksum, or its name is not its key's
};

// Which file a path named when it was looked at, and as it was then: another process may rename a new file into its
// place afterwards, and a store or a load's touch gives it a new mtime. The inode alone is not enough: a file created
// after the one seen was unlinked may get its inode back. What jit/cache/cache_prune's evict() compares before it removes.
struct FileIdentity {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::uint64_t bytes = 0;
  std::int64_t mtime_sec = 0;
  std::int64_t mtime_nsec = 0;
  friend bool operator==(const FileIdentity&, const FileIdentity&) = default;
};
// The identity of what lstat or fstat described.
FileIdentity identity_of(const struct stat& info);

struct CacheFile {
  std::filesystem::path path;
  FileState state = FileState::Missing;
  std::string problem;  // why it is not Valid
  std::string key;      // the full key text from the header (Valid only)
  std::uint64_t cubin_bytes = 0;
  FileIdentity identity;  // of the file read (opened files only)
};

// The checks of one entry's bytes, the one definition of what a valid entry is: magic, size (at most
// kMaxEntryBytes), format version, sizes that add up, checksum, and file_name (what a load looks up) carrying the
// hash of the key text inside. For a Valid entry `cubin` receives the payload when non-null. The result's path is
// file_name and its identity empty: the bytes came from no file (a bundle's entry), or the caller fills them in.
CacheFile decode_entry(std::string_view file_name, const std::vector<char>& bytes, std::vector<char>* cubin = nullptr);

// Reads one entry without following a symlink or opening a FIFO or device and without reading more than
// kMaxEntryBytes, then checks it with decode_entry's checks; identity is that of the file read.
CacheFile read_cache_file(const std::filesystem::path& path, std::vector<char>* cubin = nullptr);

// The bytes of an entry holding cubin under key.
std::vector<char> encode_entry(std::string_view key, const std::vector<char>& cubin);

// The key hash an entry's file name carries, or nullopt when the name is not an entry's.
std::optional<std::uint64_t> entry_name_hash(std::string_view file_name);

// A fresh temp name next to entry, and whether a file name has the form of one (classify also checks the content).
std::filesystem::path temp_path_for(const std::filesystem::path& entry);
bool is_temp_name(std::string_view file_name);

// Writes bytes to a fresh temp file beside path (temp_path_for), then renames it over path, so a reader sees the
// whole old file or the whole new one. On failure the temp file is removed; what failed and errno are returned.
struct AtomicWrite {
  enum class Failed { Nothing, Create, Write, Rename } failed = Failed::Nothing;
  int error = 0;
  bool ok() const { return failed == Failed::Nothing; }
};
AtomicWrite write_atomically(const std::filesystem::path& path, const std::vector<char>& bytes);

// The whole of a regular file of at most max_bytes, for readers of files a user names (manifests, bundles). Opened
// non-blocking, so a FIFO in its place cannot hang the open; refused before anything is read when it is not a
// regular file or too large. Throws std::system_error ("cannot open <what> <path>", stat, read) and
// std::invalid_argument (not a regular file, too large, grew past max_bytes while read), naming what and path.
std::vector<char> read_regular_file(const std::filesystem::path& path, std::uintmax_t max_bytes,
                                    std::string_view what);

// The open descriptor (O_CLOEXEC, the caller closes it) of such a file and its size, with read_regular_file's checks
// and errors: for readers that stream a file too large to hold (a bundle).
int open_regular_file(const std::filesystem::path& path, std::uintmax_t max_bytes, std::string_view what,
                      std::uint64_t& size);

}  // namespace draftjit::jit
