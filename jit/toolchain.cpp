#include "jit/toolchain.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include "draftjit/errors.hpp"
#include "jit/nvrtc_library.hpp"

namespace draftjit::jit {
namespace {

void check_nvrtc(nvrtcResult result, const char* call) {
  if (result != NVRTC_SUCCESS) throw Error(fmt::format("{} failed: {}", call, nvrtc().nvrtcGetErrorString(result)));
}

// "sm_90a" -> 90; -1 unless the text is sm_ followed by digits and an optional 'a' or 'f' suffix.
int arch_number(std::string_view arch) {
  if (arch.size() < 5 || arch.substr(0, 3) != "sm_") return -1;
  std::string_view digits = arch.substr(3);
  if (digits.back() == 'a' || digits.back() == 'f') digits.remove_suffix(1);
  if (digits.empty() || digits.size() > 4 || !std::all_of(digits.begin(), digits.end(), [](char c) {
        return c >= '0' && c <= '9';
      })) {
    return -1;
  }
  return std::stoi(std::string(digits));
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

std::vector<std::string> options_for(std::string_view arch) {
  std::vector<std::string> options = {fmt::format("--gpu-architecture={}", arch), "--std=c++17",
                                      "--device-as-default-execution-space"};
  // --minimal (NVRTC 12.4+) skips the builtin header our kernels do not need: 2-5 ms off every compile, and the
  // cubins are byte-identical (checked for every kind at bs 1..5000, docs/PERF.md).
  const NvrtcFacts& v = nvrtc_facts();
  if (v.major > 12 || (v.major == 12 && v.minor >= 4)) options.push_back("--minimal");
  // Extra options for experiments (e.g. -Ofast-compile=min, measured in docs/PERF.md); part of every key, so their
  // kernels never mix with the default ones on disk. NVRTC itself rejects what it does not know, with its log.
  if (const char* extra = std::getenv("DRAFTJIT_NVRTC_OPTIONS")) {
    std::istringstream words(extra);
    for (std::string word; words >> word;) options.push_back(word);
  }
  return options;
}

}  // namespace

std::vector<std::string> supported_archs() {
  std::vector<std::string> archs;
  for (int number : nvrtc_facts().archs) archs.push_back(fmt::format("sm_{}", number));
  return archs;
}

std::string nvrtc_version() { return nvrtc_facts().version; }

void check_arch_name(std::string_view arch) {
  if (arch_number(arch) < 0) {
    throw std::invalid_argument(fmt::format("arch '{}' is not a real GPU architecture such as sm_90 or sm_100", arch));
  }
}

Toolchain Toolchain::for_arch(std::string_view arch) {
  check_arch_name(arch);
  const NvrtcFacts& facts = nvrtc_facts();
  if (std::find(facts.archs.begin(), facts.archs.end(), arch_number(arch)) == facts.archs.end()) {
    throw std::invalid_argument(fmt::format("arch '{}' is not supported by NVRTC {} (it compiles for {})", arch,
                                            facts.version, fmt::join(supported_archs(), ", ")));
  }
  return {std::string(arch), options_for(arch), facts.version};
}

}  // namespace draftjit::jit
