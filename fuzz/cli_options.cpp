// The CLI's options: the input cut into argv words (at NUL and newline), parsed in-process with each subcommand's
// option set (src/cli/*.cpp: emit, warmup, cache, doctor), and every word also given alone to the value parsers
// (parse_bs_list, check_arch_name, Toolchain::for_arch, parse_toolchains). Properties (docs/FUZZ.md):
//   every usage error is std::invalid_argument, never another type, a crash or a sanitizer report
//   Options accepts exactly the `--name value` / `--flag` sequences without repeats, and gives back the values
//   parse_bs_list accepts exactly the lists of integers and ranges inside [0, kMaxBs], and returns their union:
//     sorted, unique, in range
//   an accepted arch is spelled canonically (sm_90, compute_100a: no leading zero), a toolchain's arch is the one
//     asked for, NVRTC compiles for its number, and its options pick that arch once; parse_toolchains gives one
//     toolchain per distinct arch, in the order asked
//   `emit` (source only: nothing compiles) and `cache` succeed exactly when their arguments are valid
// The option sets below are copied from src/cli/: keep them in step.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>

#include "draftjit/errors.hpp"
#include "draftjit/tuning.hpp"
#include "fuzz_support.hpp"
#include "jit/nvrtc/toolchain.hpp"
#include "src/cli/commands.hpp"

namespace {
namespace fs = std::filesystem;
namespace jit = draftjit::jit;
namespace cli = draftjit::cli;
namespace fz = draftjit::fuzz;
using Words = std::vector<std::string>;

constexpr std::string_view kTarget = "cli_options";

const Words kEmitValued = {"--bs", "--kind", "--arch", "--unroll-max", "--fused-max"};
const Words kEmitFlags = {"--ptx", "--cubin-info"};
const Words kWarmupValued = {"--bs", "--arch", "--jobs", "--unroll-max", "--fused-max"};
const Words kCacheActions = {"list", "verify", "clear", "path"};

std::string show(const Words& words) {
  std::string out = "[";
  for (const std::string& w : words) out += (out.size() > 1 ? " " : "") + fz::quoted(w);
  return out + "]";
}

// A usage error is what every bad argument may give, and nothing else is.
void usage_error_only(const fz::Outcome& outcome, const std::string& call) {
  PROPERTY(outcome.kind != fz::Outcome::Other, call + " threw " + outcome.what);
  PROPERTY(outcome.ok() || !outcome.what.empty(), call + ": a usage error with no message");
}

struct World {
  bool nvrtc = false;          // NVRTC loads: the toolchain checks run
  std::vector<int> supported;  // the numbers NVRTC compiles for
  fs::path cache;              // $DRAFTJIT_CACHE_DIR for `draftjit cache`: private, empty
  World() {
    ::unsetenv("DRAFTJIT_NVRTC_OPTIONS");
    ::unsetenv("DRAFTJIT_DISABLE_DISK_CACHE");
    ::unsetenv("DRAFTJIT_CACHE_PATH");
    cache = fz::scratch_root() / "cli_options-cache";
    fs::create_directories(cache);
    ::setenv("DRAFTJIT_CACHE_DIR", cache.c_str(), 1);
    try {
      for (const std::string& arch : jit::supported_archs()) supported.push_back(std::stoi(arch.substr(3)));
      nvrtc = true;
    } catch (const draftjit::Error& e) {
      std::fprintf(stderr, "cli_options: no NVRTC (%s): the toolchain checks are off\n", e.what());
    }
    fz::silence_stdout();
  }
};

const World& world() {
  static const World w;
  return w;
}

// --- models: what the documentation says, written independently of src/cli/options.cpp -----------------------

// "an integer": optional '-', decimal digits, in int's range. nullopt otherwise; out_of_range tells which.
std::optional<int> model_int(std::string_view text, bool* out_of_range = nullptr) {
  std::string_view digits = text;
  const bool negative = digits.starts_with('-');
  if (negative) digits.remove_prefix(1);
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  long long value = 0;
  for (char c : digits) {
    value = value * 10 + (c - '0');
    if (value > 1ll << 40) break;
  }
  if (negative) value = -value;
  if (value < INT32_MIN || value > INT32_MAX) {
    if (out_of_range != nullptr) *out_of_range = true;
    return std::nullopt;
  }
  return static_cast<int>(value);
}

// `--name value` pairs and bare flags, each name at most once; nullopt for anything else.
std::optional<std::map<std::string, std::string>> model_options(const Words& words, const Words& valued,
                                                                const Words& flags) {
  std::map<std::string, std::string> values;
  const auto in = [](const Words& set, const std::string& w) {
    return std::find(set.begin(), set.end(), w) != set.end();
  };
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (values.count(words[i]) != 0) return std::nullopt;
    if (in(flags, words[i])) {
      values[words[i]] = "";
    } else if (in(valued, words[i]) && i + 1 < words.size()) {
      values[words[i]] = words[i + 1];
      ++i;
    } else {
      return std::nullopt;
    }
  }
  return values;
}

