#include "jit/toolchain.hpp"

#include <fmt/format.h>
#include <nvrtc.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include "draftjit/errors.hpp"

namespace draftjit::jit {
namespace {

void check_nvrtc(nvrtcResult result, const char* call) {
  if (result != NVRTC_SUCCESS) throw Error(fmt::format("{} failed: {}", call, nvrtcGetErrorString(result)));
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

std::vector<int> supported_numbers() {
  int count = 0;
  check_nvrtc(nvrtcGetNumSupportedArchs(&count), "nvrtcGetNumSupportedArchs");
  std::vector<int> numbers(static_cast<std::size_t>(count));
  check_nvrtc(nvrtcGetSupportedArchs(numbers.data()), "nvrtcGetSupportedArchs");
  return numbers;
}

struct NvrtcVersion {
  int major = 0;
  int minor = 0;
  std::string text;  // "13.0"
};

const NvrtcVersion& loaded_nvrtc_version() {
  static const NvrtcVersion version = [] {
    NvrtcVersion v;
    check_nvrtc(nvrtcVersion(&v.major, &v.minor), "nvrtcVersion");
    v.text = fmt::format("{}.{}", v.major, v.minor);
    return v;
  }();
  return version;
}

std::vector<std::string> options_for(std::string_view arch) {
  std::vector<std::string> options = {fmt::format("--gpu-architecture={}", arch), "--std=c++17",
                                      "--device-as-default-execution-space"};
  // --minimal (NVRTC 12.4+) skips the builtin header our kernels do not need: 2-5 ms off every compile, and the
  // cubins are byte-identical (checked for every kind at bs 1..5000, docs/PERF.md).
  const NvrtcVersion& v = loaded_nvrtc_version();
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
  for (int number : supported_numbers()) archs.push_back(fmt::format("sm_{}", number));
  return archs;
}

Toolchain Toolchain::for_arch(std::string_view arch) {
  const int number = arch_number(arch);
  if (number < 0) {
    throw std::invalid_argument(fmt::format("arch '{}' is not a real GPU architecture such as sm_90 or sm_100", arch));
  }
  const std::vector<int> supported = supported_numbers();
  if (std::find(supported.begin(), supported.end(), number) == supported.end()) {
    throw std::invalid_argument(fmt::format("arch '{}' is not supported by NVRTC {} (it compiles for {})", arch,
                                            loaded_nvrtc_version().text, fmt::join(supported_archs(), ", ")));
  }
  return {std::string(arch), options_for(arch), loaded_nvrtc_version().text};
}

}  // namespace draftjit::jit
