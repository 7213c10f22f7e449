#include "doctor.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string_view>
#include <vector>

#include "driver_api.hpp"
#include "driver_info.hpp"
#include "jit/cache/cache_location.hpp"
#include "jit/environment.hpp"
#include "jit/cache/disk_cache.hpp"
#include "jit/kernel_key.hpp"
#include "jit/nvrtc/nvrtc_library.hpp"
#include "jit/nvrtc/toolchain.hpp"
#include "jit/errno_text.hpp"

extern char** environ;

namespace draftjit {
namespace fs = std::filesystem;
namespace {

class Report {
 public:
  void line(const std::string& text) { text_ += text + "\n"; }
  // What makes the verdict "NOT ok", in a few words.
  void problem(std::string what) { problems_.push_back(std::move(what)); }
  void note(std::string what) { notes_.push_back(std::move(what)); }

  // Runs one section; whatever it throws becomes a line and a problem, so the report always completes.
  template <typename Section>
  void section(const char* name, Section&& run) {
    try {
      run();
    } catch (const std::exception& e) {
      line(fmt::format("{}: cannot be checked: {}", name, e.what()));
      problem(fmt::format("{} cannot be checked", name));
    }
  }

  DoctorReport finish() {
    const bool ok = problems_.empty();
    if (ok) {
      line(notes_.empty() ? "doctor: ok" : fmt::format("doctor: ok; {}", fmt::join(notes_, "; ")));
    } else {
      line(fmt::format("doctor: NOT ok: {}", fmt::join(problems_, "; ")));
    }
    return {std::move(text_), ok};
  }

 private:
  std::string text_;
  std::vector<std::string> problems_;
  std::vector<std::string> notes_;
};

// True when NVRTC loaded and answers.
bool report_nvrtc(Report& r) {
  const jit::NvrtcSearch& search = jit::nvrtc_search();
  if (search.path.empty()) {
    r.line("nvrtc: NOT loaded; set DRAFTJIT_NVRTC_LIBRARY to the full path of a libnvrtc.so, or install NVRTC (the "
           "CUDA toolkit, or pip's nvidia-cuda-nvrtc)");
    for (const std::string& place : search.tried) r.line("nvrtc: tried " + place);
    r.problem("no NVRTC, so nothing can be compiled");
    return false;
  }
  r.line(fmt::format("nvrtc: loaded {} (found by {})", search.path, search.origin));
  for (const std::string& place : search.tried) r.line("nvrtc: looked first at " + place);
  r.line(fmt::format("nvrtc: version {}, compiles for {}", jit::nvrtc_version(),
                     fmt::join(jit::supported_archs(), " ")));
  return true;
}

// "12.8" -> 12080, cuDriverGetVersion's scale; 0 for what does not parse.
int cuda_version_number(std::string_view text) {
  int major = 0;
  int minor = 0;
  const std::size_t dot = text.find('.');
  if (dot == std::string_view::npos) return 0;
  const auto [major_end, major_error] = std::from_chars(text.data(), text.data() + dot, major);
  const auto [minor_end, minor_error] = std::from_chars(text.data() + dot + 1, text.data() + text.size(), minor);
  const bool parsed = major_error == std::errc() && minor_error == std::errc() && major_end == text.data() + dot &&
                      minor_end == text.data() + text.size();
  return parsed ? major * 1000 + minor * 10 : 0;
}

void report_device(Report& r, int index, bool have_nvrtc, const std::string& driver_cuda) {
  const std::string who = fmt::format("device {}", index);
  try {
    CUdevice device = 0;
    check_cu(driver().cuDeviceGet(&device, index), "cuDeviceGet", who);
    const std::string arch = device_arch(device);
    const std::string what = fmt::format("{}: {}, {}", who, device_name(device), arch);
    if (!have_nvrtc) {
      r.line(what + ": no kernels without NVRTC");  // the NVRTC problem is already counted
      return;
    }
    const jit::Toolchain toolchain = jit::choose_toolchain_for_device(arch);
    if (!toolchain.emits_ptx()) {
      r.line(fmt::format("{}: cubins for {}", what, toolchain.arch));
    } else if (cuda_version_number(toolchain.nvrtc_version) > cuda_version_number(driver_cuda)) {
      r.line(fmt::format("{}: cannot run draftjit's kernels: NVRTC {} cannot target {}, and its PTX ({}) is newer "
                         "than the driver (CUDA {}) can finish",
                         what, toolchain.nvrtc_version, arch, toolchain.arch, driver_cuda));
      r.problem(who + " cannot run draftjit's kernels");
    } else {
      r.line(fmt::format("{}: PTX for {}, finished by the driver at load (NVRTC {} cannot target {})", what,
                         toolchain.arch, toolchain.nvrtc_version, arch));
    }
  } catch (const std::exception& e) {
    r.line(fmt::format("{}: cannot run draftjit's kernels: {}", who, e.what()));
    r.problem(who + " cannot run draftjit's kernels");
  }
}

void report_driver(Report& r, bool have_nvrtc) {
  try {
    driver();
  } catch (const std::exception& e) {
    r.line(fmt::format("driver: none: {}", e.what()));
    r.line("driver: compiling needs none (draftjit warmup --arch sm_90 works), but every kernel call will fail");
    r.note("ready for compiling only: no CUDA driver, so kernel calls will fail");
    return;
  }
  const std::string version = driver_version();
  r.line("driver: CUDA " + version);
  int count = 0;
  check_cu(driver().cuDeviceGetCount(&count), "cuDeviceGetCount", "the device count");
  r.line(fmt::format("driver: {} device{}", count, count == 1 ? "" : "s"));
  for (int index = 0; index < count; ++index) report_device(r, index, have_nvrtc, version);
}

// Whether draftjit can store into dir: it is a writable directory, or one it can create.
std::string writability(const fs::path& dir) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) {
    return ::access(dir.c_str(), W_OK | X_OK) == 0 ? "writable"
                                                   : fmt::format("NOT writable: {}", jit::errno_text(errno));
  }
  if (fs::exists(dir, ec)) return "NOT writable: not a directory";
  fs::path parent = dir.parent_path();
  while (!fs::exists(parent, ec) && parent.has_relative_path()) parent = parent.parent_path();
  if (::access(parent.c_str(), W_OK | X_OK) == 0) return "writable (does not exist yet: made on the first store)";
  return fmt::format("NOT writable: does not exist and {} cannot be written: {}", parent.string(),
                     jit::errno_text(errno));
}

