#pragma once
// Writing a file a user names as a command's output (`draftjit cache export FILE`): what is at that path decides how.
#include <filesystem>
#include <string_view>
#include <vector>

namespace draftjit::jit {

// Writes bytes to path:
// - nothing there, or a regular file: a temp file beside it renamed over it (write_atomically), so a reader sees the
//   whole old file or the whole new one and a failed write leaves no partial file;
// - a FIFO, a character device or a socket (/dev/null, a terminal, a pipe), directly or through a symbolic link
//   (/dev/stdout, /proc/self/fd/N): written through, since replacing it would leave the bundle where nobody reads it
//   and, as root, turn /dev/null into a regular file;
// - anything else is refused, nothing written: a directory, a block device, and a symbolic link to a regular file
//   (replacing the link loses it, and writing into its target would follow a link someone may have planted where
//   the output goes: the message names the target to give instead).
// Throws std::runtime_error naming what, the path and why.
void write_output_file(const std::filesystem::path& path, const std::vector<char>& bytes, std::string_view what);

}  // namespace draftjit::jit
