#include "jit/nvrtc/cubin_arch.hpp"

#include <cstdint>

namespace draftjit::jit {
namespace {

constexpr std::uint16_t kEmCuda = 190;
constexpr unsigned char kElfClass32 = 1;
constexpr unsigned char kElfClass64 = 2;
constexpr unsigned char kElfLittleEndian = 1;
constexpr unsigned char kFirstNewAbiVersion = 8;  // e_ident[EI_ABIVERSION] from which the SM is in bits 8-15

std::uint32_t little_endian(std::string_view bytes, std::size_t at, std::size_t size) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < size; ++i) {
    value |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
  }
  return value;
}

}  // namespace

std::optional<int> cubin_sm(std::string_view bytes) {
  // e_ident (16 bytes), e_type, e_machine (offset 18); e_flags at 36 of a 52-byte header (32-bit) or at 48 of a
  // 64-byte one (64-bit).
  if (bytes.size() < 16 || bytes.substr(0, 4) != "\x7f" "ELF") return std::nullopt;
  const auto elf_class = static_cast<unsigned char>(bytes[4]);
  if ((elf_class != kElfClass32 && elf_class != kElfClass64) || bytes[5] != kElfLittleEndian) return std::nullopt;
  if (bytes.size() < (elf_class == kElfClass64 ? 64U : 52U)) return std::nullopt;
  if (little_endian(bytes, 18, 2) != kEmCuda) return std::nullopt;
  const std::uint32_t flags = little_endian(bytes, elf_class == kElfClass64 ? 48 : 36, 4);
  const bool new_abi = static_cast<unsigned char>(bytes[8]) >= kFirstNewAbiVersion;
  return static_cast<int>(new_abi ? (flags >> 8) & 0xff : flags & 0xff);
}

}  // namespace draftjit::jit
