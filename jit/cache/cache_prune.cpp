#include "jit/cache/cache_prune.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>

#include "jit/cache/cache_file.hpp"
#include "jit/environment.hpp"
#include "jit/errno_text.hpp"
#include "jit/cache/file_time.hpp"
#include "jit/outside_text.hpp"

namespace draftjit::jit {
namespace fs = std::filesystem;
namespace {

// The number at the start of text and what follows it; nullopt when there is no number or it does not fit.
std::optional<std::pair<std::uint64_t, std::string_view>> leading_number(std::string_view text, bool& too_large) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  too_large = error == std::errc::result_out_of_range;
  if (error != std::errc()) return std::nullopt;
  return std::pair{value, text.substr(static_cast<std::size_t>(end - text.data()))};
}

// The power of two a size's unit stands for: none or B, then K, M, G, T alone or with B or iB, in any case. KB is
// 1024 as KiB is: a cache bound is no place for the difference, and a user writing 2GB wants it accepted.
std::optional<unsigned> unit_shift(std::string_view unit) {
  const auto lower = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
  if (unit.empty() || (unit.size() == 1 && lower(unit[0]) == 'b')) return 0U;
  constexpr std::string_view kPrefixes = "kmgt";
  const std::size_t prefix = kPrefixes.find(lower(unit[0]));
  std::string rest;
  for (const char c : unit.substr(1)) rest += lower(c);
  if (prefix == std::string_view::npos || (!rest.empty() && rest != "b" && rest != "ib")) return std::nullopt;
  return static_cast<unsigned>(10 * (prefix + 1));
}

std::chrono::system_clock::time_point used_at(const FileIdentity& file) {
  return file_time(file.mtime_sec, file.mtime_nsec);
}

// Still the file that was listed, as it was then (see FileIdentity).
bool still_listed(const PruneCandidate& listed, const struct stat& now) {
  return S_ISREG(now.st_mode) && identity_of(now) == listed.seen;
}

// Puts a file the prune moved aside back under its entry's name, never replacing what is there now: that can only be
// a newer store of the same key (then ours is superseded and goes), or something in the way that draftjit does not
// own. rename(2) would replace it; renameat2's RENAME_NOREPLACE, or link(2) where a filesystem lacks that, do not;
// where neither works (FUSE, vfat: no hard links), a rename after checking that the name is free, whose window only
// loses the newer store to ours, the same key's. What was moved aside is removed only when it is draftjit's (a temp
// name's file starting like an entry): a file that took the entry's place after the listing stays where it is.
// Returns 0 or errno.
int put_back(const fs::path& temp, const fs::path& entry) {
  int error = ::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, entry.c_str(), RENAME_NOREPLACE) == 0 ? 0 : errno;
  if (error == EINVAL || error == ENOSYS) {  // no RENAME_NOREPLACE here: link fails with EEXIST in the same case
    error = ::link(temp.c_str(), entry.c_str()) == 0 ? 0 : errno;
    if (error == 0) ::unlink(temp.c_str());
  }
  if (error == EPERM || error == EOPNOTSUPP) {
    struct stat there {};
    error = ::lstat(entry.c_str(), &there) == 0 ? EEXIST : ::rename(temp.c_str(), entry.c_str()) == 0 ? 0 : errno;
  }
  if (error == EEXIST) {
    if (classify(temp).kind != FileKind::Temp) return EEXIST;
    error = ::unlink(temp.c_str()) == 0 ? 0 : errno;
  }
  return error;
}

}  // namespace

std::uint64_t parse_byte_size(std::string_view text, std::string_view what) {
  bool too_large = false;
  const auto parsed = leading_number(text, too_large);
  const std::optional<unsigned> shift = parsed ? unit_shift(parsed->second) : std::nullopt;
  if (!too_large && !shift) {
    throw std::invalid_argument(fmt::format(
        "{}: '{}' is not a size in bytes (a number, optionally with a unit: B, K, M, G or T, KB or KiB...: 512M, 2GB)",
        what, text));
  }
  if (too_large || parsed->first > (std::numeric_limits<std::uint64_t>::max() >> *shift)) {
    throw std::invalid_argument(fmt::format("{}: '{}' is too large", what, text));
  }
  return parsed->first << *shift;
}

