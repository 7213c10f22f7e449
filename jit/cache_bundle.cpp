#include "jit/cache_bundle.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>
#include <system_error>

#include "jit/cache_file.hpp"
#include "jit/hash.hpp"
#include "jit/kernel_key.hpp"
#include "jit/output_file.hpp"
#include "jit/outside_text.hpp"

namespace draftjit::jit {
namespace fs = std::filesystem;
namespace {

constexpr std::array<char, 8> kMagic = {'D', 'J', 'B', 'U', 'N', 'D', 'L', 'E'};
constexpr std::array<char, 8> kTrailerMagic = {'D', 'J', 'B', 'E', 'N', 'D', '\0', '\0'};
constexpr std::uint32_t kFormatVersion = 1;
constexpr std::size_t kHeaderBytes = 24;
constexpr std::size_t kEntryHeaderBytes = 16;
constexpr std::size_t kTrailerBytes = 16;
constexpr std::uint32_t kMaxNameBytes = 255;  // NAME_MAX: an entry's name is one file name
// A whole cache of every kernel of bs 1..kMaxBs for a few archs is tens of MiB: a larger file is not a bundle of ours,
// and is refused before it is read into memory.
constexpr std::uintmax_t kMaxBundleBytes = std::uintmax_t{1} << 30;

void put(std::vector<char>& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

std::uint64_t get(const std::vector<char>& in, std::size_t at, int bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= std::uint64_t{static_cast<unsigned char>(in[at + i])} << (8 * i);
  return value;
}

void append(std::vector<char>& out, const char* data, std::size_t size) { out.insert(out.end(), data, data + size); }


struct Checked {
  CacheFile file;
  std::vector<char> cubin;
  std::optional<KernelKey> key;  // of a Valid entry: what it is stored under
};

// An item checked as a load would check its file (decode_entry), and its name against the kernel its key is for:
// Valid, or why not in file.problem.
Checked check_item(const BundleItem& item) {
  const std::string_view name = item.name;
  if (name.find('/') != name.npos || name.find('\0') != name.npos || !entry_name_hash(name)) {
    return {CacheFile{item.name, FileState::Damaged, "not an entry's file name (<spec>.<arch>-<16 hex digits>.cubin)",
                      {}, 0, {}},
            {},
            std::nullopt};
  }
  Checked checked;
  checked.file = decode_entry(name, item.data, &checked.cubin);
  checked.key = check_named_for_its_key(checked.file, name);  // else it would be stored where no load looks
  return checked;
}

}  // namespace

std::vector<char> encode_bundle(const std::vector<BundleItem>& items) {
  std::vector<char> out;
  append(out, kMagic.data(), kMagic.size());
  put(out, kFormatVersion, 4);
  put(out, 0, 4);
  put(out, items.size(), 8);
  for (const BundleItem& item : items) {
    put(out, item.name.size(), 4);
    put(out, 0, 4);
    put(out, item.data.size(), 8);
    append(out, item.name.data(), item.name.size());
    append(out, item.data.data(), item.data.size());
  }
  const std::uint64_t sum = hash_bytes(std::string_view(out.data(), out.size()));
  append(out, kTrailerMagic.data(), kTrailerMagic.size());
  put(out, sum, 8);
  return out;
}

DecodedBundle decode_bundle(const std::vector<char>& bytes, const std::string& source) {
  auto fail = [&](std::uint64_t offset, const std::string& what) {
    return BundleError(fmt::format("bundle {}: {} at offset {}", source, what, offset));
  };
  const std::size_t size = bytes.size();
  if (size < kHeaderBytes) {
    throw fail(size, fmt::format("truncated: {} bytes, shorter than the {}-byte header", size, kHeaderBytes));
  }
  if (std::memcmp(bytes.data(), kMagic.data(), kMagic.size()) != 0) throw fail(0, "not a draftjit bundle: no magic");
  if (const std::uint64_t version = get(bytes, 8, 4); version != kFormatVersion) {
    throw fail(8, fmt::format("format version {} (this draftjit reads {})", version, kFormatVersion));
  }
  if (const std::uint64_t flags = get(bytes, 12, 4); flags != 0) throw fail(12, fmt::format("unknown flags {}", flags));
  const std::uint64_t count = get(bytes, 16, 8);
  DecodedBundle bundle;
  std::size_t at = kHeaderBytes;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::string which = fmt::format("entry {} of {}", i + 1, count);
    if (size - at < kEntryHeaderBytes) {
      throw fail(size, fmt::format("truncated: {} starts at offset {} and needs a {}-byte header", which, at,
                                   kEntryHeaderBytes));
    }
    const std::uint64_t name_bytes = get(bytes, at, 4);
    const std::uint64_t data_bytes = get(bytes, at + 8, 8);
    if (name_bytes == 0 || name_bytes > kMaxNameBytes) {
      throw fail(at, fmt::format("{}: a name of {} bytes (1-{})", which, name_bytes, kMaxNameBytes));
    }
    if (get(bytes, at + 4, 4) != 0) throw fail(at + 4, which + ": a reserved field is not 0");
    if (data_bytes > kMaxEntryBytes) {
      throw fail(at + 8, fmt::format("{}: {} bytes, more than any entry ({})", which, data_bytes, kMaxEntryBytes));
    }
    const std::size_t body = at + kEntryHeaderBytes;
    if (size - body < name_bytes + data_bytes) {
      throw fail(size, fmt::format("truncated: {} at offset {} needs {} bytes after its header, {} are left", which, at,
                                   name_bytes + data_bytes, size - body));
    }
    BundleItem item;
    item.name.assign(bytes.data() + body, name_bytes);
    item.data.assign(bytes.data() + body + name_bytes, bytes.data() + body + name_bytes + data_bytes);
    item.offset = at;
    bundle.items.push_back(std::move(item));
    at = body + name_bytes + data_bytes;
  }
  if (size - at < kTrailerBytes) {
    throw fail(size, fmt::format("truncated: the {}-byte trailer after {} entries starts at offset {}", kTrailerBytes,
                                 count, at));
  }
  if (std::memcmp(bytes.data() + at, kTrailerMagic.data(), kTrailerMagic.size()) != 0) {
    throw fail(at, fmt::format("no trailer after {} entries: damaged, or more entries than its header says", count));
  }
  if (size - at > kTrailerBytes) {
    throw fail(at + kTrailerBytes, fmt::format("{} bytes after the trailer", size - at - kTrailerBytes));
  }
  bundle.checksum_ok = get(bytes, at + 8, 8) == hash_bytes(std::string_view(bytes.data(), at));
  bundle.trailer_offset = at;
  return bundle;
}

ExportResult export_bundle(const DiskCache& cache, const fs::path& file,
                           const std::optional<std::set<std::string>>& only_stems) {
  ExportResult result;
  std::vector<BundleItem> items;
  std::set<std::string> taken;  // names: the first layer's entry is the one a load uses
  for (const DiskCache::Entry& entry : cache.list().entries) {
    if (entry.temp) continue;
    const std::string name = entry.file.path.filename().string();
    const std::string stem = name.substr(0, name.size() - std::min(name.size(), kEntrySuffix.size()));
    if (only_stems && only_stems->count(stem) == 0) continue;
    std::vector<char> cubin;
    // Read again for its bytes: it may have changed since the listing, and what is exported is what was checked.
    const CacheFile read = entry.file.state == FileState::Valid ? read_cache_file(entry.file.path, &cubin) : entry.file;
    if (read.state != FileState::Valid) {
      result.invalid += read.state != FileState::Missing;
      continue;
    }
    if (!taken.insert(name).second) continue;
    items.push_back({name, encode_entry(read.key, cubin)});
  }
  if (only_stems) {
    for (const std::string& stem : *only_stems) {
      if (taken.count(stem + std::string(kEntrySuffix)) == 0) result.missing.push_back(stem);
    }
  }
  const std::vector<char> bytes = encode_bundle(items);
  write_output_file(file, bytes, "bundle");
  result.exported = items.size();
  result.bytes = bytes.size();
  return result;
}

std::vector<ImportItem> import_bundle(DiskCache& cache, const fs::path& file) {
  if (cache.writable() == nullptr) throw std::runtime_error("no writable cache directory to import into");
  const DecodedBundle bundle = decode_bundle(read_regular_file(file, kMaxBundleBytes, "bundle"), file.string());
  std::vector<Checked> checked;
  checked.reserve(bundle.items.size());
  for (const BundleItem& item : bundle.items) checked.push_back(check_item(item));
  if (!bundle.checksum_ok) {
    // Nothing is stored from a damaged bundle; the entries' own checksums say where the damage is, when it is in one.
    std::string where = "the damage is outside the entries' data (names or headers)";
    for (std::size_t i = 0; i < checked.size(); ++i) {
      if (checked[i].file.state != FileState::Valid) {
        where = fmt::format("entry {} ({}) at offset {} is damaged: {}", i + 1, shown(bundle.items[i].name),
                            bundle.items[i].offset, checked[i].file.problem);
        break;
      }
    }
    throw BundleError(
        fmt::format("bundle {}: checksum mismatch over the {} bytes before the trailer (at offset {}): {}; nothing "
                    "imported",
                    file.string(), bundle.trailer_offset, bundle.trailer_offset, where));
  }
  std::vector<ImportItem> report;
  for (std::size_t i = 0; i < checked.size(); ++i) {
    const BundleItem& item = bundle.items[i];
    Checked& entry = checked[i];
    ImportItem& out = report.emplace_back(ImportItem{item.name, false, {}});
    if (entry.file.state != FileState::Valid) {
      out.why = fmt::format("entry {} at offset {}: {}", i + 1, item.offset, entry.file.problem);
      continue;
    }
    out.imported = cache.store(*entry.key, entry.cubin);
    if (!out.imported) out.why = "the cache directory refused it (the warning above says why)";
  }
  return report;
}

}  // namespace draftjit::jit
