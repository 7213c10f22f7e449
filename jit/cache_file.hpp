#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace draftjit::jit {

// The on-disk format of one cache entry, `<key stem>.cubin`: a header (magic, format version, key size, cubin size,
// checksum), the full key text, then the cubin. Entries are written to `<entry>.tmp.<pid>.<random>` and renamed.

inline constexpr std::string_view kEntrySuffix = ".cubin";
inline constexpr std::uint64_t kMaxEntryBytes = 64 << 20;  // far above any draftjit cubin; larger files are not read
// A temp file this old belongs to a writer that died: stores take milliseconds.
inline constexpr std::chrono::minutes kStaleTempAge{5};

enum class FileState {
  Valid,
  Missing,     // ENOENT, or ENOTDIR (no directory to hold it)
  Unreadable,  // open or read failed otherwise (EMFILE, EACCES, EIO...): maybe transient, so never removed
  NotRegular,  // a FIFO, directory, socket or device: never opened for reading, never removed
  Foreign,     // a regular file without draftjit's magic
  Damaged,     // draftjit's magic, but the version, sizes or checksum are wrong
};

struct CacheFile {
  std::filesystem::path path;
  FileState state = FileState::Missing;
  std::string problem;  // why it is not Valid
  std::string key;      // the full key text from the header (Valid only)
  std::uint64_t cubin_bytes = 0;

  bool ours() const { return state == FileState::Valid || state == FileState::Damaged; }
};

// Reads and checks one file without following it into a FIFO or device, and without reading more than
// kMaxEntryBytes; for a Valid file `cubin` receives the payload when non-null.
CacheFile read_cache_file(const std::filesystem::path& path, std::vector<char>* cubin = nullptr);

// The bytes of an entry holding cubin under key.
std::vector<char> encode_entry(std::string_view key, const std::vector<char>& cubin);

// A fresh temp name next to entry, and whether a file name is one of draftjit's temp names.
std::filesystem::path temp_path_for(const std::filesystem::path& entry);
bool is_temp_name(std::string_view file_name);

}  // namespace draftjit::jit
