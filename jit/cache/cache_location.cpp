#include "jit/cache/cache_location.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "jit/environment.hpp"

namespace draftjit::jit {
namespace fs = std::filesystem;
namespace {

const char* env(const char* name) { return env_value(name); }

// Empty when the switch leaves the cache on, else why it is off. A value that is neither is refused (env_word):
// whoever set it meant something, and neither guess is safe (off loses the cache silently, on ignores a wish to keep
// disks clean).
std::string disable_switch() {
  const std::optional<std::string_view> word = env_word("DRAFTJIT_DISABLE_DISK_CACHE");
  if (!word || *word == "0" || *word == "false" || *word == "no" || *word == "off") return {};
  return fmt::format("DRAFTJIT_DISABLE_DISK_CACHE={}", *word);
}

// path, absolute and normalised (runs of '/' made one, no "." or "..", no trailing '/', so that two spellings of one
// directory compare equal), or why it cannot be made so.
struct Absolute {
  std::optional<fs::path> path;
  std::string error;
};
Absolute absolute(std::string_view text) {
  std::string single;  // lexically_normal keeps a leading "//", which POSIX leaves to the system: Linux reads "/"
  for (const char c : text) {
    if (c != '/' || single.empty() || single.back() != '/') single += c;
  }
  fs::path out = fs::path(single);
  if (!out.is_absolute()) {  // the usual case is absolute, and fs::absolute's first call alone costs ~30 us
    std::error_code ec;
    out = fs::absolute(out, ec);
    if (ec || !out.is_absolute()) return {std::nullopt, ec ? ec.message() : "no working directory"};
  }
  out = out.lexically_normal();
  if (!out.has_filename() && out.has_relative_path()) out = out.parent_path();
  return {std::move(out), {}};
}

std::string unusable(std::string_view what, std::string_view value, const std::string& error) {
  return fmt::format("{} '{}' is relative and the working directory cannot be read ({}), so it cannot be made "
                     "absolute",
                     what, value, error);
}

}  // namespace

CacheLocation cache_location_from_env(const WarningSink& warn) {
  CacheLocation location;
  if (std::string off = disable_switch(); !off.empty()) {
    location.why_not_writable = "the disk cache is disabled by " + off;
    return location;
  }
  // The first variable set decides, and a directory it names that cannot be made absolute turns the writable
  // directory off rather than falling through to the next: that would write somewhere the user did not choose.
  struct Source {
    const char* variable;
    const char* under;  // appended to its value
  };
  for (const Source source : {Source{"DRAFTJIT_CACHE_DIR", ""}, Source{"XDG_CACHE_HOME", "draftjit"},
                              Source{"HOME", ".cache/draftjit"}}) {
    const char* value = env(source.variable);
    if (value == nullptr) continue;
    const Absolute dir = absolute(value);
    if (dir.path) {
      location.writable = *source.under == '\0' ? *dir.path : *dir.path / source.under;
    } else {
      location.why_not_writable = unusable(source.variable, value, dir.error) + ": the disk cache is off";
      warn(location.why_not_writable);
    }
    break;
  }
  if (!location.writable && location.why_not_writable.empty()) {
    location.why_not_writable = "no cache directory: none of DRAFTJIT_CACHE_DIR, XDG_CACHE_HOME and HOME is set";
  }
  if (const char* layers = env("DRAFTJIT_CACHE_PATH")) {
    std::string_view rest = layers;
    while (!rest.empty()) {
      const std::size_t colon = rest.find(':');
      const std::string_view part = rest.substr(0, colon);
      rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
      if (part.empty()) continue;
      const Absolute dir = absolute(part);
      if (!dir.path) {
        warn(unusable("DRAFTJIT_CACHE_PATH layer", part, dir.error) + ": that layer is not searched");
        continue;
      }
      const bool repeat = location.writable == dir.path ||
                          std::find(location.read_only.begin(), location.read_only.end(), *dir.path) !=
                              location.read_only.end();
      if (!repeat) location.read_only.push_back(*dir.path);
    }
  }
  return location;
}

}  // namespace draftjit::jit