// "a,b-c,..." with integers inside [0, kMaxBs], ranges ascending: the ranges, or nullopt.
std::optional<std::vector<std::pair<int, int>>> model_bs_list(std::string_view text) {
  std::vector<std::pair<int, int>> ranges;
  while (true) {
    const std::size_t comma = text.find(',');
    const std::string_view part = text.substr(0, comma);
    const std::size_t dash = part.find('-', 1);  // a leading '-' is the sign of the first number
    const std::optional<int> lo = model_int(part.substr(0, dash));
    const std::optional<int> hi = dash == std::string_view::npos ? lo : model_int(part.substr(dash + 1));
    if (!lo || !hi || *lo < 0 || *hi > draftjit::kMaxBs || *hi < *lo) return std::nullopt;
    ranges.emplace_back(*lo, *hi);
    if (comma == std::string_view::npos) return ranges;
    text.remove_prefix(comma + 1);
  }
}

// --- checks -------------------------------------------------------------------------------------------------------

void check_bs_list(const std::string& text) {
  std::vector<int> out;
  const fz::Outcome outcome = fz::outcome_of([&] { out = cli::parse_bs_list(text); });
  usage_error_only(outcome, "parse_bs_list(" + fz::quoted(text) + ")");
  auto ranges = model_bs_list(text);
  PROPERTY(outcome.ok() == ranges.has_value(),
           fmt::format("parse_bs_list({}) {} a list the grammar {}", fz::quoted(text),
                       outcome.ok() ? "accepted" : "rejected (" + outcome.what + ")", ranges ? "accepts" : "rejects"));
  if (!outcome.ok()) {
    PROPERTY(outcome.what.find("--bs") != std::string::npos, "a --bs error that does not say --bs: " + outcome.what);
    return;
  }
  std::sort(ranges->begin(), ranges->end());
  std::vector<std::pair<int, int>> merged;
  for (auto [lo, hi] : *ranges) {
    if (!merged.empty() && lo <= merged.back().second + 1) {
      merged.back().second = std::max(merged.back().second, hi);
    } else {
      merged.emplace_back(lo, hi);
    }
  }
  std::size_t expected = 0;
  for (auto [lo, hi] : merged) expected += static_cast<std::size_t>(hi - lo) + 1;
  PROPERTY(out.size() == expected,
           fmt::format("parse_bs_list({}) gave {} values, the ranges hold {}", fz::quoted(text), out.size(), expected));
  std::size_t r = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    PROPERTY(out[i] >= 0 && out[i] <= draftjit::kMaxBs,
             fmt::format("parse_bs_list({}) gave {}, outside [0, kMaxBs]", fz::quoted(text), out[i]));
    PROPERTY(i == 0 || out[i - 1] < out[i],
             fmt::format("parse_bs_list({}) is not sorted and unique at {}", fz::quoted(text), i));
    while (r < merged.size() && merged[r].second < out[i]) ++r;
    PROPERTY(r < merged.size() && merged[r].first <= out[i],
             fmt::format("parse_bs_list({}) gave {}, in none of its ranges", fz::quoted(text), out[i]));
  }
}

int arch_number(std::string_view arch) {
  std::string_view digits = arch.substr(arch.find('_') + 1);
  if (digits.back() == 'a' || digits.back() == 'f') digits.remove_suffix(1);
  return std::stoi(std::string(digits));
}

// A toolchain for_arch(asked) gave.
void check_toolchain(const jit::Toolchain& toolchain, std::string_view asked) {
  const World& w = world();
  PROPERTY(toolchain.arch == asked,
           fmt::format("for_arch({}) made a toolchain for {}", fz::quoted(asked), fz::quoted(toolchain.arch)));
  PROPERTY(fz::canonical_arch(asked), "an arch check accepted " + fz::quoted(asked));
  PROPERTY(std::count(w.supported.begin(), w.supported.end(), arch_number(asked)) == 1,
           "for_arch accepted " + fz::quoted(asked) + ", which NVRTC does not list");
  std::size_t arch_options = 0;
  for (const std::string& option : toolchain.options) arch_options += fz::sets_arch(option);
  PROPERTY(!toolchain.options.empty() && toolchain.options[0] == "--gpu-architecture=" + std::string(asked) &&
               arch_options == 1,
           fmt::format("the options of for_arch({}) do not pick that arch once", fz::quoted(asked)));
  PROPERTY(!toolchain.nvrtc_version.empty(), "a toolchain without an NVRTC version");
}

