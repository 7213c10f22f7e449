// The environment: fuzzed values for the variables the code reads on every call (jit/cache/cache_location:
// DRAFTJIT_CACHE_DIR, DRAFTJIT_CACHE_PATH, DRAFTJIT_DISABLE_DISK_CACHE, XDG_CACHE_HOME, HOME; jit/nvrtc/toolchain:
// DRAFTJIT_NVRTC_OPTIONS), put in the environment, sometimes from a working directory that has been removed; then
// cache_location_from_env() (stderr, its default warning sink, captured), a DiskCache over it, and
// Toolchain::for_arch("sm_90") with make_key. Properties (docs/FUZZ.md):
//   nothing throws but std::invalid_argument naming a variable
//   the writable directory, when there is one, is absolute, and is DRAFTJIT_CACHE_DIR, else
//     $XDG_CACHE_HOME/draftjit, else $HOME/.cache/draftjit (relative ones against the working directory); without
//     one, why_not_writable says why; the first of them that is set decides: one that is relative without a working
//     directory turns the writable directory off, with a warning naming it
//   the read-only layers are absolute, unique (and not the writable directory), each one of DRAFTJIT_CACHE_PATH's
//     parts, and every part is a layer (or the writable directory), but a relative one without a working
//     directory, which is dropped with a warning
//   DRAFTJIT_DISABLE_DISK_CACHE=1|true|yes|on (any case) turns the disk off and says so; 0|false|no|off is the same
//     as unset; any other value is refused (std::invalid_argument naming the variable), never guessed
//   a DiskCache over the location has the writable directory first, then the layers, in order
//   DRAFTJIT_NVRTC_OPTIONS' words are appended to the default options, in order, none of them picks the arch (or
//     for_arch refuses them with std::invalid_argument naming the variable), and each is in the kernel key; when
//     jit/nvrtc/toolchain reads the variable once per process (as it now does), only that the options stay as first read
//   the rule for words and sizes (jit/environment, issue 30 N6), over DRAFTJIT_DISABLE_DISK_CACHE, DRAFTJIT_JIT,
//     DRAFTJIT_LOG, DRAFTJIT_LOCK and DRAFTJIT_CACHE_MAX_BYTES: env_problems() has a message starting with the
//     variable's name exactly when its value, blanks around it dropped and in any case, is neither blank, nor one of
//     its words, nor a size (digits and B, K, M, G, T alone or with B or iB, that fits in 64 bits); env_word gives the
//     word in lower case and env_size the bytes otherwise; check_environment throws std::invalid_argument exactly
//     when there is a problem
// DRAFTJIT_NVRTC_LIBRARY, DRAFTJIT_PYTHON_SITE_PACKAGES, CUDA_HOME and CUDA_PATH (jit/nvrtc/nvrtc_library) are read once
// per process, on the first NVRTC call, so one process cannot fuzz them: they are not covered here.
//
// Input: one flags byte, then the values separated by NUL in the order of kVariables. Flag bit i sets variable i (to
// its value, maybe empty) or else unsets it, for the first kFlagged; bit 6 runs the calls from a removed working
// directory. The variables after those (the words and the size) are set when the input has a field for them.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <set>
#include <sstream>

#include "draftjit/errors.hpp"
#include "fuzz_support.hpp"
#include "ops/draft_extend/family.hpp"
#include "jit/cache/cache_location.hpp"
#include "jit/environment.hpp"
#include "jit/cache/disk_cache.hpp"
#include "jit/kernel_key.hpp"
#include "jit/nvrtc/toolchain.hpp"

