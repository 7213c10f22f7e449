#include "jit/nvrtc/nvrtc_library.hpp"

#include <dlfcn.h>
#include <fmt/format.h>
#include <link.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string_view>

#include "draftjit/errors.hpp"
#include "jit/environment.hpp"
#include "jit/log.hpp"

namespace draftjit::jit {
namespace {

constexpr const char* kOverride = "DRAFTJIT_NVRTC_LIBRARY";
// Newest first: an NVRTC compiles for the archs of its own release, and every one of them has the same C API.
constexpr const char* kNames[] = {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"};
// The fixed places of a CUDA toolkit, after the environment's.
constexpr const char* kToolkitDirs[] = {"/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib"};
// Where pip's CUDA 13 and CUDA 12 wheels (nvidia-cuda-nvrtc, which PyTorch depends on) put libnvrtc, per site dir.
constexpr const char* kWheelDirs[] = {"nvidia/cu13/lib", "nvidia/cuda_nvrtc/lib"};

const char* env(const char* name) { return env_value(name); }

std::string dl_error() {
  const char* why = dlerror();  // NOLINT(concurrency-mt-unsafe): glibc keeps dlerror's state per thread
  return why != nullptr ? why : "unknown dlopen error";
}

// The file a handle stands for, for handles opened by soname.
std::string path_of(void* handle, const char* fallback) {
  link_map* map = nullptr;
  if (dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map != nullptr && map->l_name != nullptr && *map->l_name) {
    return map->l_name;
  }
  return fallback;
}

struct Loaded {
  NvrtcApi api{};
  NvrtcSearch search;
};

// NVRTC loads its builtins (libnvrtc-builtins.so.<major>.<minor>, beside it) for each compile and unloads them
// after. Kept loaded, a process that compiles many kernels maps them once, and no unloaded module's thread-local
// block is left behind: LeakSanitizer's scan of the dynamic TLS crashed on one at exit (the sanitizer build's emit
// tests). Best effort: where they are not found, NVRTC loads its own as before.
void pin_builtins(const NvrtcApi& api, const std::string& nvrtc_path) {
  int major = 0;
  int minor = 0;
  if (api.nvrtcVersion(&major, &minor) != NVRTC_SUCCESS) return;
  const std::string name = fmt::format("libnvrtc-builtins.so.{}.{}", major, minor);
  for (const std::string& candidate : {(std::filesystem::path(nvrtc_path).parent_path() / name).string(), name}) {
    if (dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) != nullptr) return;
  }
}

// Tries places in the order it is called and records each failure; once one loads, later calls do nothing.
class Searcher {
 public:
  bool found() const { return !loaded_.search.path.empty(); }

  // One file, by full path (or, for the override, whatever the user wrote).
  void file(const std::string& path, std::string_view origin) {
    if (found()) return;
    const std::string place = fmt::format("{} ({})", path, origin);
    if (path.find('/') != std::string::npos && ::access(path.c_str(), F_OK) != 0) return fail(place, "not found");
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) return fail(place, dl_error());
    bind(handle, place, path, origin);
  }

  // kNames in one directory; a directory with none of them is one "not found".
  void directory(const std::filesystem::path& dir, std::string_view origin) {
    if (found() || !seen_dirs_.insert(dir.lexically_normal().string()).second) return;
    bool any = false;
    for (const char* name : kNames) {
      const std::string path = (dir / name).string();
      if (::access(path.c_str(), F_OK) != 0) continue;
      any = true;
      file(path, origin);
      if (found()) return;
    }
    if (!any) fail(fmt::format("{} ({})", dir.string(), origin), "not found");
  }

  // A libnvrtc some other library (PyTorch, CuPy) already loaded: using it avoids a second copy in the process.
  void already_loaded() {
    if (found()) return;
    for (const char* name : kNames) {
      if (void* handle = dlopen(name, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD)) {
        bind(handle, fmt::format("{} (already loaded)", name), path_of(handle, name), "already loaded");
        if (found()) return;
      }
    }
    fail("a libnvrtc.so.13, .so.12 or .so already loaded in this process", "none");
  }

