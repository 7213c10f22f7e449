#pragma once
// The fuzz targets' model of a cache entry's layout (jit/cache/cache_file), to read an entry's bytes back into the key and
// cubin encode_entry took: entry_reader checks the code's reader against it, and the targets' custom mutators use
// it to re-encode mutants into entries whose checksum holds.
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jit/cache/cache_file.hpp"

namespace draftjit::fuzz {

// The bytes before the key: encode_entry's header.
inline std::size_t entry_header_bytes() {
  static const std::size_t bytes = jit::encode_entry("", {'x'}).size() - 1;
  return bytes;
}

struct EntryParts {
  std::string key;
  std::vector<char> cubin;
};

// The key and cubin where the header's key size (the u32 after the 8-byte magic and the u32 format version) marks
// them out; nullopt when the bytes are shorter than a header. A key size past the end gives nullopt, or with
// wrap_key_size is taken modulo what follows the header, so that any mutant long enough splits.
inline std::optional<EntryParts> entry_parts(std::string_view bytes, bool wrap_key_size = false) {
  const std::size_t header = entry_header_bytes();
  if (bytes.size() < header) return std::nullopt;
  std::uint32_t key_bytes = 0;
  std::memcpy(&key_bytes, bytes.data() + 12, sizeof key_bytes);
  const std::size_t body = bytes.size() - header;
  if (wrap_key_size) key_bytes = static_cast<std::uint32_t>(key_bytes % (body + 1));
  if (key_bytes > body) return std::nullopt;
  const std::string_view cubin = bytes.substr(header + key_bytes);
  return EntryParts{std::string(bytes.substr(header, key_bytes)), std::vector<char>(cubin.begin(), cubin.end())};
}

}  // namespace draftjit::fuzz
