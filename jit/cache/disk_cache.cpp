#include "jit/cache/disk_cache.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "jit/errno_text.hpp"
#include "jit/cache/file_time.hpp"
#include "jit/kernel_key.hpp"
#include "jit/log.hpp"
#include "jit/outside_text.hpp"

namespace draftjit::jit {
namespace fs = std::filesystem;
namespace {

// Longer than any compile, so waiting for another process's compile normally ends with its entry on disk.
constexpr std::chrono::seconds kMaxLockWait{30};

// Calls visit(path, classify(path)) for every name in dir; a directory that does not exist has none. Throws
// std::system_error naming dir when it exists but cannot be read (ENOTDIR, EACCES...).
template <typename Visit>
void for_each_file(const fs::path& dir, Visit visit) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec == std::errc::no_such_file_or_directory) return;
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) visit(it->path(), classify(it->path()));
  if (ec) throw std::system_error(ec, "cannot read cache directory " + dir.string());
}

bool is_stale(const Classified& temp) { return fs::file_time_type::clock::now() - temp.modified > kStaleTempAge; }

// 0 when the process may look up names in dir, else why not (EACCES): then every entry in it fails the same way,
// and that is one fact about the directory, not one per kernel.
int search_error(const fs::path& dir) { return ::faccessat(AT_FDCWD, dir.c_str(), X_OK, AT_EACCESS) == 0 ? 0 : errno; }

}  // namespace

DiskCache::DiskCache(const CacheLocation& location, WarningSink warn) : warn_(std::move(warn)) {
  if (location.writable) layers_.push_back({*location.writable, true});
  for (const fs::path& dir : location.read_only) layers_.push_back({dir, false});
  if (writable() != nullptr) max_bytes_ = cache_bound_from_env();
}

DiskCache::DiskCache(fs::path writable_dir, WarningSink warn)
    : DiskCache(CacheLocation{std::move(writable_dir), {}, {}}, std::move(warn)) {}

const DiskCache::Layer* DiskCache::writable() const {
  return !layers_.empty() && layers_[0].writable ? &layers_[0] : nullptr;
}

fs::path DiskCache::path_for(const KernelKey& key) const {
  return writable()->dir / (key.stem + std::string(kEntrySuffix));
}

