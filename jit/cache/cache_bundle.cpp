#include "jit/cache/cache_bundle.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <system_error>

#include "jit/cache/cache_file.hpp"
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

std::uint64_t get(const char* in, int bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= std::uint64_t{static_cast<unsigned char>(in[i])} << (8 * i);
  return value;
}

void append(std::vector<char>& out, const char* data, std::size_t size) { out.insert(out.end(), data, data + size); }


struct Checked {
  CacheFile file;
  std::vector<char> cubin;
  std::optional<KernelKey> key;  // of a Valid entry: what it is stored under
};

// An item checked as a load would check its file (decode_entry), its name against the kernel its key is for, and
// its key against this build: Valid, or why not in file.problem.
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
  if (checked.key) {
    if (std::optional<std::string> other = made_by_another_build(checked.key->text)) {
      checked.file.state = FileState::Damaged;  // valid, but no load of this draftjit would ever use it
      checked.file.problem = *other;
      checked.key.reset();
    }
  }
  return checked;
}

// A bundle's bytes read once from the start, from a file or from memory, through a buffer of at most kChunkBytes:
// memory is bounded by the largest entry however many there are. Every byte before the trailer (size - 16, where
// the framing must put it) goes into the checksum as it passes.
class ByteStream {
 public:
  // Fills up to max bytes; 0 at the end of the input. Throws what reading throws.
  using Fill = std::function<std::size_t(char* out, std::size_t max)>;

  ByteStream(std::uint64_t size, Fill fill, std::string source)
      : size_(size),
        summed_(size >= kTrailerBytes ? size - kTrailerBytes : 0),
        sum_(summed_),
        fill_(std::move(fill)),
        source_(std::move(source)) {}

  std::uint64_t size() const { return size_; }
  std::uint64_t offset() const { return offset_; }
  std::uint64_t checksum() const { return sum_.value(); }

  // Exactly n bytes into out (nullptr: passed over); the caller checked that the size holds them.
  void read(char* out, std::uint64_t n) {
    while (n > 0) {
      if (at_ == buffer_.size()) refill();
      const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(n, buffer_.size() - at_));
      const std::string_view piece(buffer_.data() + at_, take);
      if (offset_ < summed_) {
        sum_.feed(piece.substr(0, static_cast<std::size_t>(std::min<std::uint64_t>(take, summed_ - offset_))));
      }
      if (out != nullptr) out = std::copy(piece.begin(), piece.end(), out);
      at_ += take;
      offset_ += take;
      n -= take;
    }
  }

 private:
  static constexpr std::size_t kChunkBytes = 1 << 20;

  void refill() {
    buffer_.resize(static_cast<std::size_t>(std::min<std::uint64_t>(kChunkBytes, size_ - offset_)));
    std::size_t filled = 0;
    while (filled < buffer_.size()) {
      const std::size_t n = fill_(buffer_.data() + filled, buffer_.size() - filled);
      if (n == 0) {
        throw BundleError(fmt::format("bundle {}: it ended at offset {}, before the {} bytes it had when opened: "
                                      "changed while read",
                                      source_, offset_ + filled, size_));
      }
      filled += n;
    }
    at_ = 0;
  }

  std::uint64_t size_;
  std::uint64_t summed_;
  StreamingHash sum_;
  Fill fill_;
  std::string source_;
  std::vector<char> buffer_;
  std::size_t at_ = 0;
  std::uint64_t offset_ = 0;
};

struct EntryHeader {
  std::string which;  // "entry i of n"
  std::uint64_t offset = 0;
  std::uint64_t name_bytes = 0;
  std::uint64_t data_bytes = 0;
};

struct Framing {
  std::uint64_t trailer_offset = 0;
  bool checksum_ok = false;
};