std::chrono::seconds parse_age(std::string_view text, std::string_view what) {
  bool too_large = false;
  const auto parsed = leading_number(text, too_large);
  std::int64_t unit = 0;
  if (parsed && parsed->second.size() == 1) {
    const char c = parsed->second[0];
    unit = c == 's' ? 1 : c == 'm' ? 60 : c == 'h' ? 3600 : c == 'd' ? 86400 : 0;
  }
  if (!too_large && unit == 0) {
    throw std::invalid_argument(
        fmt::format("{}: '{}' is not an age (a number and s, m, h or d: 30m, 12h, 7d)", what, text));
  }
  // A century is far past any cache's life; the bound keeps now - age representable.
  constexpr std::int64_t kMaxSeconds = 100LL * 366 * 86400;
  if (too_large || parsed->first > static_cast<std::uint64_t>(kMaxSeconds / unit)) {
    throw std::invalid_argument(fmt::format("{}: '{}' is too large (at most 36600d)", what, text));
  }
  return std::chrono::seconds(static_cast<std::int64_t>(parsed->first) * unit);
}

std::optional<std::uint64_t> cache_bound_from_env() { return env_size("DRAFTJIT_CACHE_MAX_BYTES"); }

std::optional<PruneCandidate> prune_candidate(const fs::path& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return std::nullopt;
  return PruneCandidate{path, identity_of(info)};
}

std::vector<std::size_t> select_evictions(const std::vector<PruneCandidate>& entries, const PruneRule& rule,
                                          std::chrono::system_clock::time_point now) {
  std::vector<std::size_t> order(entries.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto used = [&](std::size_t i) { return used_at(entries[i].seen); };
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return used(a) != used(b) ? used(a) < used(b) : entries[a].path < entries[b].path;
  });
  std::uintmax_t total = 0;
  for (const PruneCandidate& entry : entries) total += entry.seen.bytes;
  std::vector<std::size_t> doomed;
  for (const std::size_t i : order) {  // least recently used first, so each rule takes a prefix of the order
    if (!rule.keep.empty() && entries[i].path == rule.keep) continue;
    const bool too_old = rule.older_than && used(i) < now - *rule.older_than;
    const bool over = rule.max_bytes && total > *rule.max_bytes;
    if (!too_old && !over) continue;
    doomed.push_back(i);
    total -= entries[i].seen.bytes;
  }
  return doomed;
}

// Why not unlink(entry) after checking it by its name: between that check and the unlink, a store of the same key may
// rename its new entry into the name, and the unlink would remove it after the store reported it stored. A rename is
// atomic: once the listed name is moved to a temp name of our own, nobody else writes there, so the check and the
// unlink of the temp name cannot race. What turns out not to be the listed file (a store since the listing, or an
// entry a load touched) is put back. Meanwhile a load of that key misses and compiles; a load that had opened the
// file reads it whole (unlink keeps an open file). An evict killed between the rename and the put-back leaves a temp
// file, which the warmup sweep removes after kStaleTempAge.
Eviction evict(const PruneCandidate& entry, std::string* failure) {
  auto fail = [&](std::string why) {
    *failure = fmt::format("{}: {}", escaped(entry.path.string()), why);  // a name read from a directory
    return Eviction::Failed;
  };
  struct stat now {};
  if (!entry_name_hash(entry.path.filename().string())) {
    // An entry renamed by hand (classify: *.cubin with the magic): no store writes to a name that carries no key
    // hash, so nothing can be renamed into its place, and the check-then-unlink is enough.
    if (::lstat(entry.path.c_str(), &now) != 0) return Eviction::Gone;
    if (!still_listed(entry, now)) return Eviction::Changed;
    if (::unlink(entry.path.c_str()) == 0) return Eviction::Removed;
    return errno == ENOENT ? Eviction::Gone : fail(errno_text(errno));
  }
  const fs::path temp = temp_path_for(entry.path);
  if (::rename(entry.path.c_str(), temp.c_str()) != 0) {
    return errno == ENOENT ? Eviction::Gone : fail(errno_text(errno));
  }
  // Under its temp name an old entry looks like a dead writer's temp file to a concurrent sweep, which may remove it:
  // only the listed file can be that old (a store or a touch since the listing is new), so it is gone as wanted.
  if (::lstat(temp.c_str(), &now) != 0) {
    return errno == ENOENT ? Eviction::Removed
                           : fail(fmt::format("moved to {}, then: {}", escaped(temp.string()), errno_text(errno)));
  }
  int unlink_error = 0;
  if (still_listed(entry, now)) {
    if (::unlink(temp.c_str()) == 0 || errno == ENOENT) return Eviction::Removed;  // ENOENT: a sweep, as above
    unlink_error = errno;  // kept, so it goes back
  }
  if (const int error = put_back(temp, entry.path); error != 0) {
    return fail(fmt::format("moved to {} and cannot be put back ({}); a sweep removes it there if it is draftjit's",
                            escaped(temp.string()), errno_text(error)));
  }
  return unlink_error != 0 ? fail(fmt::format("cannot remove it: {}", errno_text(unlink_error))) : Eviction::Changed;
}

}  // namespace draftjit::jit
