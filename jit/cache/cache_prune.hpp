#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jit/cache/cache_file.hpp"
#include "jit/warning.hpp"

namespace draftjit::jit {

// Bounding the writable cache directory: least recently used entries of draftjit's are evicted. "Used" is the file's
// mtime, which DiskCache::load refreshes on a hit in the writable directory and a store sets, so mtime order is use
// order. Which files are entries is classify()'s rule; the caller (DiskCache::prune) lists them, this file decides
// which go and removes them so that nothing a concurrent store or use put there since the listing is lost.

// "4096", "512K", "64M", "2G", "2GB", "2GiB", "1T" (powers of 1024 however spelled, any case; "B" alone is bytes).
// Throws std::invalid_argument naming what and the text.
std::uint64_t parse_byte_size(std::string_view text, std::string_view what);

// "45s", "30m", "12h", "7d". Throws std::invalid_argument naming what and the text.
std::chrono::seconds parse_age(std::string_view text, std::string_view what);

// DRAFTJIT_CACHE_MAX_BYTES, or nullopt when unset; a value it cannot mean throws std::invalid_argument naming it
// (jit/environment's rule): a bound meant to keep a disk from filling is never dropped for a typo.
std::optional<std::uint64_t> cache_bound_from_env();

struct PruneRule {
  std::optional<std::uint64_t> max_bytes;          // the entries left total at most this many bytes
  std::optional<std::chrono::seconds> older_than;  // entries last used longer ago than this go
  std::filesystem::path keep;  // never evicted when set: the entry a store just wrote, even under a tiny bound
  bool any() const { return max_bytes.has_value() || older_than.has_value(); }
};

// One entry as listed (or read): what it must still be for evict() to remove it.
struct PruneCandidate {
  std::filesystem::path path;
  FileIdentity seen;  // its size and mtime are also what the rule judges
};

// The lstat of path as a candidate, or nullopt when it is not there or not a regular file.
std::optional<PruneCandidate> prune_candidate(const std::filesystem::path& path);

// Which of the listed entries the rule evicts: those used before now - older_than, then the least recently used
// (oldest mtime first; ties by name) until the rest total at most max_bytes. Indexes into entries.
std::vector<std::size_t> select_evictions(const std::vector<PruneCandidate>& entries, const PruneRule& rule,
                                          std::chrono::system_clock::time_point now);

enum class Eviction {
  Removed,
  Changed,  // used (touched) or stored anew since the listing: left in place
  Gone,     // removed by someone else since the listing
  Failed,   // *failure says why; nothing of the entry is lost
};

// Removes one listed entry only if it is still the file listed (FileIdentity: device, inode, size and mtime), without
// ever removing a file that a store renamed into its name meanwhile: see the .cpp for why this is a rename to a temp
// name first. The one way draftjit removes an entry it judged (a prune's eviction, a load's damaged entry).
Eviction evict(const PruneCandidate& entry, std::string* failure);

struct PruneResult {
  std::size_t listed = 0;
  std::uintmax_t listed_bytes = 0;
  std::size_t removed = 0;
  std::uintmax_t removed_bytes = 0;
  std::size_t changed = 0;            // kept: changed since they were listed
  std::size_t gone = 0;               // removed by another process since they were listed
  std::uintmax_t kept_bytes = 0;      // of what is left of the listing
  std::vector<std::string> failures;  // "path: why"
};

}  // namespace draftjit::jit
