#include "jit/cache/manifest.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <climits>
#include <map>
#include <optional>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "jit/cache/cache_file.hpp"
#include "jit/environment.hpp"
#include "jit/fork_local.hpp"
#include "jit/kernel_family.hpp"
#include "jit/errno_text.hpp"
#include "jit/log.hpp"
#include "jit/outside_text.hpp"

namespace draftjit::jit {
namespace {

constexpr std::string_view kHeader =
    "# draftjit kernel manifest: one kernel a line (draftjit warmup --manifest FILE)\n";
constexpr std::uintmax_t kMaxManifestBytes = 64 << 20;  // a million lines; larger files are not read
constexpr std::array<std::string_view, 6> kFieldNames = {"bs", "slots", "chunk", "threads", "arch", "flags"};

// ---- the format ------------------------------------------------------------------------------------------------

std::vector<std::string_view> fields_of(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t at = 0;
  while (true) {
    at = line.find_first_not_of(" \t", at);
    if (at == std::string_view::npos) return fields;
    const std::size_t end = std::min(line.find_first_of(" \t", at), line.size());
    fields.push_back(line.substr(at, end - at));
    at = end;
  }
}

// The value of `name=value`, field `index` (1-based, for the message) of the line.
std::string_view value_of(std::string_view field, std::string_view name, std::size_t index) {
  if (field.size() <= name.size() || field.substr(0, name.size()) != name || field[name.size()] != '=') {
    throw std::invalid_argument(fmt::format("field {} is {}, expected {}=...", index, shown(field), name));
  }
  return field.substr(name.size() + 1);
}

int number_of(std::string_view field, std::string_view name, std::size_t index) {
  const std::string_view text = value_of(field, name, index);
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 0) {
    throw std::invalid_argument(fmt::format("{}={} is not a non-negative integer in range", name, shown(text)));
  }
  return value;
}

}  // namespace

std::string format_manifest_entry(const ManifestEntry& entry) {
  const KernelSpec& s = entry.spec;
  const std::string flags = s.family_info().has_flags() ? fmt::format(" flags={}", s.flags) : "";
  return fmt::format("v{} {} bs={} slots={} chunk={} threads={}{} arch={}", kManifestVersion, s.kind(), s.bs,
                     s.slots, s.chunk, s.threads, flags, entry.arch);
}

ManifestEntry parse_manifest_entry(std::string_view line) {
  const std::vector<std::string_view> fields = fields_of(line);
  if (fields.empty() || fields[0].size() < 2 || fields[0][0] != 'v') {
    throw std::invalid_argument(
        fmt::format("expected 'v{} <kind> bs=N slots=N chunk=N threads=N arch=ARCH'", kManifestVersion));
  }
  if (fields[0] != fmt::format("v{}", kManifestVersion)) {
    throw std::invalid_argument(
        fmt::format("format version {} is not one this draftjit reads (v{})", shown(fields[0]), kManifestVersion));
  }
  const std::optional<KernelSpec> kind = fields.size() > 1 ? spec_of_kind(fields[1]) : std::nullopt;
  if (fields.size() > 1 && !kind) {
    throw std::invalid_argument(
        fmt::format("unknown kernel kind {} (known: {})", shown(fields[1]), fmt::join(kind_names(), ", ")));
  }
  // The kinds of a family with switches carry them too, before the arch.
  const bool flagged = kind && kind->family_info().has_flags();
  const std::size_t expected = flagged ? 8 : 7;
  if (fields.size() != expected) {
    throw std::invalid_argument(fmt::format("expected {} fields 'v{} <kind> bs=N slots=N chunk=N threads=N {}arch=ARCH', "
                                            "found {}",
                                            expected, kManifestVersion, flagged ? "flags=N " : "", fields.size()));
  }
  ManifestEntry entry;
  entry.spec = *kind;
  entry.spec.bs = number_of(fields[2], kFieldNames[0], 3);
  entry.spec.slots = number_of(fields[3], kFieldNames[1], 4);
  entry.spec.chunk = number_of(fields[4], kFieldNames[2], 5);
  entry.spec.threads = number_of(fields[5], kFieldNames[3], 6);
  if (flagged) entry.spec.flags = number_of(fields[6], kFieldNames[5], 7);
  entry.arch = std::string(value_of(fields[expected - 1], kFieldNames[4], expected));
  check_manifest_spec(entry.spec);
  try {
    check_arch_name(entry.arch);
  } catch (const std::invalid_argument&) {
    if (shown(entry.arch) == "'" + entry.arch + "'") throw;  // short and printable: its message says what is wrong
    throw std::invalid_argument(fmt::format("arch={} is not an architecture name (sm_90, compute_90)",
                                            shown(entry.arch)));
  }
  return entry;
}

void warn_manifest_line(const std::string& message) { log_event(LogLevel::Warn, "manifest", message); }

