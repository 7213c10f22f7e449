#include "jit/nvrtc/toolchain.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include "draftjit/errors.hpp"
#include "jit/environment.hpp"
#include "jit/nvrtc/nvrtc_library.hpp"

namespace draftjit::jit {
namespace {

void check_nvrtc(nvrtcResult result, const char* call) {
  if (result != NVRTC_SUCCESS) throw Error(fmt::format("{} failed: {}", call, nvrtc().nvrtcGetErrorString(result)));
}

// "sm_90a" -> {90, false}, "compute_90" -> {90, true}; number -1 unless the text is sm_ or compute_ followed by
// digits and an optional 'a' or 'f' suffix.
struct ParsedArch {
  int number = -1;
  bool virtual_arch = false;
};

ParsedArch parse_arch(std::string_view arch) {
  ParsedArch parsed;
  parsed.virtual_arch = arch.starts_with("compute_");
  if (!parsed.virtual_arch && !arch.starts_with("sm_")) return parsed;
  std::string_view digits = arch.substr(parsed.virtual_arch ? 8 : 3);
  const char suffix = !digits.empty() && (digits.back() == 'a' || digits.back() == 'f') ? digits.back() : '\0';
  if (suffix != '\0') digits.remove_suffix(1);
  // Spelled as NVRTC spells them: no leading zero (sm_090 names nothing), at most four digits.
  if (digits.empty() || digits.size() > 4 || digits.front() == '0' ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return parsed;
  }
  const int number = std::stoi(std::string(digits));
  // Arch-specific ('a') targets exist from sm_90 on, family-specific ('f') ones from sm_100 on.
  if ((suffix == 'a' && number < 90) || (suffix == 'f' && number < 100)) return parsed;
  parsed.number = number;
  return parsed;
}

// What the loaded NVRTC is and compiles for, asked once per process (the first toolchain loads NVRTC).
struct NvrtcFacts {
  int major = 0;
  int minor = 0;
  std::string version;      // "13.0"
  std::vector<int> archs;  // {75, 80, ..., 120}
};

const NvrtcFacts& nvrtc_facts() {
  static const NvrtcFacts facts = [] {
    const NvrtcApi& api = nvrtc();
    NvrtcFacts f;
    check_nvrtc(api.nvrtcVersion(&f.major, &f.minor), "nvrtcVersion");
    f.version = fmt::format("{}.{}", f.major, f.minor);
    int count = 0;
    check_nvrtc(api.nvrtcGetNumSupportedArchs(&count), "nvrtcGetNumSupportedArchs");
    f.archs.resize(static_cast<std::size_t>(count));
    check_nvrtc(api.nvrtcGetSupportedArchs(f.archs.data()), "nvrtcGetSupportedArchs");
    return f;
  }();
  return facts;
}

// Options that would make a kernel stored under one arch's name hold another arch's code, or make NVRTC write
// files of its own: refused, since neither shows in the key.
constexpr std::string_view kRefusedOptions[] = {"-arch", "--gpu-architecture", "-time", "--time",
                                                "-fdevice-time-trace", "--fdevice-time-trace"};

// $DRAFTJIT_NVRTC_OPTIONS, read once per process: extra options for experiments (e.g. -Ofast-compile=min, measured
// in docs/PERF.md); part of every key, so their kernels never mix with the default ones on disk. NVRTC itself
// rejects what it does not know, with its log. Never destroyed: compiles may run while the process exits.
const std::vector<std::string>& extra_nvrtc_options() {
  static const std::vector<std::string>& options = *[] {
    auto words = std::make_unique<std::vector<std::string>>();
    std::istringstream text(env_value("DRAFTJIT_NVRTC_OPTIONS") ? env_value("DRAFTJIT_NVRTC_OPTIONS") : "");
    for (std::string word; text >> word;) {
      const std::string_view name = std::string_view(word).substr(0, word.find('='));
      if (std::find(std::begin(kRefusedOptions), std::end(kRefusedOptions), name) != std::end(kRefusedOptions)) {
        throw std::invalid_argument(fmt::format(
            "DRAFTJIT_NVRTC_OPTIONS: {} is refused: it changes the target or makes NVRTC write files, which the "
            "kernel key would not show (use --arch for the target)",
            word));
      }
      words->push_back(word);
    }
    return words.release();
  }();
  return options;
}

std::vector<std::string> options_for(std::string_view arch) {
  std::vector<std::string> options = {fmt::format("--gpu-architecture={}", arch), "--std=c++17",
                                      "--device-as-default-execution-space"};
  // --minimal (NVRTC 12.4+) skips the builtin header our kernels do not need: 2-5 ms off every compile, and the
  // cubins are byte-identical (checked for every kind at bs 1..5000, docs/PERF.md).
  const NvrtcFacts& v = nvrtc_facts();
  if (v.major > 12 || (v.major == 12 && v.minor >= 4)) options.push_back("--minimal");
  const std::vector<std::string>& extra = extra_nvrtc_options();
  options.insert(options.end(), extra.begin(), extra.end());
  return options;
}

}  // namespace

std::vector<std::string> supported_archs() {
  std::vector<std::string> archs;
  for (int number : nvrtc_facts().archs) archs.push_back(fmt::format("sm_{}", number));
  return archs;
}

std::string nvrtc_version() { return nvrtc_facts().version; }

bool Toolchain::emits_ptx() const { return is_virtual_arch(arch); }

int arch_number(std::string_view arch) { return parse_arch(arch).number; }

bool is_virtual_arch(std::string_view arch) {
  const ParsedArch parsed = parse_arch(arch);
  return parsed.number >= 0 && parsed.virtual_arch;
}

void check_arch_name(std::string_view arch) {
  if (parse_arch(arch).number < 0) {
    throw std::invalid_argument(fmt::format(
        "arch '{}' is not a real GPU architecture such as sm_90 or sm_100, nor a virtual one such as compute_90",
        arch));
  }
}

Toolchain Toolchain::for_arch(std::string_view arch) {
  check_arch_name(arch);
  const NvrtcFacts& facts = nvrtc_facts();
  // NVRTC lists numbers: compute_90 is as valid as sm_90.
  if (std::find(facts.archs.begin(), facts.archs.end(), parse_arch(arch).number) == facts.archs.end()) {
    throw std::invalid_argument(fmt::format("arch '{}' is not supported by NVRTC {} (it compiles for {}, and for "
                                            "compute_ of each)",
                                            arch, facts.version, fmt::join(supported_archs(), ", ")));
  }
  return {std::string(arch), options_for(arch), facts.version};
}

Toolchain choose_toolchain_for_device(std::string_view device_arch) {
  const ParsedArch device = parse_arch(device_arch);
  if (device.number < 0 || device.virtual_arch) {
    throw std::invalid_argument(fmt::format("'{}' is not a GPU's architecture such as sm_90", device_arch));
  }
  const NvrtcFacts& facts = nvrtc_facts();
  if (std::find(facts.archs.begin(), facts.archs.end(), device.number) != facts.archs.end()) {
    return Toolchain::for_arch(device_arch);
  }
  // The driver finishes PTX of any older virtual arch for a newer GPU; the newest NVRTC can emit loses the least.
  int newest = -1;
  for (int number : facts.archs) {
    if (number <= device.number) newest = std::max(newest, number);
  }
  if (newest < 0) {
    throw Error(fmt::format("this GPU ({}) is older than every arch NVRTC {} compiles for ({}): draftjit's kernels "
                            "cannot run on it; an older NVRTC (DRAFTJIT_NVRTC_LIBRARY) may support it",
                            device_arch, facts.version, fmt::join(supported_archs(), ", ")));
  }
  return Toolchain::for_arch(fmt::format("compute_{}", newest));
}

}  // namespace draftjit::jit
