#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "commands.hpp"
#include "draftjit/draftjit.hpp"
#include "driver_api.hpp"
#include "jit/kernel_family.hpp"
#include "ops/draft_extend/family.hpp"

namespace draftjit::cli {
namespace {

int parse_int(std::string_view text, std::string_view what) {
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error == std::errc::result_out_of_range) {
    throw std::invalid_argument(fmt::format("{}: {} is out of range", what, text));
  }
  if (error != std::errc() || end != text.data() + text.size()) {
    throw std::invalid_argument(fmt::format("{}: '{}' is not an integer", what, text));
  }
  return value;
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  while (true) {
    const std::size_t at = text.find(sep);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

}  // namespace

std::vector<int> parse_bs_list(const std::string& text) {
  std::vector<std::pair<int, int>> ranges;
  for (std::string_view part : split(text, ',')) {
    const std::size_t dash = part.find('-', 1);
    const int lo = parse_int(part.substr(0, dash), "--bs");
    const int hi = dash == std::string_view::npos ? lo : parse_int(part.substr(dash + 1), "--bs");
    ops::draft_extend::check_bs(lo, "--bs");
    ops::draft_extend::check_bs(hi, "--bs");
    if (hi < lo) throw std::invalid_argument(fmt::format("--bs: range '{}' runs backwards", part));
    ranges.emplace_back(lo, hi);
  }
  // Merged before expanding, so repeated or overlapping ranges cost nothing: the output is at most kMaxBs + 1 long.
  std::sort(ranges.begin(), ranges.end());
  std::vector<int> out;
  int next = 0;  // the first bs not yet in out
  for (auto [lo, hi] : ranges) {
    for (int bs = std::max(lo, next); bs <= hi; ++bs) out.push_back(bs);
    next = std::max(next, hi + 1);
  }
  return out;
}

std::vector<jit::Toolchain> parse_toolchains(const std::string& text) {
  std::vector<jit::Toolchain> out;
  for (std::string_view part : split(text, ',')) {
    const bool repeated = std::any_of(out.begin(), out.end(), [&](const jit::Toolchain& t) { return t.arch == part; });
    if (!repeated) out.push_back(jit::Toolchain::for_arch(part));  // sm_90,sm_90 builds each kernel once
  }
  return out;
}

Options::Options(const Args& args, const std::vector<std::string>& valued, const std::vector<std::string>& flags) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (has(arg)) throw std::invalid_argument(fmt::format("{} given more than once", arg));
    if (std::find(flags.begin(), flags.end(), arg) != flags.end()) {
      values_.emplace_back(arg, "");
    } else if (std::find(valued.begin(), valued.end(), arg) != valued.end()) {
      if (i + 1 == args.size()) throw std::invalid_argument(fmt::format("{} needs a value", arg));
      values_.emplace_back(arg, args[++i]);
    } else {
      throw std::invalid_argument(fmt::format("unknown argument '{}'", arg));
    }
  }
}

bool Options::has(const std::string& name) const {
  return std::any_of(values_.begin(), values_.end(), [&](const auto& v) { return v.first == name; });
}

std::string Options::get(const std::string& name, const std::string& fallback) const {
  for (const auto& [key, value] : values_) {
    if (key == name) return value;
  }
  return fallback;
}

int Options::get_int(const std::string& name, int fallback) const {
  return has(name) ? parse_int(get(name, ""), name) : fallback;
}

Tuning tuning_from(const Options& options) {
  Tuning tuning;
  tuning.unroll_max_bs = options.get_int("--unroll-max", tuning.unroll_max_bs);
  tuning.fused_max_bs = options.get_int("--fused-max", tuning.fused_max_bs);
  validate(tuning);
  return tuning;
}

std::vector<std::string> switch_flags() {
  std::vector<std::string> flags;
  for (const jit::KernelFamily* family : jit::kernel_families()) {
    for (const char* name : family->flag_names) {
      const std::string flag = std::string("--") + name;
      if (std::find(flags.begin(), flags.end(), flag) == flags.end()) flags.push_back(flag);
    }
  }
  return flags;
}

KindChoice kind_from(const Options& options, const char* fallback) {
  const ops::CallKind& kind = ops::call_kind_named(options.get("--kind", fallback));
  std::vector<std::string> names;
  for (const std::string& flag : switch_flags()) {
    if (options.has(flag)) names.push_back(flag.substr(2));
  }
  return {&kind, ops::flags_named(kind, names)};
}

std::string default_arch() {
  if (!cuda_available()) {
    throw std::invalid_argument("no CUDA device found to take the arch from; pass --arch, e.g. --arch sm_90");
  }
  CUdevice device = 0;
  check_cu(driver().cuDeviceGet(&device, 0), "cuDeviceGet", "device 0");
  return device_arch(device);
}

}  // namespace draftjit::cli