namespace {

// The entry of a line, checked as read_manifest says; std::invalid_argument saying why not.
ManifestEntry usable_entry(std::string_view line, bool check_archs, std::map<std::string, std::string>& archs) {
  ManifestEntry entry = parse_manifest_entry(line);
  if (check_archs) {
    const auto [known, fresh] = archs.emplace(entry.arch, std::string());
    if (fresh) {
      try {
        (void)Toolchain::for_arch(entry.arch);
      } catch (const std::invalid_argument& e) {
        known->second = e.what();
      }
    }
    if (!known->second.empty()) throw std::invalid_argument(known->second);
  }
  return entry;
}

}  // namespace

std::vector<ManifestEntry> read_manifest(const std::filesystem::path& path, bool check_archs,
                                         const WarningSink& warn) {
  const std::vector<char> bytes = read_regular_file(path, kMaxManifestBytes, "manifest");
  const std::string_view text(bytes.data(), bytes.size());
  std::vector<ManifestEntry> entries;
  std::set<std::pair<std::uint64_t, std::string>> seen;
  std::map<std::string, std::string> archs;  // checked once each: why this NVRTC does not compile for it, or ""
  std::size_t number = 0;
  std::size_t skipped = 0;
  // A line that cannot be used is skipped and said: a fleet's manifest must survive one full disk (a torn line) or
  // one bad edit. The first few are said each; a file of garbage is one more line, not a flood.
  constexpr std::size_t kSaidEach = 10;
  auto skip = [&](std::string_view line, std::string_view why) {
    if (++skipped <= kSaidEach) warn(fmt::format("{}:{}: skipped: {}: {}", path.string(), number, why, shown(line)));
  };
  for (std::size_t at = 0; at < text.size();) {
    ++number;
    const std::size_t end = text.find('\n', at);
    std::string_view line = text.substr(at, end == std::string_view::npos ? end : end - at);
    at = end == std::string_view::npos ? text.size() : end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // a CRLF file (edited on Windows)
    if (end == std::string_view::npos) {
      skip(line, "the last line has no newline: cut short (a full disk, or a truncated copy?)");
      break;
    }
    if (line.find_first_not_of(" \t") == std::string_view::npos || line.front() == '#') continue;
    ManifestEntry entry;
    try {
      entry = usable_entry(line, check_archs, archs);
    } catch (const std::invalid_argument& e) {
      // A torn line that another process's append joined before the writer could see it (see record_kernel):
      // the whole line that was appended is the text from the last "v1 " on.
      const std::string start = fmt::format("v{} ", kManifestVersion);
      const std::size_t joined = line.rfind(start);
      std::optional<ManifestEntry> tail;
      if (joined != std::string_view::npos && joined > 0) {
        try {
          tail = usable_entry(line.substr(joined), check_archs, archs);
        } catch (const std::invalid_argument&) {
        }
      }
      if (!tail) {
        skip(line, e.what());
        continue;
      }
      skip(line.substr(0, joined), "a torn line joined by the next one, which is read");
      entry = std::move(*tail);
    }
    if (seen.emplace(entry.spec.id(), entry.arch).second) entries.push_back(std::move(entry));
  }
  if (skipped > kSaidEach) {
    warn(fmt::format("{}: {} more lines skipped ({} in all)", path.string(), skipped - kSaidEach, skipped));
  }
  return entries;
}

// ---- recording -------------------------------------------------------------------------------------------------