// The one walk over a bundle's framing: header, each entry's header (on_entry reads or passes over its name and
// data, name_bytes + data_bytes, which the framing checked are there), trailer. Throws BundleError naming source
// and the offset where it goes wrong.
Framing walk(ByteStream& in, const std::string& source,
             const std::function<void(const EntryHeader&, ByteStream&)>& on_entry) {
  auto fail = [&](std::uint64_t offset, const std::string& what) {
    return BundleError(fmt::format("bundle {}: {} at offset {}", source, what, offset));
  };
  const std::uint64_t size = in.size();
  if (size < kHeaderBytes) {
    throw fail(size, fmt::format("truncated: {} bytes, shorter than the {}-byte header", size, kHeaderBytes));
  }
  std::array<char, kHeaderBytes> header{};
  in.read(header.data(), header.size());
  if (std::memcmp(header.data(), kMagic.data(), kMagic.size()) != 0) throw fail(0, "not a draftjit bundle: no magic");
  if (const std::uint64_t version = get(header.data() + 8, 4); version != kFormatVersion) {
    throw fail(8, fmt::format("format version {} (this draftjit reads {})", version, kFormatVersion));
  }
  if (const std::uint64_t flags = get(header.data() + 12, 4); flags != 0) {
    throw fail(12, fmt::format("unknown flags {}", flags));
  }
  const std::uint64_t count = get(header.data() + 16, 8);
  for (std::uint64_t i = 0; i < count; ++i) {
    EntryHeader entry;
    entry.which = fmt::format("entry {} of {}", i + 1, count);
    entry.offset = in.offset();
    const std::uint64_t at = entry.offset;
    if (size - at < kEntryHeaderBytes) {
      throw fail(size, fmt::format("truncated: {} starts at offset {} and needs a {}-byte header", entry.which, at,
                                   kEntryHeaderBytes));
    }
    std::array<char, kEntryHeaderBytes> bytes{};
    in.read(bytes.data(), bytes.size());
    entry.name_bytes = get(bytes.data(), 4);
    entry.data_bytes = get(bytes.data() + 8, 8);
    if (entry.name_bytes == 0 || entry.name_bytes > kMaxNameBytes) {
      throw fail(at, fmt::format("{}: a name of {} bytes (1-{})", entry.which, entry.name_bytes, kMaxNameBytes));
    }
    if (get(bytes.data() + 4, 4) != 0) throw fail(at + 4, entry.which + ": a reserved field is not 0");
    if (entry.data_bytes > kMaxEntryBytes) {
      throw fail(at + 8, fmt::format("{}: {} bytes, more than any entry ({})", entry.which, entry.data_bytes,
                                     kMaxEntryBytes));
    }
    const std::uint64_t body = at + kEntryHeaderBytes;
    if (size - body < entry.name_bytes + entry.data_bytes) {
      throw fail(size, fmt::format("truncated: {} at offset {} needs {} bytes after its header, {} are left",
                                   entry.which, at, entry.name_bytes + entry.data_bytes, size - body));
    }
    on_entry(entry, in);
  }
  const std::uint64_t at = in.offset();
  if (size - at < kTrailerBytes) {
    throw fail(size, fmt::format("truncated: the {}-byte trailer after {} entries starts at offset {}", kTrailerBytes,
                                 count, at));
  }
  std::array<char, kTrailerBytes> trailer{};
  in.read(trailer.data(), trailer.size());
  if (std::memcmp(trailer.data(), kTrailerMagic.data(), kTrailerMagic.size()) != 0) {
    throw fail(at, fmt::format("no trailer after {} entries: damaged, or more entries than its header says", count));
  }
  if (size - at > kTrailerBytes) {
    throw fail(at + kTrailerBytes, fmt::format("{} bytes after the trailer", size - at - kTrailerBytes));
  }
  // The trailer is at size - 16 here, so the stream summed exactly the bytes before it.
  return {at, get(trailer.data() + 8, 8) == in.checksum()};
}

// An entry's name and data, read from the stream.
BundleItem read_item(const EntryHeader& entry, ByteStream& in) {
  BundleItem item;
  item.offset = entry.offset;
  item.name.resize(static_cast<std::size_t>(entry.name_bytes));
  in.read(item.name.data(), entry.name_bytes);
  item.data.resize(static_cast<std::size_t>(entry.data_bytes));
  in.read(item.data.data(), entry.data_bytes);
  return item;
}

void pass_over(const EntryHeader& entry, ByteStream& in) { in.read(nullptr, entry.name_bytes + entry.data_bytes); }