namespace {
namespace fs = std::filesystem;
namespace jit = draftjit::jit;
namespace fz = draftjit::fuzz;

constexpr std::string_view kTarget = "environment";

enum Variable { kCacheDir, kCachePath, kDisable, kNvrtcOptions, kXdg, kHome, kJit, kLog, kLock, kMaxBytes, kCount };
constexpr int kFlagged = kJit;  // the variables the flags byte sets or unsets
constexpr std::array<const char*, kCount> kVariables = {
    "DRAFTJIT_CACHE_DIR",     "DRAFTJIT_CACHE_PATH", "DRAFTJIT_DISABLE_DISK_CACHE",
    "DRAFTJIT_NVRTC_OPTIONS", "XDG_CACHE_HOME",      "HOME",
    "DRAFTJIT_JIT",           "DRAFTJIT_LOG",        "DRAFTJIT_LOCK",
    "DRAFTJIT_CACHE_MAX_BYTES"};
constexpr std::uint8_t kGoneCwd = 1 << 6;

struct World {
  fs::path cwd;       // the working directory of the calls, unless it is a removed one
  int home_cwd = -1;  // libFuzzer's (its corpus paths may be relative): restored after each call
  int stderr_copy = -1;
  int capture = -1;  // a memfd that stands in for stderr during a call
  bool nvrtc = false;
  std::vector<std::string> default_options;  // for_arch("sm_90") with DRAFTJIT_NVRTC_OPTIONS unset
  bool options_per_call = false;             // whether for_arch reads DRAFTJIT_NVRTC_OPTIONS on every call
  World() {
    cwd = fz::scratch_root() / "environment-cwd";
    fs::create_directories(cwd);
    home_cwd = ::open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (home_cwd < 0) fz::violated(kTarget, "cannot open the working directory");
    stderr_copy = ::dup(STDERR_FILENO);
    capture = ::memfd_create("stderr", MFD_CLOEXEC);
    if (stderr_copy < 0 || capture < 0) fz::violated(kTarget, "cannot set up the stderr capture");
    ::unsetenv("DRAFTJIT_NVRTC_OPTIONS");
    try {
      default_options = jit::Toolchain::for_arch("sm_90").options;
      nvrtc = true;
      // jit/nvrtc/toolchain reads DRAFTJIT_NVRTC_OPTIONS once per process (the first call above) or on every call:
      // which one decides what the variable can do here.
      ::setenv("DRAFTJIT_NVRTC_OPTIONS", "-DDRAFTJIT_FUZZ_PROBE", 1);
      options_per_call = jit::Toolchain::for_arch("sm_90").options != default_options;
      ::unsetenv("DRAFTJIT_NVRTC_OPTIONS");
      if (!options_per_call) {
        std::fprintf(stderr,
                     "environment: DRAFTJIT_NVRTC_OPTIONS is read once per process: only checked to stay as "
                     "first read\n");
      }
    } catch (const draftjit::Error& e) {
      std::fprintf(stderr, "environment: no NVRTC (%s): the DRAFTJIT_NVRTC_OPTIONS checks are off\n", e.what());
    }
  }
};

World& world() {
  static World w;
  return w;
}

// What a call wrote to stderr.
template <typename F>
std::string stderr_of(F&& call) {
  World& w = world();
  std::fflush(stderr);
  ::ftruncate(w.capture, 0);
  ::lseek(w.capture, 0, SEEK_SET);
  ::dup2(w.capture, STDERR_FILENO);
  try {
    call();
  } catch (...) {
    std::fflush(stderr);
    ::dup2(w.stderr_copy, STDERR_FILENO);
    throw;
  }
  std::fflush(stderr);
  ::dup2(w.stderr_copy, STDERR_FILENO);
  std::string text(static_cast<std::size_t>(::lseek(w.capture, 0, SEEK_END)), '\0');
  ::pread(w.capture, text.data(), text.size(), 0);
  return text;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A word or size as the rule reads it: blanks around it dropped, in lower case.
std::string word_of(std::string_view text) {
  constexpr std::string_view kBlanks = " \t\r\n\v\f";
  const std::size_t first = text.find_first_not_of(kBlanks);
  if (first == std::string_view::npos) return {};
  return lower(text.substr(first, text.find_last_not_of(kBlanks) - first + 1));
}

// The words each word variable takes (docs: jit/environment.hpp's table), and the size rule, written from README.
const std::vector<std::string>& words_for(Variable v) {
  static const std::vector<std::string> disable = {"1", "true", "yes", "on", "0", "false", "no", "off"};
  static const std::vector<std::string> jit = {"strict", "warn", "allow"};
  static const std::vector<std::string> log = {"error", "warn", "info", "debug"};
  static const std::vector<std::string> lock = {"flock", "file"};
  static const std::vector<std::string> none;
  return v == kDisable ? disable : v == kJit ? jit : v == kLog ? log : v == kLock ? lock : none;
}

std::optional<std::uint64_t> size_of(const std::string& word) {
  std::size_t digits = 0;
  while (digits < word.size() && word[digits] >= '0' && word[digits] <= '9') ++digits;
  if (digits == 0) return std::nullopt;
  const std::string unit = word.substr(digits);
  static const std::vector<std::string> prefixes = {"k", "m", "g", "t"};
  int shift = unit.empty() || unit == "b" ? 0 : -1;
  for (std::size_t i = 0; i < prefixes.size() && shift < 0; ++i) {
    const std::string& p = prefixes[i];
    if (unit == p || unit == p + "b" || unit == p + "ib") shift = static_cast<int>(10 * (i + 1));
  }
  if (shift < 0) return std::nullopt;
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    const std::uint64_t d = static_cast<std::uint64_t>(word[i] - '0');
    if (value > (UINT64_MAX - d) / 10) return std::nullopt;  // too large
    value = value * 10 + d;
  }
  if (value > (UINT64_MAX >> shift)) return std::nullopt;
  return value << shift;
}

// One spelling per directory, for comparing: runs of '/' made one (on Linux "//x" is "/x"), then lexically normal,
// without trailing separators.
std::string same(const fs::path& path) {
  std::string text;
  for (const char c : path.string()) {
    if (c != '/' || text.empty() || text.back() != '/') text += c;
  }
  text = fs::path(text).lexically_normal().string();
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  return text;
}

struct Setting {
  std::array<std::optional<std::string>, kCount> values;
  bool gone_cwd = false;

