#pragma once
// Warmup from use: DRAFTJIT_RECORD=file makes a process append every kernel it loads to launch (for its calls and
// prepare()) to a manifest, and
// `draftjit warmup --manifest file` (or Python's prepare(manifest=...)) compiles exactly those kernels.
//
// The format, one kernel a line, each line complete in itself so that many processes can append at once:
//
//   # draftjit kernel manifest: one kernel a line (draftjit warmup --manifest FILE)
//   v1 <variant>_unrolled bs=5 slots=8 chunk=1 threads=128 arch=sm_90
//   v1 <variant> bs=0 slots=1 chunk=1 threads=256 arch=compute_90
//   v1 <variant>_unrolled bs=5 slots=8 chunk=1 threads=256 flags=4 arch=sm_90
//
// "v1" is the line's format version (a file appended to by two draftjit versions is read line by line), then the
// KernelSpec's kind (its variant and scan, jit::spec_of_kind) and fields, flags= for a family with switches (their
// bits), and the toolchain's arch, in this order. Lines starting with '#' (the header, which a race of
// two creators or a concatenation of manifests may put anywhere, any number of times) and blank lines are skipped;
// every line ends with '\n' ("\r\n" is read too), so a truncated copy shows as a last line without one.
//
// Damage (docs/DESIGN.md, "Manifest damage"): a full disk cuts an append short, leaving a torn line without its
// '\n'. The next append puts a '\n' first when the file does not end in one, and a reader skips a line it cannot use,
// naming path:line, instead of refusing the file; a torn line joined by an append that raced the tear is split at its
// last "v1 ", whose tail is the whole appended line.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "jit/kernel_spec.hpp"
#include "jit/nvrtc/toolchain.hpp"
#include "jit/warning.hpp"

namespace draftjit::jit {

inline constexpr int kManifestVersion = 1;

struct ManifestEntry {
  KernelSpec spec;
  std::string arch;  // the toolchain's: sm_90, compute_90
  friend bool operator==(const ManifestEntry&, const ManifestEntry&) = default;
};

// The one definition of a line (without its '\n'): format_manifest_entry's output parses back to the same entry.
std::string format_manifest_entry(const ManifestEntry& entry);
// Throws std::invalid_argument saying what is wrong with the line (the caller adds where it is): the shape, the
// version, an unknown kind, a number that is not one, a spec no tuning makes (see check_manifest_spec), an arch that
// is not shaped like one (check_arch_name; whether this NVRTC compiles for it is read_manifest's check).
ManifestEntry parse_manifest_entry(std::string_view line);

// A manifest's spec is one that kernels_for can produce under some valid Tuning: check_spec_is_buildable
// (jit/kernel_spec), next to the constructors whose rules it applies.
inline void check_manifest_spec(const KernelSpec& spec) { check_spec_is_buildable(spec); }

// Where read_manifest says which lines it skipped by default: "manifest" events at warn (jit/log.hpp).
void warn_manifest_line(const std::string& message);

// The manifest's kernels, in the order of their first line, duplicates collapsed. A line it cannot use is skipped,
// and said to warn as `path:line: skipped: why: 'the line'` (the first ten; then one count): a malformed line
// (parse_manifest_entry), an arch that this NVRTC does not compile for (Toolchain::for_arch; only with
// check_archs), a last line cut short. Throws std::invalid_argument naming the path when it is not a regular file
// or too large; std::system_error naming the path when it cannot be opened or read; draftjit::Error when no NVRTC
// can be loaded to check the archs. Without check_archs an arch is only checked for its shape: for a caller that
// uses one arch's kernels and skips the rest (prepare_manifest on a fleet's manifest).
std::vector<ManifestEntry> read_manifest(const std::filesystem::path& path, bool check_archs = true,
                                         const WarningSink& warn = warn_manifest_line);

// Appends the kernel to $DRAFTJIT_RECORD, once per kernel (spec and arch) per process. Without the variable, one
// relaxed atomic load. Called where a kernel is first loaded for launching (cold path). Safe with many processes
// appending to one file: O_APPEND, one write() per line, lines far below PIPE_BUF; the file is created (O_EXCL) with
// the header when missing. Never follows a symlink at the path, and never appends to a file that is not a regular
// file starting as a manifest does (empty, the header or a v1 line). A failure is one warning ("record" event) per
// process and never throws.
void record_kernel(const KernelSpec& spec, const Toolchain& toolchain);

// For tests: record to path as if DRAFTJIT_RECORD held it (nullptr: off), with a fresh set of recorded kernels.
void set_record_path_for_test(const char* path);

}  // namespace draftjit::jit
