#pragma once
#include <cstdint>
#include <string_view>

namespace draftjit::jit {

// 64-bit FNV-1a. Keys also carry their full text, so a collision is caught by comparing texts, not trusted.
constexpr std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t seed = 0xcbf29ce484222325ull) {
  std::uint64_t h = seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

}  // namespace draftjit::jit