void report_layer(Report& r, const fs::path& dir, bool writable) {
  jit::CacheLocation location;
  if (writable) {
    location.writable = dir;
  } else {
    location.read_only.push_back(dir);
  }
  const jit::DiskCache cache(location, [&r](const std::string& warning) { r.line("cache: warning: " + warning); });
  std::string contents;
  try {
    std::size_t entries = 0;
    std::size_t invalid = 0;
    std::size_t temps = 0;
    std::size_t ptx = 0;
    std::uintmax_t bytes = 0;
    for (const jit::DiskCache::Entry& entry : cache.list().entries) {
      if (entry.temp) {
        ++temps;
        continue;
      }
      ++entries;
      bytes += entry.bytes;
      invalid += entry.file.state != jit::FileState::Valid;
      ptx += jit::is_virtual_arch(jit::arch_of_stem(entry.file.path.filename().string()));
    }
    contents = fmt::format("{} entries, {} bytes", entries, bytes);
    if (ptx > 0) contents += fmt::format(", {} of them PTX", ptx);
    if (invalid > 0) contents += fmt::format(", {} invalid (draftjit cache verify)", invalid);
    if (temps > 0) contents += fmt::format(", {} temp files", temps);
  } catch (const std::exception& e) {
    contents = fmt::format("cannot be listed: {}", e.what());
  }
  std::error_code ec;
  const std::string state = writable ? writability(dir)
                            : fs::is_directory(dir, ec) ? "read-only to draftjit"
                                                        : "read-only to draftjit, and missing";
  r.line(fmt::format("cache: {} {}: {}; {}", writable ? "directory" : "read-only layer", dir.string(), contents,
                     state));
}

void report_cache(Report& r) {
  // Its warnings are facts of the report, not stderr noise the Python side would not see.
  const jit::CacheLocation location =
      jit::cache_location_from_env([&r](const std::string& warning) { r.line("cache: warning: " + warning); });
  if (!location.writable) r.line("cache: no writable directory: " + location.why_not_writable);
  if (location.writable) report_layer(r, *location.writable, true);
  for (const fs::path& layer : location.read_only) report_layer(r, layer, false);
}

void report_environment(Report& r) {
  for (const jit::EnvVariable& variable : jit::kEnvVariables) {
    const char* value = jit::env_value(variable.name);
    r.line(value != nullptr ? fmt::format("env: {}={}", variable.name, value)
                            : fmt::format("env: {} unset ({})", variable.name, variable.what));
  }
  const std::vector<std::string> problems = jit::env_problems();  // each an error at first use: doctor fails too
  for (const std::string& problem : problems) r.line("env: NOT ok: " + problem);
  if (!problems.empty()) r.problem("an environment variable holds a value it cannot mean (env: NOT ok)");
  const auto known = [](std::string_view name) {
    return std::any_of(std::begin(jit::kEnvVariables), std::end(jit::kEnvVariables),
                       [&](const jit::EnvVariable& v) { return name == v.name; });
  };
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view text = *entry;
    const std::string_view name = text.substr(0, text.find('='));
    if (name.starts_with("DRAFTJIT_") && !known(name)) {
      r.line(fmt::format("env: {} (not read by draftjit: a typo?)", text));
    }
  }
}

}  // namespace

DoctorReport doctor() {
  try {
    Report r;
    bool have_nvrtc = false;
    r.section("nvrtc", [&] { have_nvrtc = report_nvrtc(r); });
    r.section("driver", [&] { report_driver(r, have_nvrtc); });
    r.section("cache", [&] { report_cache(r); });
    r.section("env", [&] { report_environment(r); });
    return r.finish();
  } catch (const std::exception& e) {  // only allocation can get here
    return {fmt::format("doctor: failed: {}\n", e.what()), false};
  }
}

}  // namespace draftjit
