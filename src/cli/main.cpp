// draftjit: emit generated kernels, warm the kernel cache, manage the cache.
#include <fmt/format.h>

#include <exception>
#include <stdexcept>

#include "commands.hpp"

namespace {

constexpr const char* kUsage = R"(usage:
  draftjit emit --bs N [--kind main|fused|scan|fill] [--arch sm_90] [--ptx | --cubin-info]
                [--unroll-max N] [--fused-max N]
      print the CUDA source rendered for bs (or its PTX, or what NVRTC built)
  draftjit warmup --bs LIST [--arch LIST] [--jobs N] [--unroll-max N] [--fused-max N]
      compile every kernel the runtime uses for these bs into the disk cache
      LIST: ranges and lists, e.g. 1-1024 or 1,2,4-8; arch default: device 0's; --jobs: at most
      the cores (the default); exits 1 when a kernel failed or could not be stored
  draftjit cache list|verify|clear|path
      inspect or empty the disk cache ($DRAFTJIT_CACHE_DIR, else $XDG_CACHE_HOME/draftjit,
      else ~/.cache/draftjit; DRAFTJIT_DISABLE_DISK_CACHE=1 turns it off; DRAFTJIT_CACHE_PATH=dir1:dir2
      adds read-only layers); clear and verify touch draftjit's own files only
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace draftjit::cli;
  if (argc < 2 || std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h") {
    fmt::print(argc < 2 ? stderr : stdout, "{}", kUsage);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  const Args args(argv + 2, argv + argc);
  try {
    if (command == "emit") return run_emit(args);
    if (command == "warmup") return run_warmup(args);
    if (command == "cache") return run_cache(args);
    throw std::invalid_argument(fmt::format("unknown command '{}'", command));
  } catch (const std::invalid_argument& e) {
    fmt::print(stderr, "draftjit {}: {}\n\n{}", command, e.what(), kUsage);
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "draftjit {}: {}\n", command, e.what());
    return 1;
  }
}