// A stream over a file from its start, read with pread: each pass over the file is a stream of its own.
ByteStream file_stream(int fd, std::uint64_t size, const fs::path& file) {
  auto offset = std::make_shared<std::uint64_t>(0);
  return ByteStream(
      size,
      [fd, offset, file](char* out, std::size_t max) -> std::size_t {
        while (true) {
          const ssize_t n = ::pread(fd, out, max, static_cast<off_t>(*offset));
          if (n < 0 && errno == EINTR) continue;
          if (n < 0) throw std::system_error(errno, std::generic_category(), "cannot read bundle " + file.string());
          *offset += static_cast<std::uint64_t>(n);
          return static_cast<std::size_t>(n);
        }
      },
      file.string());
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
  std::size_t at = 0;
  ByteStream in(
      bytes.size(),
      [&](char* out, std::size_t max) {
        const std::size_t n = std::min(max, bytes.size() - at);
        std::copy_n(bytes.data() + at, n, out);
        at += n;
        return n;
      },
      source);
  DecodedBundle bundle;
  const Framing framing =
      walk(in, source, [&](const EntryHeader& entry, ByteStream& s) { bundle.items.push_back(read_item(entry, s)); });
  bundle.checksum_ok = framing.checksum_ok;
  bundle.trailer_offset = framing.trailer_offset;
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

ImportSummary import_bundle(DiskCache& cache, const fs::path& file,
                            const std::function<void(const ImportItem&)>& on_item) {
  if (cache.writable() == nullptr) throw std::runtime_error("no writable cache directory to import into");
  std::uint64_t size = 0;
  const int fd = open_regular_file(file, kMaxBundleBytes, "bundle", size);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  const std::string source = file.string();

  // First the framing and the checksum, passing over every entry's bytes: nothing is decoded or stored from a
  // damaged bundle, and nothing of it is held but one buffer.
  ByteStream first = file_stream(fd, size, file);
  const Framing framing = walk(first, source, pass_over);
  if (!framing.checksum_ok) {
    // The entries' own checksums say where the damage is, when it is in one: found in a second pass, one at a time.
    std::string where = "the damage is outside the entries' data (names or headers)";
    bool found = false;
    ByteStream again = file_stream(fd, size, file);
    std::size_t index = 0;
    walk(again, source, [&](const EntryHeader& entry, ByteStream& in) {
      ++index;
      if (found) return pass_over(entry, in);
      const BundleItem item = read_item(entry, in);
      const Checked checked = check_item(item);
      if (checked.file.state == FileState::Valid) return;
      found = true;
      where = fmt::format("entry {} ({}) at offset {} is damaged: {}", index, shown(item.name), item.offset,
                          checked.file.problem);
    });
    throw BundleError(
        fmt::format("bundle {}: checksum mismatch over the {} bytes before the trailer (at offset {}): {}; nothing "
                    "imported",
                    source, framing.trailer_offset, framing.trailer_offset, where));
  }

  // Then entry by entry: read, checked as a load would, stored.
  ImportSummary summary;
  ByteStream second = file_stream(fd, size, file);
  const Framing again = walk(second, source, [&](const EntryHeader& entry, ByteStream& in) {
    const BundleItem item = read_item(entry, in);
    const Checked checked = check_item(item);
    ImportItem out{item.name, false, {}};
    ++summary.entries;
    if (checked.file.state != FileState::Valid) {
      out.why = fmt::format("entry {} at offset {}: {}", summary.entries, item.offset, checked.file.problem);
    } else {
      out.imported = cache.store(*checked.key, checked.cubin);
      if (!out.imported) out.why = "the cache directory refused it (the warning above says why)";
    }
    summary.imported += out.imported;
    if (on_item) on_item(out);
  });
  if (!again.checksum_ok) {
    // Each entry stored was checked on its own (its checksum, its name against its key), so what was stored is
    // sound; the bundle as a whole is not what the first pass checked.
    throw BundleError(fmt::format("bundle {}: it changed while it was imported (its checksum no longer matches); "
                                  "{} of {} entries were stored, each checked on its own",
                                  source, summary.imported, summary.entries));
  }
  return summary;
}

std::vector<ImportItem> import_bundle(DiskCache& cache, const fs::path& file) {
  std::vector<ImportItem> items;
  (void)import_bundle(cache, file, [&](const ImportItem& item) { items.push_back(item); });
  return items;
}

}  // namespace draftjit::jit
