// The manifest reader (jit/cache/manifest): the input is a whole manifest file, written into the target's private
// directory and read with read_manifest; each of its lines also goes alone through parse_manifest_entry.
// Properties (docs/FUZZ.md):
//   read_manifest returns entries, never throws for a readable regular file (but draftjit::Error without NVRTC),
//     and skips each bad line (no '\n' at the end of the file, a line parse_manifest_entry refuses, or an arch this
//     NVRTC does not list), saying `path:line: skipped: ` for it, in order: the first ten each, then one count; a
//     bad line whose text from its last "v1 " (past its start) is a good line is that good line (a torn line
//     joined by an append, issue 30 N5), its part before said as skipped; a line's '\r' before its '\n' is dropped
//   a line parse_manifest_entry accepts has the documented shape, passes check_manifest_spec, carries a canonical
//     arch, and format_manifest_entry of it is a line that parses back to the same entry
//   the entries returned are exactly the accepted lines' entries, in the order of their first line, each once
//   an error message is one line of bounded, printable ASCII text (the line and fields are shown through
//     jit/outside_text: every byte below 0x20, 0x7f and every byte >= 0x80 escaped, each piece cut at kShownBytes)
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <system_error>

#include "draftjit/errors.hpp"
#include "fuzz_support.hpp"
#include "jit/kernel_spec.hpp"
#include "jit/cache/manifest.hpp"
#include "jit/outside_text.hpp"
#include "jit/nvrtc/toolchain.hpp"

namespace {
namespace fs = std::filesystem;
namespace jit = draftjit::jit;
namespace fz = draftjit::fuzz;

constexpr std::string_view kTarget = "manifest_reader";

constexpr std::array<std::string_view, 5> kKinds = {"scan_unrolled", "scan_blelloch", "fused_unrolled",
                                                    "fused_blelloch", "fill"};

struct World {
  fs::path root;      // the private directory
  fs::path manifest;  // the input's file
  fs::path sentinel;  // a file beside it that nothing may change
  bool nvrtc = false;
  std::vector<int> archs;  // the numbers NVRTC lists (supported_archs)