void check_arch(const std::string& word) {
  const fz::Outcome shape = fz::outcome_of([&] { jit::check_arch_name(word); });
  usage_error_only(shape, "check_arch_name(" + fz::quoted(word) + ")");
  if (shape.ok()) PROPERTY(fz::canonical_arch(word), "check_arch_name accepted " + fz::quoted(word));
  if (!world().nvrtc) return;

  jit::Toolchain toolchain;
  const fz::Outcome one = fz::outcome_of([&] { toolchain = jit::Toolchain::for_arch(word); });
  usage_error_only(one, "Toolchain::for_arch(" + fz::quoted(word) + ")");
  if (one.ok()) {
    PROPERTY(shape.ok(), "for_arch accepted " + fz::quoted(word) + ", which check_arch_name rejects");
    check_toolchain(toolchain, word);
  }

  std::vector<jit::Toolchain> list;
  const fz::Outcome many = fz::outcome_of([&] { list = cli::parse_toolchains(word); });
  usage_error_only(many, "parse_toolchains(" + fz::quoted(word) + ")");
  if (!many.ok()) return;
  // One toolchain per distinct arch, in the order asked: a repeated arch builds its kernels once.
  std::vector<std::string_view> archs;
  for (std::string_view rest = word;;) {
    const std::size_t comma = rest.find(',');
    const std::string_view part = rest.substr(0, comma);
    if (std::find(archs.begin(), archs.end(), part) == archs.end()) archs.push_back(part);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  PROPERTY(list.size() == archs.size(), fmt::format("parse_toolchains({}) gave {} toolchains for {} distinct archs",
                                                    fz::quoted(word), list.size(), archs.size()));
  for (std::size_t i = 0; i < archs.size(); ++i) check_toolchain(list[i], archs[i]);
}

// One option set: Options against the model, then every getter.
std::optional<cli::Options> check_options(const char* command, const Words& words, const Words& valued,
                                          const Words& flags) {
  std::optional<cli::Options> options;
  const fz::Outcome outcome = fz::outcome_of([&] { options.emplace(words, valued, flags); });
  usage_error_only(outcome, fmt::format("{} Options{}", command, show(words)));
  const auto model = model_options(words, valued, flags);
  PROPERTY(outcome.ok() == model.has_value(),
           fmt::format("{} Options {} {}", command, outcome.ok() ? "accepted" : "rejected", show(words)));
  if (!options) return std::nullopt;
  for (const Words* set : {&valued, &flags}) {
    for (const std::string& name : *set) {
      const auto it = model->find(name);
      PROPERTY(options->has(name) == (it != model->end()), fmt::format("{}: has({}) is wrong", command, name));
      PROPERTY(options->get(name,
                            "\x01"
                            "fallback") == (it != model->end() ? it->second
                                                               : "\x01"
                                                                 "fallback"),
               fmt::format("{}: get({}) is wrong", command, name));
      int value = 0;
      const fz::Outcome got = fz::outcome_of([&] { value = options->get_int(name, -12345); });
      usage_error_only(got, fmt::format("{}: get_int({})", command, name));
      if (it == model->end()) {
        PROPERTY(got.ok() && value == -12345, fmt::format("{}: get_int({}) without it", command, name));
      } else {
        const std::optional<int> expected = model_int(it->second);
        PROPERTY(got.ok() == expected.has_value() && (!got.ok() || value == *expected),
                 fmt::format("{}: get_int({}) of {}", command, name, fz::quoted(it->second)));
      }
    }
  }
  return options;
}

void check_tuning(const cli::Options& options, const char* command) {
  draftjit::Tuning tuning;
  const fz::Outcome outcome = fz::outcome_of([&] { tuning = cli::tuning_from(options); });
  usage_error_only(outcome, fmt::format("{}: tuning_from", command));
  if (!outcome.ok()) return;
  PROPERTY(fz::outcome_of([&] { draftjit::validate(tuning); }).ok(), "tuning_from returned a tuning validate rejects");
  const draftjit::Tuning defaults;
  PROPERTY(tuning.unroll_max_bs == model_int(options.get("--unroll-max", std::to_string(defaults.unroll_max_bs))) &&
               tuning.fused_max_bs == model_int(options.get("--fused-max", std::to_string(defaults.fused_max_bs))),
           std::string(command) + ": tuning_from does not take --unroll-max and --fused-max");
}

void check_emit(const Words& words) {
  const auto options = check_options("emit", words, kEmitValued, kEmitFlags);
  if (!options) return;
  check_tuning(*options, "emit");
  const std::string arch = options->get("--arch", "sm_90");
  if (options->has("--ptx") || options->has("--cubin-info")) {
    // These compile: only the arch is checked, as run_emit checks it before compiling.
    if (world().nvrtc) check_arch(arch);
    return;
  }
  int rc = -1;
  const fz::Outcome outcome = fz::outcome_of([&] { rc = cli::run_emit(words); });
  usage_error_only(outcome, "run_emit" + show(words));
  if (!outcome.ok()) return;
  PROPERTY(rc == 0, fmt::format("run_emit{} returned {}", show(words), rc));
  const std::optional<int> bs = options->has("--bs") ? model_int(options->get("--bs", "")) : std::nullopt;
  PROPERTY(bs && *bs >= 0 && *bs <= draftjit::kMaxBs,
           "run_emit succeeded with --bs " + fz::quoted(options->get("--bs", "")));
  PROPERTY(fz::canonical_arch(arch), "run_emit succeeded with --arch " + fz::quoted(arch));
}

// run_warmup compiles: its checks, step by step, as it makes them.
void check_warmup(const Words& words) {
  const auto options = check_options("warmup", words, kWarmupValued, {});
  if (!options) return;
  if (options->has("--bs")) check_bs_list(options->get("--bs", ""));
  if (options->has("--arch")) check_arch(options->get("--arch", ""));
  check_tuning(*options, "warmup");
}

// export and import write and read their FILE operand, which may name any path: never run here (bundle_reader
// fuzzes the import itself). prune runs: on the empty private cache it can only succeed or refuse its options.
void check_cache(const Words& words) {
  if (!words.empty() && (words[0] == "export" || words[0] == "import")) return;
  int rc = -1;
  const fz::Outcome outcome = fz::outcome_of([&] { rc = cli::run_cache(words); });
  usage_error_only(outcome, "run_cache" + show(words));
  const bool prune = !words.empty() && words[0] == "prune";
  if (prune) {
    const bool has_rule = std::count(words.begin(), words.end(), "--max-bytes") + std::count(words.begin(), words.end(),
                                                                                              "--older-than") > 0;
    PROPERTY(!outcome.ok() || has_rule, "run_cache accepted a prune without a rule: " + show(words));
  } else {
    const bool valid = words.size() == 1 && std::count(kCacheActions.begin(), kCacheActions.end(), words[0]) == 1;
    PROPERTY(outcome.ok() == valid,
             fmt::format("run_cache {} {}", outcome.ok() ? "accepted" : "rejected", show(words)));
  }
  if (outcome.ok()) PROPERTY(rc == 0, fmt::format("draftjit cache {} on an empty cache returned {}", words[0], rc));
  PROPERTY(fz::tree(world().cache).empty(), "draftjit cache left files in an empty cache");
}

void check_doctor(const Words& words) {
  check_options("doctor", words, {}, {});
  if (words.empty()) return;  // the report itself is the doctor test's (tests/unit/doctor_test.cpp)
  const fz::Outcome outcome = fz::outcome_of([&] { cli::run_doctor(words); });
  PROPERTY(outcome.kind == fz::Outcome::InvalidArgument, "run_doctor" + show(words) + " did not reject its arguments");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  world();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // --arch sm_090 passes check_arch_name: FUZZ_SKIP=arch-leading-zero leaves out inputs with such a spelling.
  if (fz::skipped("arch-leading-zero") &&
      (text.find("sm_0") != std::string_view::npos || text.find("compute_0") != std::string_view::npos)) {
    return -1;
  }
  Words words = fz::split_words(data, size);
  if (words.size() > 16) words.resize(16);
  check_emit(words);
  check_warmup(words);
  check_cache(words);
  check_doctor(words);
  for (std::size_t i = 0; i < words.size() && i < 4; ++i) {
    check_bs_list(words[i]);
    check_arch(words[i]);
  }
  return 0;
}