  void loader_default() {
    for (const char* name : kNames) {
      if (found()) return;
      void* handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
      if (handle == nullptr) {
        fail("the loader's default search", dl_error());
      } else {
        bind(handle, fmt::format("{} (the loader's default search)", name), path_of(handle, name),
             "the loader's default search");
      }
    }
  }

  Loaded finish(bool override_set) {
    if (!found()) {
      std::string text =
          override_set
              ? fmt::format("NVRTC could not be loaded from {} (when it is set, nothing else is tried); unset it "
                            "or set it to the full path of a libnvrtc.so. Tried:",
                            kOverride)
              : fmt::format("no NVRTC found: install the CUDA toolkit's NVRTC or pip's nvidia-cuda-nvrtc, or set {} "
                            "to the full path of a libnvrtc.so. Tried:",
                            kOverride);
      for (const std::string& place : loaded_.search.tried) text += "\n  " + place;
      loaded_.search.error = std::move(text);
    }
    return std::move(loaded_);
  }

 private:
  void fail(std::string_view place, std::string_view why) {
    loaded_.search.tried.push_back(fmt::format("{}: {}", place, why));
  }

  // Every entry point, or the library is not used (and closed: nothing of it was handed out).
  void bind(void* handle, const std::string& place, const std::string& path, std::string_view origin) {
    NvrtcApi api{};
    const char* missing = nullptr;
#define DRAFTJIT_NVRTC_BIND(name)                                                   \
  api.name = reinterpret_cast<decltype(api.name)>(dlsym(handle, #name));            \
  if (api.name == nullptr && missing == nullptr) missing = #name;
    DRAFTJIT_NVRTC_ENTRY_POINTS(DRAFTJIT_NVRTC_BIND)
#undef DRAFTJIT_NVRTC_BIND
    if (missing != nullptr) {
      dlclose(handle);
      return fail(place, fmt::format("lacks {}", missing));
    }
    // Never closed: programs and error strings handed out stay valid until the process exits.
    pin_builtins(api, path);
    loaded_.api = api;
    loaded_.search.path = path;
    loaded_.search.origin = origin;
  }

  Loaded loaded_;
  std::set<std::string> seen_dirs_;
};

Loaded search() {
  Searcher searcher;
  if (const char* path = env(kOverride)) {
    searcher.file(path, kOverride);
    return searcher.finish(true);
  }
  searcher.already_loaded();
  if (const char* sites = env("DRAFTJIT_PYTHON_SITE_PACKAGES")) {
    std::string_view rest = sites;
    while (!rest.empty()) {
      const std::size_t colon = rest.find(':');
      const std::filesystem::path site(rest.substr(0, colon));
      rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
      if (site.empty()) continue;
      for (const char* sub : kWheelDirs) searcher.directory(site / sub, "DRAFTJIT_PYTHON_SITE_PACKAGES");
    }
  }
  if (const char* home = env("CUDA_HOME")) {
    searcher.directory(std::filesystem::path(home) / "lib64", "$CUDA_HOME/lib64");
    searcher.directory(std::filesystem::path(home) / "lib", "$CUDA_HOME/lib");
  }
  if (const char* path = env("CUDA_PATH")) {
    searcher.directory(std::filesystem::path(path) / "lib64", "$CUDA_PATH/lib64");
  }
  for (const char* dir : kToolkitDirs) searcher.directory(dir, "the CUDA toolkit's default place");
  searcher.loader_default();
  return searcher.finish(false);
}

const Loaded& loaded() {
  static const Loaded instance = [] {
    Loaded found = search();
    // Info either way: a failure also reaches the caller, as the error of its compile.
    log_event(LogLevel::Info, "nvrtc",
              found.search.error.empty() ? fmt::format("{} ({})", found.search.path, found.search.origin)
                                         : found.search.error);
    return found;
  }();
  return instance;
}

}  // namespace

const NvrtcSearch& nvrtc_search() { return loaded().search; }

const NvrtcApi& nvrtc() {
  const Loaded& l = loaded();
  if (!l.search.error.empty()) throw Error(l.search.error);
  return l.api;
}

}  // namespace draftjit::jit
