#include "jit/outside_text.hpp"

#include <fmt/format.h>

namespace draftjit::jit {
namespace {

std::string render(std::string_view text, std::size_t max, bool quoted) {
  std::string out;
  out.reserve(std::min(text.size(), max) + 2);
  if (quoted) out += '\'';
  for (const char c : text.substr(0, max)) {
    const auto byte = static_cast<unsigned char>(c);  // unsigned: a signed char hides every byte >= 0x80
    if (byte < 0x20 || byte >= 0x7f || c == '\\' || (quoted && c == '\'')) {
      fmt::format_to(std::back_inserter(out), "\\x{:02x}", byte);
    } else {
      out += c;
    }
  }
  if (quoted) out += '\'';
  if (text.size() > max) fmt::format_to(std::back_inserter(out), "... ({} bytes)", text.size());
  return out;
}

}  // namespace

std::string escaped(std::string_view text, std::size_t max) { return render(text, max, /*quoted=*/false); }

std::string shown(std::string_view text, std::size_t max) { return render(text, max, /*quoted=*/true); }

}  // namespace draftjit::jit
