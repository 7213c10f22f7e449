#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "jit/cache/disk_cache.hpp"

namespace draftjit::jit {

// A portable bundle of cache entries (`draftjit cache export` / `import`): how a fleet bakes one warm cache into its
// images. Keys hold no machine paths (make_key: versions, digest, arch, spec, NVRTC options), so an entry is as good
// on any machine with the same draftjit and NVRTC. All integers little-endian:
//
//   header   "DJBUNDLE"  u32 format version (1)  u32 flags (0)  u64 entry count                        24 bytes
//   entry    u32 name bytes (1-255)  u32 0  u64 data bytes (<= kMaxEntryBytes)  name  data             per entry
//   trailer  "DJBEND\0\0"  u64 hash_bytes of every byte before the trailer                            16 bytes
//
// An entry's data is its cache file's bytes, which keep their own header and checksum (jit/cache/cache_file), and its
// name is that file's name: import checks both with decode_entry, the checks a load applies, and the name against the
// kernel its key is for (key_of_text).

// What is wrong with a bundle as a whole (too short, not one, damaged): names the file and the offset.
class BundleError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct BundleItem {
  std::string name;          // the entry's file name, "<stem>.cubin"
  std::vector<char> data;    // its file's bytes
  std::uint64_t offset = 0;  // of its entry header in the bundle (decoded bundles)
};

std::vector<char> encode_bundle(const std::vector<BundleItem>& items);

// The entries, with the framing checked: throws BundleError naming source and the offset where it goes wrong.
// checksum_ok says whether the trailer's checksum matched (the caller names the damaged entry when it did not).
struct DecodedBundle {
  std::vector<BundleItem> items;
  bool checksum_ok = false;
  std::uint64_t trailer_offset = 0;
};
DecodedBundle decode_bundle(const std::vector<char>& bytes, const std::string& source);

// Writes the valid entries of every layer (the first layer's where several hold one; with only_stems, only those
// stems) to file with write_output_file (jit/output_file): a regular file through a temp file renamed into place, so
// a failed export leaves no partial bundle; a pipe or device written through; anything else refused. Throws
// std::runtime_error naming the file on a write error, std::system_error like DiskCache::list.
struct ExportResult {
  std::size_t exported = 0;
  std::uintmax_t bytes = 0;          // of the bundle
  std::size_t invalid = 0;           // entries left out: not valid (cache verify names them)
  std::vector<std::string> missing;  // of only_stems, those no layer holds a valid entry for
};
ExportResult export_bundle(const DiskCache& cache, const std::filesystem::path& file,
                           const std::optional<std::set<std::string>>& only_stems = std::nullopt);

// Reads file twice, as a stream (memory: one buffer and the largest entry, whatever the number of entries). First
// the framing and the checksum: a bundle whose framing or checksum is wrong is refused whole (BundleError, naming the
// first damaged entry when one is), before any entry is decoded. Then entry by entry: each is checked as a load
// would check it (checksum, name against the key inside) and against this build (an entry another draftjit version
// or kernel headers made is never used by this one: skipped, saying which made it), and each good one is stored with
// DiskCache::store (temp + rename) and handed to on_item; an entry that fails a check, or that the store refuses, is
// handed over skipped, with why. Throws std::system_error when file cannot be read, std::invalid_argument when it is
// not a regular file or over 1 GiB (open_regular_file), std::runtime_error when the cache has no writable
// directory, and BundleError when the file changed between the passes (what was stored was checked entry by entry).
struct ImportItem {
  std::string name;  // as the bundle has it: outside text (jit/outside_text) for any message
  bool imported = false;
  std::string why;  // skipped only
};
struct ImportSummary {
  std::size_t entries = 0;
  std::size_t imported = 0;
};
ImportSummary import_bundle(DiskCache& cache, const std::filesystem::path& file,
                            const std::function<void(const ImportItem&)>& on_item);
// The same, every item collected (for tests and the fuzz target: a bundle of many entries is better streamed).
std::vector<ImportItem> import_bundle(DiskCache& cache, const std::filesystem::path& file);

}  // namespace draftjit::jit
