#pragma once
// How draftjit shows text that came from outside it (a cache file's key text, a bundle's entry names, file names
// read from a directory, manifest lines and fields, a lock owner file's host and pid) in a message: bounded and
// escaped, so that no message carries a terminal escape, a forged line or a megabyte of someone else's input. Every
// message that shows such text goes through here (docs/DESIGN.md, "Outside text").
#include <cstddef>
#include <string>
#include <string_view>

namespace draftjit::jit {

// Bytes of outside text a message shows before it cuts the rest short.
inline constexpr std::size_t kShownBytes = 200;

// At most max bytes of text with every byte that is not printable ASCII (below 0x20, 0x7f, 0x80 and above: a
// control byte, or part of an escape or of text in an encoding the terminal may not share) and every backslash
// written as \xNN, so the result is printable ASCII only and says which bytes were there; a longer text ends in
// "... (N bytes)" with its whole size. At most 4 * max + 32 bytes long.
std::string escaped(std::string_view text, std::size_t max = kShownBytes);

// escaped() in single quotes (a quote inside is escaped too): for outside text inside a sentence.
std::string shown(std::string_view text, std::size_t max = kShownBytes);

}  // namespace draftjit::jit
