#pragma once
#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace draftjit::jit {

// 64-bit hash of a byte string, eight bytes per step: each word is multiplied and rotated into the state, and the
// state is avalanched at the end. About 4x faster than byte-wise FNV-1a, which matters on a new process's first
// kernel: every disk-cache hit hashes the whole cubin for its checksum (and the key text, a few hundred bytes). Keys
// also carry their full text, so a collision is caught by comparing texts, not trusted.
inline std::uint64_t hash_bytes(std::string_view bytes, std::uint64_t seed = 0) {
  constexpr std::uint64_t kMul1 = 0x9e3779b97f4a7c15ull;
  constexpr std::uint64_t kMul2 = 0xbf58476d1ce4e5b9ull;
  std::uint64_t h = seed ^ (bytes.size() * kMul1);
  std::size_t at = 0;
  auto mix = [&](std::uint64_t word) {
    h = std::rotl(h ^ (std::rotl(word * kMul1, 31) * kMul2), 27) * 5 + 0x52dce729;
  };
  for (; at + 8 <= bytes.size(); at += 8) {
    std::uint64_t word;
    std::memcpy(&word, bytes.data() + at, 8);
    mix(word);
  }
  std::uint64_t tail = 0;
  // Guarded: an empty view may have a null data(), and memcpy from null is undefined even for 0 bytes.
  if (at < bytes.size()) std::memcpy(&tail, bytes.data() + at, bytes.size() - at);
  mix(tail);
  h ^= h >> 30;
  h *= kMul2;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

}  // namespace draftjit::jit
