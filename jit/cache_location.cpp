#include "jit/cache_location.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string_view>

namespace draftjit::jit {
namespace fs = std::filesystem;
namespace {

const char* env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// Empty when the switch leaves the cache on, else why it is off. A value we cannot read turns the cache off: whoever
// set the variable most likely meant to.
std::string disable_switch() {
  const char* value = env("DRAFTJIT_DISABLE_DISK_CACHE");
  if (value == nullptr) return {};
  const std::string v = lower(value);
  if (v == "0" || v == "false" || v == "no" || v == "off") return {};
  if (v == "1" || v == "true" || v == "yes" || v == "on") return fmt::format("DRAFTJIT_DISABLE_DISK_CACHE={}", value);
  return fmt::format("DRAFTJIT_DISABLE_DISK_CACHE='{}' (not one of 1/0, true/false, yes/no, on/off; taken as 1)",
                     value);
}

fs::path absolute(const char* path) {
  fs::path out(path);
  if (out.is_absolute()) return out;  // the usual case, and fs::absolute's first call alone costs ~30 us
  std::error_code ec;
  fs::path resolved = fs::absolute(out, ec);
  return ec ? out : resolved.lexically_normal();
}

}  // namespace

CacheLocation cache_location_from_env() {
  CacheLocation location;
  if (std::string off = disable_switch(); !off.empty()) {
    location.why_not_writable = "the disk cache is disabled by " + off;
    return location;
  }
  if (const char* dir = env("DRAFTJIT_CACHE_DIR")) {
    location.writable = absolute(dir);
  } else if (const char* xdg = env("XDG_CACHE_HOME")) {
    location.writable = absolute(xdg) / "draftjit";
  } else if (const char* home = env("HOME")) {
    location.writable = absolute(home) / ".cache" / "draftjit";
  } else {
    location.why_not_writable = "no cache directory: none of DRAFTJIT_CACHE_DIR, XDG_CACHE_HOME and HOME is set";
  }
  if (const char* layers = env("DRAFTJIT_CACHE_PATH")) {
    std::string_view rest = layers;
    while (!rest.empty()) {
      const std::size_t colon = rest.find(':');
      const std::string part(rest.substr(0, colon));
      if (!part.empty()) location.read_only.push_back(absolute(part.c_str()));
      rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    }
  }
  return location;
}

}  // namespace draftjit::jit