  const std::optional<std::string>& operator[](Variable v) const { return values[v]; }
  // Set and non-empty: what the code treats as set.
  bool given(Variable v) const { return values[v].has_value() && !values[v]->empty(); }

  // putenv of strings owned here, not setenv: glibc's setenv keeps every value it was ever given, which over a
  // million fuzzed values is gigabytes.
  void apply() const {
    static std::array<std::unique_ptr<std::string>, kCount> owned;
    for (int i = 0; i < kCount; ++i) {
      if (!values[i]) {
        ::unsetenv(kVariables[i]);
        owned[i].reset();
        continue;
      }
      auto text = std::make_unique<std::string>(std::string(kVariables[i]) + "=" + *values[i]);
      if (::putenv(text->data()) != 0) fz::violated(kTarget, "putenv failed");
      owned[i] = std::move(text);  // the old string is out of environ now
    }
  }
};

// Runs call with the setting applied, from w.cwd or, when the setting says so, from a removed directory.
template <typename F>
void with(const Setting& setting, F&& call) {
  const World& w = world();
  setting.apply();
  if (setting.gone_cwd) {
    const fs::path gone = w.cwd / "gone";
    fs::create_directories(gone);
    if (::chdir(gone.c_str()) != 0 || ::rmdir(gone.c_str()) != 0) fz::violated(kTarget, "cannot remove the cwd");
  } else if (::chdir(w.cwd.c_str()) != 0) {
    fz::violated(kTarget, "cannot chdir to " + w.cwd.string());
  }
  struct Back {
    int fd;
    ~Back() {
      if (::fchdir(fd) != 0) fz::violated(kTarget, "cannot chdir back");
    }
  } back{w.home_cwd};
  call();
}

// What a value names, when it can be said: absolute as it is, or against the working directory.
std::optional<std::string> resolved(const Setting& s, const std::string& value) {
  const fs::path path(value);
  if (path.is_absolute()) return same(path);
  if (s.gone_cwd) return std::nullopt;
  return same(world().cwd / path);
}

bool recognised(const Setting& s) {
  const std::string v = s.given(kDisable) ? word_of(*s[kDisable]) : "";
  return v.empty() || v == "1" || v == "true" || v == "yes" || v == "on" || v == "0" || v == "false" || v == "no" ||
         v == "off";
}

// DRAFTJIT_CACHE_PATH's non-empty parts.
std::vector<std::string> path_parts(const Setting& s) {
  std::vector<std::string> parts;
  if (!s.given(kCachePath)) return parts;
  std::istringstream split(*s[kCachePath]);
  for (std::string part; std::getline(split, part, ':');) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

std::string show(const Setting& s) {
  std::string out;
  for (int i = 0; i < kCount; ++i) {
    out += fmt::format(" {}={}", kVariables[i], s.values[i] ? fz::quoted(*s.values[i]) : "(unset)");
  }
  return out + (s.gone_cwd ? " (cwd removed)" : "");
}

// warned: what the call wrote to stderr (the default warning sink).
void check_location(const Setting& s, const jit::CacheLocation& location, const std::string& warned) {
  const std::string where = show(s);
  const std::string disable = s.given(kDisable) ? word_of(*s[kDisable]) : "";
  const bool off = disable == "1" || disable == "true" || disable == "yes" || disable == "on";
  PROPERTY(location.enabled() == (location.writable.has_value() || !location.read_only.empty()),
           "enabled() disagrees with the location:" + where);
  if (off) {
    PROPERTY(!location.enabled(), "DRAFTJIT_DISABLE_DISK_CACHE is on, but the disk is used:" + where);
    PROPERTY(location.why_not_writable.find("DRAFTJIT_DISABLE_DISK_CACHE") != std::string::npos,
             "a disabled cache that does not say why:" + where);
    return;
  }
  if (!location.writable) PROPERTY(!location.why_not_writable.empty(), "no writable directory, and no reason:" + where);

  // The writable directory: absolute, and the first of the three that is set.
  if (location.writable) {
    PROPERTY(location.writable->is_absolute(),
             fmt::format("the writable directory {} is relative:{}", fz::quoted(location.writable->string()), where));
  }
  std::optional<std::string> expected;
  const char* source = nullptr;
  if (s.given(kCacheDir)) {
    source = kVariables[kCacheDir];
    expected = resolved(s, *s[kCacheDir]);
  } else if (s.given(kXdg)) {
    source = kVariables[kXdg];
    if (auto base = resolved(s, *s[kXdg])) expected = same(fs::path(*base) / "draftjit");
  } else if (s.given(kHome)) {
    source = kVariables[kHome];
    if (auto base = resolved(s, *s[kHome])) expected = same(fs::path(*base) / ".cache" / "draftjit");
  }
  if (source == nullptr) {
    PROPERTY(!location.writable, "a writable directory from nowhere:" + where);
  } else if (!expected) {
    // Relative, and no working directory to resolve it against: off with a warning, never relative, never the
    // next variable's directory.
    PROPERTY(!location.writable && location.why_not_writable.find(source) != std::string::npos,
             "a relative cache directory without a working directory is used:" + where);
    PROPERTY(warned.find(source) != std::string::npos,
             std::string("no warning about the unusable ") + source + ":" + where);
  } else {
    PROPERTY(location.writable && same(*location.writable) == *expected,
             fmt::format("the writable directory is {}, not {}:{}",
                         location.writable ? fz::quoted(location.writable->string()) : "none", fz::quoted(*expected),
                         where));
  }

  // The layers: absolute, unique, each a part of DRAFTJIT_CACHE_PATH, every part a layer.
  const std::vector<std::string> parts = path_parts(s);
  std::set<std::string> seen;  // the writable directory and the layers, one spelling each
  if (location.writable) seen.insert(same(*location.writable));
  std::vector<std::string> layers;
  for (const fs::path& layer : location.read_only) {
    PROPERTY(layer.is_absolute(),
             fmt::format("the read-only layer {} is relative:{}", fz::quoted(layer.string()), where));
    layers.push_back(same(layer));
    PROPERTY(seen.insert(layers.back()).second,
             fmt::format("the layer {} is there twice (or is the writable directory):{}", fz::quoted(layer.string()),
                         where));
  }
  // A relative part without a working directory is dropped, with a warning.
  std::set<std::string> wanted;
  for (const std::string& part : parts) {
    if (const auto r = resolved(s, part)) {
      wanted.insert(*r);
    } else {
      PROPERTY(warned.find("DRAFTJIT_CACHE_PATH") != std::string::npos, "a layer dropped without a warning:" + where);
    }
  }
  for (const std::string& r : wanted) {
    PROPERTY(seen.count(r) == 1, fmt::format("DRAFTJIT_CACHE_PATH's {} is not a layer:{}", fz::quoted(r), where));
  }
  for (const std::string& layer : layers) {
    PROPERTY(wanted.count(layer) == 1,
             fmt::format("the layer {} is none of DRAFTJIT_CACHE_PATH's parts:{}", fz::quoted(layer), where));
  }

  // The DiskCache over it: writable first, then the layers in order. It reads DRAFTJIT_CACHE_MAX_BYTES, where a bound
  // the rule refuses is an error naming it (issue 30 N6).
  const std::string bound = s[kMaxBytes] ? word_of(*s[kMaxBytes]) : "";
  if (location.writable && !bound.empty() && !size_of(bound)) {
    const fz::Outcome made = fz::outcome_of([&] { const jit::DiskCache refused(location, [](const std::string&) {}); });
    PROPERTY(made.kind == fz::Outcome::InvalidArgument && made.what.find("DRAFTJIT_CACHE_MAX_BYTES") != std::string::npos,
             "a DiskCache under a DRAFTJIT_CACHE_MAX_BYTES it cannot read was made:" + where);
    return;
  }
  const jit::DiskCache cache(location, [](const std::string&) {});
  std::vector<jit::DiskCache::Layer> expected_layers;
  if (location.writable) expected_layers.push_back({*location.writable, true});
  for (const fs::path& layer : location.read_only) expected_layers.push_back({layer, false});
  PROPERTY(cache.layers().size() == expected_layers.size(), "DiskCache has other layers than its location");
  for (std::size_t i = 0; i < expected_layers.size(); ++i) {
    PROPERTY(
        cache.layers()[i].dir == expected_layers[i].dir && cache.layers()[i].writable == expected_layers[i].writable,
        "DiskCache's layers are not its location's, in order");
  }
  PROPERTY((cache.writable() != nullptr) == location.writable.has_value(), "DiskCache::writable() is wrong");
}

void check_nvrtc_options(const Setting& s) {
  const World& w = world();
  if (!w.nvrtc) return;
  jit::Toolchain toolchain;
  const fz::Outcome outcome = fz::outcome_of([&] { with(s, [&] { toolchain = jit::Toolchain::for_arch("sm_90"); }); });
  PROPERTY(outcome.kind != fz::Outcome::Other, "for_arch threw " + outcome.what + ":" + show(s));
  std::vector<std::string> words;
  if (s[kNvrtcOptions] && w.options_per_call) {
    std::istringstream split(*s[kNvrtcOptions]);
    for (std::string word; split >> word;) words.push_back(word);
  }
  if (!outcome.ok()) {
    PROPERTY(w.options_per_call && outcome.what.find("DRAFTJIT_NVRTC_OPTIONS") != std::string::npos,
             "for_arch rejected the environment without naming DRAFTJIT_NVRTC_OPTIONS: " + outcome.what);
    return;
  }
  // Read on every call: the defaults, then the variable's words. Read once per process: the first call's options,
  // whatever the variable says later.
  std::vector<std::string> expected = w.default_options;
  expected.insert(expected.end(), words.begin(), words.end());
  PROPERTY(toolchain.options == expected,
           std::string(w.options_per_call ? "the options are not the defaults followed by DRAFTJIT_NVRTC_OPTIONS' words"
                                          : "the options changed after the first call") +
               ":" + show(s));
  PROPERTY(toolchain.arch == "sm_90", "for_arch(sm_90) made a toolchain for " + toolchain.arch);
  std::size_t arch_options = 0;
  for (const std::string& option : toolchain.options) arch_options += fz::sets_arch(option);
  PROPERTY(arch_options == 1, "DRAFTJIT_NVRTC_OPTIONS changes the target arch:" + show(s));
  // They enter every key, so that their kernels never mix with the default ones.
  const jit::KernelKey key = jit::make_key(draftjit::ops::draft_extend::fused_spec(1, draftjit::Tuning{}), toolchain);
  for (const std::string& word : words) {
    PROPERTY(key.text.find(word) != std::string::npos, "an extra NVRTC option is not in the key:" + show(s));
  }
}

// The rule for words and sizes, against words_for and size_of.
void check_values(const Setting& s) {
  std::vector<std::string> problems;
  const fz::Outcome listed = fz::outcome_of([&] { with(s, [&] { problems = jit::env_problems(); }); });
  PROPERTY(listed.ok(), "env_problems threw " + listed.what + ":" + show(s));
  for (const Variable v : {kDisable, kJit, kLog, kLock, kMaxBytes}) {
    const std::string name = kVariables[v];
    const std::string word = s[v] ? word_of(*s[v]) : "";
    const std::vector<std::string>& words = words_for(v);
    const bool known = v == kMaxBytes ? size_of(word).has_value()
                                      : std::find(words.begin(), words.end(), word) != words.end();
    const bool bad = !word.empty() && !known;
    const bool said = std::any_of(problems.begin(), problems.end(), [&](const std::string& p) {
      return p.starts_with(name + "=") || p.starts_with(name + ":");
    });
    PROPERTY(said == bad, fmt::format("{} {} said to be wrong:{}", name, bad ? "is not" : "is", show(s)));
    if (bad) continue;
    if (v == kMaxBytes) {
      std::optional<std::uint64_t> bytes;
      with(s, [&] { bytes = jit::env_size(name); });
      PROPERTY(bytes == (word.empty() ? std::nullopt : size_of(word)), name + " reads as another size:" + show(s));
    } else {
      std::optional<std::string_view> read;
      with(s, [&] { read = jit::env_word(name); });
      PROPERTY(word.empty() ? !read : read && *read == word, name + " reads as another word:" + show(s));
    }
  }
  const fz::Outcome checked = fz::outcome_of([&] { with(s, [&] { jit::check_environment(); }); });
  PROPERTY(checked.ok() == problems.empty() && (checked.ok() || checked.kind == fz::Outcome::InvalidArgument),
           "check_environment disagrees with env_problems (" + checked.what + "):" + show(s));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  world();
  if (size == 0) return 0;
  Setting s;
  s.gone_cwd = (data[0] & kGoneCwd) != 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  bool more = true;  // whether the input has a field for the next variable
  for (int i = 0; i < kCount && more; ++i) {
    const std::size_t nul = rest.find('\0');
    if (i >= kFlagged || (data[0] & (1u << i))) s.values[i] = std::string(rest.substr(0, nul));
    more = nul != std::string_view::npos;
    rest = more ? rest.substr(nul + 1) : std::string_view();
  }

  // FUZZ_SKIP classes, for long runs past the known faults (docs/FUZZ.md).
  const std::vector<std::string> parts = path_parts(s);
  const auto relative = [&](Variable v) { return s.given(v) && !fs::path(*s[v]).is_absolute(); };
  if (fz::skipped("relative-cwd-gone") && s.gone_cwd &&
      (relative(kCacheDir) || relative(kXdg) || relative(kHome) ||
       std::any_of(parts.begin(), parts.end(), [](const std::string& p) { return p[0] != '/'; }))) {
    return -1;
  }
  if (fz::skipped("disable-unrecognised") && !recognised(s)) return -1;
  if (fz::skipped("nvrtc-arch-option") && s[kNvrtcOptions]) {
    std::istringstream split(*s[kNvrtcOptions]);
    for (std::string word; split >> word;) {
      if (fz::sets_arch(word)) return -1;
    }
  }
  if (fz::skipped("dup-layers") && !parts.empty()) {
    // Two parts that name one directory, or a part that names the writable directory, whichever sets it.
    std::vector<std::string> dirs;
    for (const std::string& part : parts) dirs.push_back(resolved(s, part).value_or(part));
    for (Variable v : {kCacheDir, kXdg, kHome}) {
      if (!s.given(v)) continue;
      if (auto base = resolved(s, *s[v])) {
        dirs.push_back(v == kCacheDir ? *base : same(fs::path(*base) / (v == kXdg ? "draftjit" : ".cache/draftjit")));
      }
    }
    std::sort(dirs.begin(), dirs.end());
    if (std::adjacent_find(dirs.begin(), dirs.end()) != dirs.end()) return -1;
  }

  jit::CacheLocation location;
  std::string warned;
  const fz::Outcome outcome =
      fz::outcome_of([&] { with(s, [&] { warned = stderr_of([&] { location = jit::cache_location_from_env(); }); }); });
  PROPERTY(outcome.kind != fz::Outcome::Other, "cache_location_from_env threw " + outcome.what + ":" + show(s));
  if (outcome.ok()) {
    check_location(s, location, warned);
  } else {
    PROPERTY(outcome.what.find("DRAFTJIT_") != std::string::npos || outcome.what.find("HOME") != std::string::npos,
             "cache_location_from_env rejected the environment without naming the variable: " + outcome.what);
  }
  const std::string disable = s.given(kDisable) ? word_of(*s[kDisable]) : "";
  if (!recognised(s)) {
    PROPERTY(outcome.kind == fz::Outcome::InvalidArgument &&
                 outcome.what.find("DRAFTJIT_DISABLE_DISK_CACHE") != std::string::npos,
             "an unrecognised DRAFTJIT_DISABLE_DISK_CACHE is not refused:" + show(s));
  } else if (outcome.ok() && s.given(kDisable) &&
             (disable == "0" || disable == "false" || disable == "no" || disable == "off")) {
    // Off is the same as unset.
    Setting unset = s;
    unset.values[kDisable].reset();
    jit::CacheLocation plain;
    with(unset, [&] { stderr_of([&] { plain = jit::cache_location_from_env(); }); });
    PROPERTY(plain.writable == location.writable && plain.read_only == location.read_only,
             "DRAFTJIT_DISABLE_DISK_CACHE=" + *s[kDisable] + " is not the same as unset:" + show(s));
  }
  check_nvrtc_options(s);
  check_values(s);
  return 0;
}