namespace {

constexpr int kUnread = -1;
constexpr int kOff = 0;
constexpr int kOn = 1;
std::atomic<int> record_state{kUnread};
std::once_flag env_read;

std::string& configured_path() {
  static auto* path = new std::string;  // leaked: kernels may be loaded while the process exits
  return *path;
}

// Made absolute once, so that a process changing its working directory keeps appending to the same file.
void read_env() {
  const char* value = env_value("DRAFTJIT_RECORD");
  if (value != nullptr) {
    std::error_code ec;
    const std::filesystem::path absolute = std::filesystem::absolute(value, ec);
    configured_path() = ec ? std::string(value) : absolute.string();
  }
  record_state.store(value != nullptr ? kOn : kOff, std::memory_order_release);
}

struct Recorder {
  std::mutex mutex;
  std::string path;
  std::set<std::pair<std::uint64_t, std::string>> recorded;  // spec id, arch
  bool warned = false;
};

// A child forked while another thread recorded would find the mutex locked forever: it makes a fresh recorder
// (ForkLocal), which may record again what the parent did: duplicate lines collapse when read.
Recorder& current_recorder() {
  return ForkLocal<Recorder>::get([] {
    auto* fresh = new Recorder;
    fresh->path = configured_path();
    return fresh;
  });
}

// What an existing file must start with to be appended to: nothing yet (a `touch`ed file, or a creator between its
// open and its write), the header, or a line (another process's may land before the creator's header).
bool looks_like_manifest(std::string_view start) {
  start.remove_prefix(std::min(start.find_first_not_of("\r\n"), start.size()));
  constexpr std::string_view kTitle = "# draftjit kernel manifest";  // the header's start, in every version
  return start.empty() || start.starts_with(kTitle) || kHeader.starts_with(start) ||
         start.starts_with(fmt::format("v{} ", kManifestVersion));
}

// Why the existing file open on fd is not one to append to, or empty; sets *torn when its last byte is not '\n'.
std::string refusal_of(int fd, bool* torn) {
  struct stat info {};
  if (::fstat(fd, &info) != 0) return errno_text(errno);
  if (!S_ISREG(info.st_mode)) return "it is not a regular file";
  std::array<char, 64> start{};
  const ssize_t n = ::pread(fd, start.data(), start.size(), 0);
  if (n < 0) return errno_text(errno);
  if (!looks_like_manifest(std::string_view(start.data(), static_cast<std::size_t>(n)))) {
    return "it exists and is not a kernel manifest (it does not start with the header or a v1 line): it is left "
           "alone";
  }
  char last = '\n';
  *torn = info.st_size > 0 && ::pread(fd, &last, 1, info.st_size - 1) == 1 && last != '\n';
  return {};
}

// Appends text as one write(); empty on success, else why not. The creator (O_EXCL, so exactly one) writes the
// header and its line together; another process's line may still land before them, so readers skip '#' lines
// anywhere. A file whose last line is torn (a full disk cut a write short) gets a '\n' before ours, in the same
// write, so that ours is not joined to it; a tear that lands between that look and our write is the reader's to
// split (read_manifest: the text from the last "v1 " of a line it cannot use).
std::string append(const std::string& path, const std::string& line) {
  static_assert(kHeader.size() < 512, "header and line stay far below PIPE_BUF");
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::string text = line;
    // O_NONBLOCK: a FIFO without a reader fails (ENXIO) instead of hanging the kernel load; O_NOFOLLOW: a symlink
    // planted at the path is never followed to what it names.
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW, 0644);
    if (fd >= 0) {
      text.insert(0, kHeader);
    } else if (errno == EEXIST) {
      fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
      if (fd < 0 && errno == ENOENT) continue;  // removed between the two opens: create it again
      if (fd < 0 && errno == ELOOP) return "it is a symbolic link, which is never followed";
      bool torn = false;
      const std::string refused = fd >= 0 ? refusal_of(fd, &torn) : std::string();
      if (!refused.empty()) {
        ::close(fd);
        return refused;
      }
      if (torn) text.insert(0, "\n");
    }
    if (fd < 0) return errno_text(errno);
    if (text.size() >= PIPE_BUF) {  // cannot happen with draftjit's kinds and archs; said rather than torn
      ::close(fd);
      return fmt::format("the line is {} bytes, too long to append atomically", text.size());
    }
    ssize_t written = 0;
    do {
      written = ::write(fd, text.data(), text.size());
    } while (written < 0 && errno == EINTR);
    const int error = errno;
    ::close(fd);
    if (written == static_cast<ssize_t>(text.size())) return {};
    return written < 0 ? errno_text(error)
                       : fmt::format("only {} of {} bytes written: the last line is torn", written, text.size());
  }
  return "it was removed again each time it was opened";
}

}  // namespace

void record_kernel(const KernelSpec& spec, const Toolchain& toolchain) {
  // Acquire, not relaxed, so that a thread seeing kOn also sees the path; on x86 and ARMv8 both are a plain load.
  int state = record_state.load(std::memory_order_acquire);
  if (state == kOff) return;
  if (state == kUnread) {
    try {
      std::call_once(env_read, read_env);
    } catch (...) {
      return;  // env_value's logic_error cannot happen for a declared variable; never throw from a kernel load
    }
    if (record_state.load(std::memory_order_acquire) == kOff) return;
  }
  try {
    Recorder& r = current_recorder();
    std::lock_guard lock(r.mutex);
    if (r.path.empty() || r.recorded.count({spec.id(), toolchain.arch}) != 0) return;
    const ManifestEntry entry{spec, toolchain.arch};
    const std::string why = append(r.path, format_manifest_entry(entry) + "\n");
    if (why.empty()) {
      r.recorded.emplace(spec.id(), toolchain.arch);  // a failed one is tried again at its next load
      log_event(LogLevel::Info, "record", fmt::format("{} {}", r.path, format_manifest_entry(entry)));
    } else if (!r.warned) {
      r.warned = true;
      log_event(LogLevel::Warn, "record",
                fmt::format("cannot record {}.{} in {} (DRAFTJIT_RECORD): {}; further failures are not reported",
                            spec.name(), toolchain.arch, r.path, why));
    }
  } catch (...) {  // allocation failure: recording is best effort, a kernel load must not fail for it
  }
}

void set_record_path_for_test(const char* path) {
  std::call_once(env_read, [] {});  // the environment is not read after this
  configured_path() = path != nullptr ? path : "";
  Recorder& r = current_recorder();  // as a fresh process's: nothing recorded yet
  const std::lock_guard lock(r.mutex);
  r.path = configured_path();
  r.recorded.clear();
  r.warned = false;
  record_state.store(path != nullptr ? kOn : kOff, std::memory_order_release);
}

}  // namespace draftjit::jit
