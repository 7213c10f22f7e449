#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "jit/warning.hpp"

namespace draftjit::jit {

// Where the disk cache lives, read from the environment once per process (the process pipeline) or per CLI run.
//   DRAFTJIT_DISABLE_DISK_CACHE  1|true|yes|on: no disk at all; 0|false|no|off or unset: on; anything else is refused
//                                (std::invalid_argument naming the variable and these values): a typo must not pick
//                                either meaning silently
//   DRAFTJIT_CACHE_DIR           the writable directory, else $XDG_CACHE_HOME/draftjit, else $HOME/.cache/draftjit
//   DRAFTJIT_CACHE_PATH          read-only layers searched after it, ':'-separated (e.g. baked into an image); a
//                                layer named twice, or naming the writable directory, is searched once
// Relative paths are made absolute against the working directory at the time they are read, so a later chdir
// cannot move the cache. One that cannot be (the working directory was deleted) is never used relative: the
// writable directory is then off, a layer dropped, each with a warning.
struct CacheLocation {
  std::optional<std::filesystem::path> writable;
  std::vector<std::filesystem::path> read_only;
  std::string why_not_writable;  // set when !writable: the setting that turned it off, or what is missing

  bool enabled() const { return writable.has_value() || !read_only.empty(); }
};

CacheLocation cache_location_from_env(const WarningSink& warn = warn_to_log);

}  // namespace draftjit::jit
