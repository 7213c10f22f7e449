#pragma once
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "jit/cache/cache_file.hpp"
#include "jit/cache/cache_location.hpp"
#include "jit/cache/cache_prune.hpp"
#include "jit/kernel_key.hpp"
#include "jit/cache/key_lock.hpp"
#include "jit/warning.hpp"

namespace draftjit::jit {

// The cubin files of kernel keys in a writable directory and, after it, read-only layers (see CacheLocation).
// Which files are draftjit's is classify()'s rule (jit/cache/cache_file), the same for every member here. Every fault is
// survivable and local: a damaged entry in the writable directory is warned about, removed and rebuilt; one in a
// read-only layer is skipped; a file we cannot read (EMFILE, EACCES) is a miss, never "corruption"; a FIFO,
// directory or symlink in an entry's place is never followed and left alone; an entry that cannot be stored leaves
// that kernel in memory only and the next one is tried again. Each distinct warning is given once per DiskCache
// (once per process for the process pipeline's), and a directory that cannot be searched is one warning, not one
// per kernel.
//
// With DRAFTJIT_CACHE_MAX_BYTES set, the writable directory is bounded: a hit there refreshes the entry's mtime (once
// per entry per DiskCache), so mtime order is use order, and a store that may have taken the entries past the bound
// evicts the least recently used (prune) down to kLowWater of it.
class DiskCache {
 public:
  struct Layer {
    std::filesystem::path dir;
    bool writable = false;
  };

  explicit DiskCache(const CacheLocation& location, WarningSink warn = warn_to_log);
  explicit DiskCache(std::filesystem::path writable_dir, WarningSink warn = warn_to_log);

  const std::vector<Layer>& layers() const { return layers_; }  // the writable one (if any) first
  const Layer* writable() const;
  std::filesystem::path path_for(const KernelKey& key) const;  // in the writable directory, which must exist

  // The cubin stored under key in the first layer that holds a valid entry for it, or nullopt. An entry removed by a
  // prune meanwhile is a miss: entries are replaced and removed only by rename and unlink, and read whole from one
  // open descriptor.
  // *layer_index, when given, receives the index of the layer it came from.
  std::optional<std::vector<char>> load(const KernelKey& key, std::size_t* layer_index = nullptr) const;

  // Writes the cubin to the writable directory (temp file, then rename); false, with a warning, when it cannot. Then,
  // under a bound, prunes when what this cache knows of the directory (its total at the last prune plus what it
  // stored since) exceeds the bound; a prune that fails is a warning, never a failed store.
  bool store(const KernelKey& key, const std::vector<char>& cubin);

  // The bound from DRAFTJIT_CACHE_MAX_BYTES, read at construction; nullopt: none (or no writable directory).
  std::optional<std::uint64_t> max_bytes() const { return max_bytes_; }
  // A store-time prune goes down to this fraction of the bound, so that a full cache lists its directory once per
  // tenth of the bound stored, not on every store.
  static constexpr double kLowWater = 0.9;
  // What the store-time prunes of this cache evicted under the bound since it was made: a command that stores
  // (warmup, import) says so, rather than report all it stored as in the cache.
  struct Evicted {
    std::size_t entries = 0;
    std::uintmax_t bytes = 0;
  };
  Evicted evicted_by_bound() const;

  // Evicts entries of the writable directory by rule (jit/cache/cache_prune): only what classify() calls an entry, never
  // temp files, foreign files or what is in an entry's place, and nothing in a read-only layer. Throws like list();
  // failures to remove one entry are collected, not thrown.
  PruneResult prune(const PruneRule& rule) const;

  // The cross-process compile lock of key, taken on a miss (bounded wait); nullptr without a writable directory.
  std::unique_ptr<KeyLock> lock(const KernelKey& key) const;

  // What `draftjit cache list|verify` shows, in every layer: entries (checked; anything not Valid is what verify
  // reports), temp files, and what is in an entry's place without being a regular file (state NotRegular). Throws
  // std::system_error naming a directory that exists but cannot be read.
  struct Entry {
    CacheFile file;
    std::size_t layer = 0;  // index into layers()
    bool temp = false;
    std::uintmax_t bytes = 0;  // of the file (lstat)
    std::filesystem::file_time_type modified{};
  };
  struct Listing {
    std::vector<Entry> entries;
    std::size_t others = 0;  // files that are not draftjit's: never checked, removed or counted as invalid
  };
  Listing list() const;

  // Removes, from the writable directory only, every entry (valid or not) and the temp files older than
  // kStaleTempAge; with entries = false only those temp files (the warmup sweep). Throws like list(); failures to
  // remove one file are collected, not thrown.
  struct Removal {
    std::size_t removed = 0;
    std::vector<std::string> failures;
    std::vector<std::string> left;  // "path: what", for what is in an entry's place and is never removed
  };
  Removal remove(bool entries) const;

 private:
  void warn(const std::string& message) const;
  void touch_once(const std::string& stem, const std::filesystem::path& path) const;
  void enforce_bound(std::uintmax_t stored, const std::filesystem::path& stored_entry);

  std::vector<Layer> layers_;
  WarningSink warn_;
  mutable std::mutex warned_mutex_;
  mutable std::set<std::string> warned_;
  mutable std::mutex touched_mutex_;
  mutable std::set<std::string> touched_;  // stems whose mtime a hit refreshed
  std::optional<std::uint64_t> max_bytes_;
  std::mutex bound_mutex_;
  std::optional<std::uintmax_t> known_bytes_;  // the entries' total after the last prune; nullopt before the first
  std::uintmax_t stored_since_prune_ = 0;
  std::atomic<std::size_t> evicted_entries_{0};
  std::atomic<std::uintmax_t> evicted_bytes_{0};
};

}  // namespace draftjit::jit