  World() {
    root = fz::scratch_root() / "manifest_reader";
    manifest = root / "manifest";
    sentinel = root / "sentinel";
    fs::create_directories(root);
    fz::write_file(sentinel, "not a manifest", kTarget);
    try {
      for (const std::string& arch : jit::supported_archs()) archs.push_back(std::stoi(arch.substr(3)));
      nvrtc = true;
    } catch (const draftjit::Error&) {
      nvrtc = false;  // then read_manifest throws draftjit::Error at the first entry: the model says so
    }
    // The paths that are not a readable regular file, once: std::system_error for a missing one, and
    // std::invalid_argument for a directory, both naming the path.
    try {
      (void)jit::read_manifest(root / "missing");
      fz::violated(kTarget, "a missing manifest was read");
    } catch (const std::system_error& e) {
      PROPERTY(std::string_view(e.what()).find((root / "missing").string()) != std::string_view::npos,
               std::string("the error for a missing manifest does not name it: ") + e.what());
    }
    try {
      (void)jit::read_manifest(root);
      fz::violated(kTarget, "a directory was read as a manifest");
    } catch (const std::invalid_argument& e) {
      PROPERTY(std::string_view(e.what()).find(root.string()) != std::string_view::npos,
               std::string("the error for a directory does not name it: ") + e.what());
    }
  }
};

World& world() {
  static World w;
  return w;
}

// With FUZZ_STATS set, how the inputs read, printed at exit: shows that the mutator reaches both outcomes.
struct Stats {
  std::size_t inputs = 0, read = 0, refused = 0, entries = 0, lines_accepted = 0, lines_refused = 0;
  ~Stats() {
    if (std::getenv("FUZZ_STATS") == nullptr) return;
    std::fprintf(stderr,
                 "manifest_reader: %zu inputs: %zu read (%zu entries), %zu with a skipped line; lines: %zu accepted, %zu "
                 "refused\n",
                 inputs, read, entries, refused, lines_accepted, lines_refused);
  }
} stats;

// The arch rule of Toolchain::for_arch, written from its documentation: the canonical spelling (fuzz_support), 'a'
// from 90 and 'f' from 100 on, and a number this NVRTC lists.
bool arch_supported(const World& w, std::string_view arch) {
  if (!fz::canonical_arch(arch)) return false;
  std::string_view digits = arch.substr(arch.starts_with("sm_") ? 3 : 8);
  const char suffix = digits.back() == 'a' || digits.back() == 'f' ? digits.back() : '\0';
  if (suffix != '\0') digits.remove_suffix(1);
  const int number = std::stoi(std::string(digits));
  if ((suffix == 'a' && number < 90) || (suffix == 'f' && number < 100)) return false;
  return std::find(w.archs.begin(), w.archs.end(), number) != w.archs.end();
}

std::vector<std::string_view> words_of(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t at = 0;
  while ((at = line.find_first_not_of(" \t", at)) != std::string_view::npos) {
    const std::size_t end = std::min(line.find_first_of(" \t", at), line.size());
    words.push_back(line.substr(at, end - at));
    at = end;
  }
  return words;
}

// One line alone through parse_manifest_entry: the entry, or nullopt when refused (std::invalid_argument with a
// message; anything else is a violation). An accepted line is checked on the spot.
std::optional<jit::ManifestEntry> parse_alone(std::string_view line) {
  jit::ManifestEntry entry;
  try {
    entry = jit::parse_manifest_entry(line);
  } catch (const std::invalid_argument& e) {
    PROPERTY(*e.what() != '\0', "parse_manifest_entry refused a line without saying why: " + fz::quoted(line));
    ++stats.lines_refused;
    return std::nullopt;
  } catch (const std::exception& e) {
    fz::violated(kTarget,
                 fmt::format("parse_manifest_entry of {} threw {}: {}", fz::quoted(line), typeid(e).name(), e.what()));
  }
  ++stats.lines_accepted;
  const std::string text = fz::quoted(line);
  // The documented shape: 7 words, v1, a kind's name, then name=value in order, the arch's value the entry's.
  const std::vector<std::string_view> words = words_of(line);
  PROPERTY(words.size() == 7 && words[0] == "v1" && words[1] == entry.spec.kind(),
           "accepted a line not shaped 'v1 <kind> ...': " + text);
  constexpr std::array<std::string_view, 5> names = {"bs=", "slots=", "chunk=", "threads=", "arch="};
  for (std::size_t i = 0; i < names.size(); ++i) {
    PROPERTY(words[i + 2].starts_with(names[i]),
             fmt::format("accepted a line whose field {} is not {}...: {}", i + 3, names[i], text));
  }
  PROPERTY(words[6].substr(5) == entry.arch, "the arch is not the line's: " + text);
  PROPERTY(fz::canonical_arch(entry.arch), "accepted an arch that is not spelled canonically: " + text);
  try {
    jit::check_manifest_spec(entry.spec);
  } catch (const std::invalid_argument& e) {
    fz::violated(kTarget, fmt::format("accepted {}, which check_manifest_spec refuses: {}", text, e.what()));
  }
  const std::string formatted = jit::format_manifest_entry(entry);
  std::optional<jit::ManifestEntry> back;
  try {
    back = jit::parse_manifest_entry(formatted);
  } catch (const std::exception& e) {
    fz::violated(kTarget, fmt::format("format_manifest_entry of {} gives {}, which does not parse: {}", text,
                                      fz::quoted(formatted), e.what()));
  }
  PROPERTY(back == entry, fmt::format("{} formats as {}, which parses to another entry", text, fz::quoted(formatted)));
  PROPERTY(formatted.find('\n') == std::string::npos, "a formatted line holds a newline: " + fz::quoted(formatted));
  return entry;
}

// What read_manifest must do with the text, line by line as its documentation says.
struct Expected {
  std::vector<jit::ManifestEntry> entries;
  std::vector<std::size_t> bad_lines;  // 1-based, in order: each one said as skipped
  bool no_nvrtc = false;               // draftjit::Error at the first entry
};

Expected model(const World& w, std::string_view text) {
  Expected out;
  std::size_t number = 0;
  // A line's entry when it is good here: it parses and (with NVRTC) its arch is one NVRTC lists.
  auto good = [&](std::optional<jit::ManifestEntry> entry) -> std::optional<jit::ManifestEntry> {
    if (!entry) return std::nullopt;
    if (!w.nvrtc) out.no_nvrtc = true;
    if (!out.no_nvrtc && !arch_supported(w, entry->arch)) return std::nullopt;
    return entry;
  };
  for (std::size_t at = 0; at < text.size();) {
    ++number;
    const std::size_t end = text.find('\n', at);
    std::string_view line = text.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    at = end == std::string_view::npos ? text.size() : end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    // Each line alone, even past a bad one: every line of every input exercises the line parser.
    const bool skipped = line.find_first_not_of(" \t") == std::string_view::npos || line.front() == '#';
    const std::optional<jit::ManifestEntry> alone = skipped ? std::nullopt : parse_alone(line);
    if (out.no_nvrtc) continue;
    if (end == std::string_view::npos) {
      out.bad_lines.push_back(number);
      break;
    }
    if (skipped) continue;
    std::optional<jit::ManifestEntry> entry = good(alone);
    if (out.no_nvrtc) continue;
    if (!entry) {
      const std::size_t joined = line.rfind("v1 ");
      if (joined != std::string_view::npos && joined > 0) entry = good(parse_alone(line.substr(joined)));
      if (out.no_nvrtc) continue;
      out.bad_lines.push_back(number);
      if (!entry) continue;
    }
    if (std::find(out.entries.begin(), out.entries.end(), *entry) == out.entries.end()) out.entries.push_back(*entry);
  }
  return out;
}

std::string describe(const std::vector<jit::ManifestEntry>& entries) {
  std::string text;
  for (const jit::ManifestEntry& e : entries) text += " [" + jit::format_manifest_entry(e) + "]";
  return text.empty() ? " none" : text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const World& w = world();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ++stats.inputs;
  fz::write_file(w.manifest, text, kTarget);
  const Expected expected = model(w, text);

  std::vector<jit::ManifestEntry> entries;
  std::vector<std::string> said;
  try {
    entries = jit::read_manifest(w.manifest, true, [&](const std::string& message) { said.push_back(message); });
  } catch (const draftjit::Error& e) {
    PROPERTY(expected.no_nvrtc, std::string("read_manifest threw draftjit::Error with NVRTC loaded: ") + e.what());
    return 0;
  } catch (const std::system_error& e) {
    fz::violated(kTarget, std::string("read_manifest of a readable regular file threw std::system_error: ") + e.what());
  } catch (const std::exception& e) {
    fz::violated(kTarget, fmt::format("read_manifest threw {}: {}", typeid(e).name(), e.what()));
  }
  PROPERTY(!expected.no_nvrtc, "read_manifest checked no arch without NVRTC");

  ++stats.read;
  stats.entries += entries.size();
  stats.refused += !expected.bad_lines.empty();
  PROPERTY(entries == expected.entries,
           fmt::format("read_manifest gave{}, the lines give{}", describe(entries), describe(expected.entries)));
  for (std::size_t i = 0; i < entries.size(); ++i) {
    for (std::size_t j = i + 1; j < entries.size(); ++j) {
      PROPERTY(!(entries[i] == entries[j]), "read_manifest gave an entry twice: " + describe({entries[i]}));
    }
  }
  // What it said: each skipped line, in order, the first ten each and then one count of the rest.
  constexpr std::size_t kSaidEach = 10;
  const std::size_t bad = expected.bad_lines.size();
  PROPERTY(said.size() == std::min(bad, kSaidEach) + (bad > kSaidEach ? 1 : 0),
           fmt::format("read_manifest said {} things for {} bad lines", said.size(), bad));
  for (std::size_t i = 0; i < said.size(); ++i) {
    const bool counted = i == kSaidEach;
    const std::string prefix = counted ? fmt::format("{}: {} more lines skipped", w.manifest.string(), bad - kSaidEach)
                                       : fmt::format("{}:{}: skipped: ", w.manifest.string(), expected.bad_lines[i]);
    PROPERTY(said[i].starts_with(prefix),
             fmt::format("said {} where {} was due", fz::quoted(said[i]), fz::quoted(prefix)));
    // The message may be printed to a terminal: one line, printable ASCII only, bounded whatever the line's length
    // (read_manifest shows the line so, and parse_manifest_entry every field it names: the raw-message fault; a byte
    // >= 0x80 passed the old check, a signed char compared with 0x7f). At most two pieces of outside text (a field,
    // the line), each at most 4 * kShownBytes + 32 bytes shown, and fixed text (the kinds' names among it).
    const bool printable = fz::printable_message(said[i]) && said[i].find('\n') == std::string::npos;
    PROPERTY(printable, "a message holds a control byte: " + fz::quoted(said[i]));
    PROPERTY(said[i].size() <= prefix.size() + 2 * (4 * jit::kShownBytes + 32) + 1024,
             fmt::format("a message is {} bytes long for a line of the input", said[i].size()));
  }
  PROPERTY(fz::read_file(w.manifest, kTarget) == text, "reading changed the manifest");
  PROPERTY(fz::read_file(w.sentinel, kTarget) == "not a manifest", "the sentinel changed");
  const std::vector<std::string> found = fz::tree(w.root);
  PROPERTY(found == (std::vector<std::string>{"manifest", "sentinel"}), "reading made or removed files");
  return 0;
}

// Most mutations make a line that the parser refuses at its first field: a quarter of the mutants get a line that
// is one (a spec the tuning rules allow, an arch NVRTC lists or not) inserted at a line boundary, and one in eight a
// line of their own repeated or moved, so that long manifests of good lines, duplicates and a bad line after good
// ones are reached as often as a refused first line.
namespace {

std::string generated_line(const World& w, std::minstd_rand& rng) {
  jit::ManifestEntry entry;
  for (int attempt = 0; attempt < 16; ++attempt) {
    jit::KernelSpec spec = *jit::spec_of_kind(kKinds[rng() % kKinds.size()]);
    const int bits = static_cast<int>(rng() % 14);
    spec.bs = rng() % 2 ? 0 : static_cast<int>(rng() % (1u << (rng() % 11)));
    spec.slots = rng() % 3 ? jit::next_pow2(spec.bs) : 1 << bits;
    spec.chunk = rng() % 3 ? 1 : 1 << (rng() % 8);
    spec.threads = rng() % 4 == 0 ? 1 : 32 << (rng() % 6);
    const std::string kind = spec.kind();
    if (kind == "scan_blelloch") spec.threads = std::max(32, std::min(1024, spec.slots / 2));
    if (kind == "scan_unrolled") spec.threads = 1;
    if (spec.scan == jit::Scan::Blelloch) spec.bs = 0;
    if (kind == "fill") {
      spec.bs = 0;
      spec.slots = spec.chunk = 1;
      spec.threads = std::max(spec.threads, 32);
    }
    entry.spec = spec;
    try {
      jit::check_manifest_spec(spec);
      break;
    } catch (const std::invalid_argument&) {
      // try another; after the last attempt the spec stays out of range, which is a case too
    }
  }
  const int number = w.archs.empty() ? 90 : w.archs[rng() % w.archs.size()];
  switch (rng() % 8) {
    case 0:
      entry.arch = fmt::format("compute_{}", number);
      break;
    case 1:
      entry.arch = fmt::format("sm_{}a", number);
      break;
    case 2:
      entry.arch = fmt::format("sm_{}f", number);
      break;
    case 3:
      entry.arch = fmt::format("sm_{}", 10 + rng() % 60);
      break;  // mostly not one NVRTC lists
    default:
      entry.arch = fmt::format("sm_{}", number);
      break;
  }
  return jit::format_manifest_entry(entry);
}

// The offsets where lines start.
std::vector<std::size_t> line_starts(std::string_view text) {
  std::vector<std::size_t> starts = {0};
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') starts.push_back(i + 1);
  }
  return starts;
}

}  // namespace

extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
  const World& w = world();
  std::minstd_rand rng(seed);
  const unsigned choice = rng() % 8;
  if (choice > 2) return LLVMFuzzerMutate(data, size, max_size);
  std::string text(reinterpret_cast<const char*>(data), size);
  const std::vector<std::size_t> starts = line_starts(text);
  const std::size_t at = starts[rng() % starts.size()];
  std::string line;
  if (choice < 2) {
    line = generated_line(w, rng);
  } else {
    const std::size_t from = starts[rng() % starts.size()];
    const std::size_t end = text.find('\n', from);
    line = text.substr(from, end == std::string::npos ? std::string::npos : end - from);
  }
  text.insert(at, line + "\n");
  if (text.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
  std::memcpy(data, text.data(), text.size());
  return text.size();
}