std::optional<std::vector<char>> DiskCache::load(const KernelKey& key, std::size_t* layer_index) const {
  for (const Layer& layer : layers_) {
    const fs::path path = layer.dir / (key.stem + std::string(kEntrySuffix));
    const Classified found = classify(path);
    if (found.kind == FileKind::Missing) continue;
    if (found.kind == FileKind::InTheWay) {  // the only other kind an entry's name can have
      warn(fmt::format("cannot use cache file {}: not a regular file ({}); left in place, never followed or read, "
                       "compiling instead",
                       path.string(), found.what));
      continue;
    }
    std::vector<char> cubin;
    CacheFile file = read_cache_file(path, &cubin);  // itself never follows: the file may have changed since
    if (file.state == FileState::Missing) continue;
    if (file.state == FileState::Valid) {
      if (file.key == key.text) {
        if (layer.writable) touch_once(key.stem, path);
        if (layer_index != nullptr) *layer_index = static_cast<std::size_t>(&layer - layers_.data());
        return cubin;
      }
      // The name carries this key's hash, the text is another's: a 64-bit collision, or a file crafted to look so.
      file.state = FileState::Damaged;
      file.problem = fmt::format("it holds another key ({})", shown(file.key));
    }
    const int dir_error = file.state == FileState::Unreadable ? search_error(layer.dir) : 0;
    if (dir_error != 0) {
      warn(fmt::format("cannot read cache directory {}: {}; its entries are not used, compiling instead",
                       layer.dir.string(), errno_text(dir_error)));
    } else if (file.state == FileState::Unreadable || file.state == FileState::NotRegular) {
      warn(fmt::format("cannot use cache file {}: {}; left in place, compiling instead", path.string(), file.problem));
    } else if (!layer.writable) {
      warn(fmt::format("skipping {} in the read-only cache layer: {}", path.string(), file.problem));
    } else {
      // A regular file under an entry's exact name is ours by that name, whatever is left of its header. Removed as
      // a prune evicts (only the file that was read, never a valid entry another process stored since); a removal
      // that fails leaves it for the store after the compile to replace.
      warn(fmt::format("ignoring cache file {}: {}; it will be rebuilt", path.string(), file.problem));
      std::string failure;
      (void)evict(PruneCandidate{path, file.identity}, &failure);
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
  if (const Classified found = classify(entry); found.kind == FileKind::InTheWay) {
    warn(fmt::format("not storing {}: something that is not a regular file ({}) is in its place", entry.string(),
                     found.what));
    return false;
  }
  const std::vector<char> bytes = encode_entry(key.text, cubin);
  const AtomicWrite written = write_atomically(entry, bytes);
  if (written.failed == AtomicWrite::Failed::Create) {
    warn(fmt::format("cannot write to cache directory {}: {}; kernels stay in memory only", dir.string(),
                     errno_text(written.error)));
    return false;
  }
  if (written.failed == AtomicWrite::Failed::Write) {
    warn(fmt::format("cannot write cache files in {}: {}; kernels stay in memory only", dir.string(),
                     errno_text(written.error)));
    return false;
  }
  if (written.failed == AtomicWrite::Failed::Rename) {
    warn(fmt::format("cannot store {}: {}; this kernel stays in memory only", entry.string(),
                     errno_text(written.error)));
    return false;
  }
  enforce_bound(bytes.size(), entry);
  return true;
}

void DiskCache::touch_once(const std::string& stem, const fs::path& path) const {
  {
    std::lock_guard lock(touched_mutex_);
    if (!touched_.insert(stem).second) return;
  }
  // Best effort, never followed: a file replaced since it was read gets the touch instead (it is as new), and one we
  // may read but not change (another user's) keeps its mtime and is evicted earlier than its use says.
  (void)::utimensat(AT_FDCWD, path.c_str(), nullptr, AT_SYMLINK_NOFOLLOW);
}

void DiskCache::enforce_bound(std::uintmax_t stored, const fs::path& stored_entry) {
  if (!max_bytes_) return;
  std::lock_guard lock(bound_mutex_);
  stored_since_prune_ += stored;
  // Other processes' stores are not counted here: each process prunes on its own, so between prunes the directory
  // can exceed the bound by what the others stored since theirs.
  if (known_bytes_ && *known_bytes_ + stored_since_prune_ <= *max_bytes_) return;
  const auto low_water = static_cast<std::uint64_t>(static_cast<double>(*max_bytes_) * kLowWater);
  try {
    const PruneResult result = prune({low_water, std::nullopt, stored_entry});
    for (const std::string& failure : result.failures) warn("cannot evict " + failure);
    known_bytes_ = result.kept_bytes;
    stored_since_prune_ = 0;
    evicted_entries_ += result.removed;
    evicted_bytes_ += result.removed_bytes;
  } catch (const std::exception& e) {  // the store itself succeeded
    warn(fmt::format("cannot bound the disk cache: {}", e.what()));
  }
}

DiskCache::Evicted DiskCache::evicted_by_bound() const {
  return {evicted_entries_.load(std::memory_order_relaxed), evicted_bytes_.load(std::memory_order_relaxed)};
}

PruneResult DiskCache::prune(const PruneRule& rule) const {
  PruneResult result;
  if (writable() == nullptr || !rule.any()) return result;
  std::vector<PruneCandidate> entries;
  for_each_file(writable()->dir, [&](const fs::path& path, const Classified& found) {
    // Entries only: a temp file may have a writer on it, and the rest is not draftjit's or not a regular file.
    if (found.kind != FileKind::Entry) return;
    if (std::optional<PruneCandidate> entry = prune_candidate(path)) entries.push_back(std::move(*entry));
  });
  result.listed = entries.size();
  for (const PruneCandidate& entry : entries) result.listed_bytes += entry.seen.bytes;
  std::uintmax_t gone_bytes = 0;
  const auto now = std::chrono::system_clock::now();
  for (const std::size_t i : select_evictions(entries, rule, now)) {
    const PruneCandidate& entry = entries[i];
    std::string failure;
    switch (evict(entry, &failure)) {
      case Eviction::Removed: {
        ++result.removed;
        result.removed_bytes += entry.seen.bytes;
        const auto unused = std::chrono::duration_cast<std::chrono::seconds>(
            now - file_time(entry.seen.mtime_sec, 0));
        log_event(LogLevel::Info, "evict", fmt::format("{} ({} bytes, last used {}s ago)", entry.path.string(),
                                                       entry.seen.bytes, unused.count()));
        break;
      }
      case Eviction::Changed:
        ++result.changed;
        break;
      case Eviction::Gone:
        ++result.gone;
        gone_bytes += entry.seen.bytes;
        break;
      case Eviction::Failed:
        result.failures.push_back(std::move(failure));
        break;
    }
  }
  result.kept_bytes = result.listed_bytes - result.removed_bytes - gone_bytes;
  return result;
}

std::unique_ptr<KeyLock> DiskCache::lock(const KernelKey& key) const {
  if (writable() == nullptr) return nullptr;
  return std::make_unique<KeyLock>(writable()->dir, key.hash, kMaxLockWait, key.stem,
                                   [this](const std::string& message) { warn(message); });
}

DiskCache::Listing DiskCache::list() const {
  Listing listing;
  for (std::size_t layer = 0; layer < layers_.size(); ++layer) {
    for_each_file(layers_[layer].dir, [&](const fs::path& path, const Classified& found) {
      Entry entry{CacheFile{path, FileState::Valid, {}, {}, 0, {}}, layer, false, found.bytes, found.modified};
      switch (found.kind) {
        case FileKind::Missing:  // removed since the directory was read
        case FileKind::Locks:
          return;
        case FileKind::Foreign:
          ++listing.others;
          return;
        case FileKind::Temp:  // never checked: a writer may still be on it
          entry.temp = true;
          break;
        case FileKind::InTheWay:
          entry.file.state = FileState::NotRegular;
          entry.file.problem = fmt::format("not a regular file ({}): never followed or removed by draftjit, and "
                                           "blocks this kernel's entry; remove it by hand",
                                           found.what);
          break;
        case FileKind::Entry:
          entry.file = read_cache_file(path);
          check_named_for_its_key(entry.file, path.filename().string());
          break;
      }
      listing.entries.push_back(std::move(entry));
    });
  }
  return listing;
}

DiskCache::Removal DiskCache::remove(bool entries) const {
  Removal removal;
  if (writable() == nullptr) return removal;
  for_each_file(writable()->dir, [&](const fs::path& path, const Classified& found) {
    if (entries && found.kind == FileKind::InTheWay) removal.left.push_back(escaped(path.string()) + ": " + found.what);
    // Every entry, whatever its content: each is ours by its name or its magic, and unlinking reads nothing.
    const bool doomed = found.kind == FileKind::Temp ? is_stale(found) : entries && found.kind == FileKind::Entry;
    if (!doomed) return;
    std::error_code ec;
    if (fs::remove(path, ec)) {
      ++removal.removed;
    } else if (ec) {
      removal.failures.push_back(fmt::format("{}: {}", escaped(path.string()), ec.message()));
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
