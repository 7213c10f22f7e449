#pragma once
// DRAFTJIT_DUMP_DIR=dir: every kernel this process compiles leaves <stem>.cu (the rendered source), <stem>.ptx,
// <stem>.options (one NVRTC option per line) and <stem>.log (NVRTC's program log) in dir, and so does a kernel that
// fails to compile (without the PTX): what one needs to reproduce or report a compile. The directory is created
// when missing; each file is written to a temp name and renamed over its own (a symlink planted under a dump file's
// predictable name is replaced, never followed); a file that cannot be written is one warning, never a failed
// compile.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "jit/nvrtc/toolchain.hpp"

namespace draftjit::jit {

// The directory from DRAFTJIT_DUMP_DIR, read once; nullopt when unset.
const std::optional<std::filesystem::path>& dump_dir();

void dump_compile(const std::filesystem::path& dir, std::string_view stem, const std::string& source,
                  const Toolchain& toolchain, const std::string* ptx, const std::string& log);

}  // namespace draftjit::jit
