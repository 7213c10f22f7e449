#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace draftjit::jit {

// Where the disk cache lives, read from the environment once per process (the process pipeline) or per CLI run.
//   DRAFTJIT_DISABLE_DISK_CACHE  1|true|yes|on: no disk at all; 0|false|no|off or unset: on; anything else: off
//   DRAFTJIT_CACHE_DIR           the writable directory, else $XDG_CACHE_HOME/draftjit, else $HOME/.cache/draftjit
//   DRAFTJIT_CACHE_PATH          read-only layers searched after it, ':'-separated (e.g. baked into an image)
// Relative paths are made absolute against the working directory at the time they are read, so a later chdir
// cannot move the cache.
struct CacheLocation {
  std::optional<std::filesystem::path> writable;
  std::vector<std::filesystem::path> read_only;
  std::string why_not_writable;  // set when !writable: the setting that turned it off, or what is missing

  bool enabled() const { return writable.has_value() || !read_only.empty(); }
};

CacheLocation cache_location_from_env();

}  // namespace draftjit::jit
