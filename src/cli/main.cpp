// draftjit: emit generated kernels, warm the kernel cache, manage the cache, check the setup.
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>

#include "commands.hpp"
#include "ops/kinds.hpp"

namespace {

constexpr const char* kUsage = R"(usage:
  draftjit emit --bs N [--kind KIND] [SWITCHES] [--arch sm_90] [--ptx | --cubin-info]
                [--unroll-max N] [--fused-max N]
      print the CUDA source rendered for the main kernel of a KIND call with bs (or its PTX, or what
      NVRTC built)
  draftjit warmup --bs LIST [--kind KIND] [SWITCHES] [--arch LIST] [--jobs N] [--unroll-max N]
                  [--fused-max N]
      compile every kernel KIND calls with these bs and switches use into the disk cache
      LIST: ranges and lists, e.g. 1-1024 or 1,2,4-8; arch default: device 0's; --jobs: at most
      the cores (the default); exits 1 when a kernel failed or could not be stored
  draftjit warmup --manifest FILE [--jobs N]
      compile exactly the kernels of a DRAFTJIT_RECORD manifest, each for its recorded arch; --bs,
      --arch and the tuning options do not combine with it
  draftjit cache list|verify|clear|path
      inspect or empty the disk cache ($DRAFTJIT_CACHE_DIR, else $XDG_CACHE_HOME/draftjit,
      else ~/.cache/draftjit; DRAFTJIT_DISABLE_DISK_CACHE=1 turns it off; DRAFTJIT_CACHE_PATH=dir1:dir2
      adds read-only layers); clear and verify touch draftjit's own files only
  draftjit cache prune --max-bytes N [--older-than D]
      evict the least recently used entries of the writable directory until they total at most N
      (K, M, G), and those unused for D (30m, 12h, 7d); either option alone works too
  draftjit cache export FILE [--manifest M] | draftjit cache import FILE
      carry the valid entries of every layer (or a manifest's) in one checksummed bundle (FILE: a
      regular file, replaced atomically, or a pipe or device such as /dev/stdout); import stores
      each entry that checks out and exits 1 if it skipped any
  draftjit doctor
      report the NVRTC found (and where it was looked for), the driver, each GPU, the cache and the
      environment; exits 1 when draftjit cannot compile, or a GPU cannot run its kernels
)";

// The usage with the kinds and switches the op families declare (ops/kinds.hpp, ops/<family>/).
std::string usage() {
  std::string text = kUsage;
  text += "KIND (default main):\n";
  std::size_t width = 0;  // the longest kind's name, so that every summary starts in one column
  for (const draftjit::ops::CallKind& kind : draftjit::ops::call_kinds()) {
    width = std::max(width, std::strlen(kind.name));
  }
  for (const draftjit::ops::CallKind& kind : draftjit::ops::call_kinds()) {
    const std::vector<const char*> flags = draftjit::ops::switch_names(kind);
    text += fmt::format("  {:<{}} {}{}{}\n", kind.name, width, kind.summary, flags.empty() ? "" : "; SWITCHES: --",
                        fmt::join(flags, " --"));
  }
  return text;
}

// fwrite, never throwing: a message about a failure must not become another one (stderr may be full or closed).
void print_error(const std::string& text) { (void)std::fwrite(text.data(), 1, text.size(), stderr); }

int run_command(const std::string& command, const draftjit::cli::Args& args) {
  using namespace draftjit::cli;
  try {
    if (command == "emit") return run_emit(args);
    if (command == "warmup") return run_warmup(args);
    if (command == "cache") return run_cache(args);
    if (command == "doctor") return run_doctor(args);
    throw std::invalid_argument(fmt::format("unknown command '{}'", command));
  } catch (const std::invalid_argument& e) {
    print_error(fmt::format("draftjit {}: {}\n\n{}", command, e.what(), usage()));
    return 2;
  } catch (const std::exception& e) {
    print_error(fmt::format("draftjit {}: {}\n", command, e.what()));
    return 1;
  }
}

// stdout is buffered: output that could not be written (a full disk, a closed pipe) shows only when it is flushed,
// and a command whose output was lost has failed, whatever it did.
int flush_stdout(const std::string& command, int rc) {
  if (std::fflush(stdout) == 0 && std::ferror(stdout) == 0) return rc;
  print_error(fmt::format("draftjit {}: its output could not be written: {}\n", command,
                          std::error_code(errno, std::generic_category()).message()));
  return rc == 0 ? 1 : rc;
}

// A descriptor 0-2 closed at start (`2>&-`) would be the next file draftjit opens (a lock stripe, a temp entry),
// and progress and warnings written to stderr would land inside it: each closed one is opened on /dev/null first,
// where they are lost harmlessly. False when that fails.
bool open_standard_descriptors() {
  for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    // The lowest free descriptor is fd itself: those below it are open by now. Not O_CLOEXEC: as a given stderr.
    if (::open("/dev/null", fd == STDIN_FILENO ? O_RDONLY : O_WRONLY) != fd) return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) try {
  if (!open_standard_descriptors()) return 1;  // nothing can be said: stderr is among the closed ones
  // A reader that goes away (`warmup 2>&1 | head -1`) must not kill a warmup half done: a write to it fails with
  // EPIPE instead, which warmup's progress notes once and flush_stdout reports.
  (void)std::signal(SIGPIPE, SIG_IGN);
  if (argc < 2 || std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h") {
    fmt::print(argc < 2 ? stderr : stdout, "{}", usage());
    return flush_stdout("--help", argc < 2 ? 2 : 0);
  }
  const std::string command = argv[1];
  return flush_stdout(command, run_command(command, draftjit::cli::Args(argv + 2, argv + argc)));
} catch (...) {  // only an allocation failure building the arguments, or the usage text failing to print
  print_error("draftjit: out of memory, or the usage text could not be written\n");
  return 1;
}
