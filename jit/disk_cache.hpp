#pragma once
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "jit/kernel_key.hpp"

namespace draftjit::jit {

using WarningSink = std::function<void(const std::string&)>;
void warn_to_stderr(const std::string& message);  // "draftjit: warning: <message>"

// $DRAFTJIT_CACHE_DIR, else $XDG_CACHE_HOME/draftjit, else ~/.cache/draftjit; nullopt when
// DRAFTJIT_DISABLE_DISK_CACHE=1 or no location can be derived.
std::optional<std::filesystem::path> default_cache_dir();

// One cubin file as found on disk. `problem` is empty for a valid file.
struct CacheFile {
  std::filesystem::path path;
  std::string key;  // the full key text from the header
  std::uint64_t cubin_bytes = 0;
  std::string problem;
};

// One file per kernel key: header (magic, format version, key text, size, checksum), then the cubin. Files are
// written to a temporary name and renamed, so a reader sees a whole file or none. Every failure is survivable: a bad
// file is reported, removed and rebuilt; an unwritable directory or a full disk leaves the caller in memory only,
// with one warning.
class DiskCache {
 public:
  explicit DiskCache(std::filesystem::path dir, WarningSink warn = warn_to_stderr);

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path path_for(const KernelKey& key) const;

  // The cubin stored under key, or nullopt on a miss or an invalid file (which is warned about and removed).
  std::optional<std::vector<char>> load(const KernelKey& key) const;

  // Writes the cubin; false (after at most one warning per cache) when the directory cannot take it.
  bool store(const KernelKey& key, const std::vector<char>& cubin);

  std::vector<CacheFile> list() const;  // every cache file, checked (for `draftjit cache list|verify`)
  std::size_t clear();                  // removes every cache file; returns how many

 private:
  void warn_once(const std::string& message);

  std::filesystem::path dir_;
  WarningSink warn_;
  std::atomic<bool> store_disabled_{false};
};

// Reads and checks one cache file; for a valid file `cubin` receives the payload when non-null.
CacheFile read_cache_file(const std::filesystem::path& path, std::vector<char>* cubin = nullptr);

}  // namespace draftjit::jit
