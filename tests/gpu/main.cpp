// GPU suite entry. Without a CUDA device every run exits 77, which CTest reports as "Skipped" under the test's own
// name (each case is registered and run separately), so no GPU test ever counts as passed on a machine without one.
// Cases named "two devices: ..." are skipped the same way when fewer than two devices are present.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <string_view>

#include <cuda_runtime.h>

#include "draftjit/draftjit.hpp"

namespace {

constexpr const char* kTwoDevicePattern = "two devices:*";

int device_count() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess ? count : 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool listing = false;
  std::string_view selected = "all GPU tests";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.rfind("--list", 0) == 0 || arg.rfind("-l", 0) == 0) listing = true;
    if (arg.rfind("--test-case=", 0) == 0) selected = arg.substr(12);
  }
  if (!listing && !draftjit::cuda_available()) {
    fmt::print("SKIPPED (no CUDA device): {}\n", selected);
    return 77;
  }
  doctest::Context context(argc, argv);
  if (!listing && device_count() < 2) {
    if (selected.rfind("two devices:", 0) == 0) {
      fmt::print("SKIPPED (needs 2 CUDA devices, found {}): {}\n", device_count(), selected);
      return 77;
    }
    fmt::print("SKIPPED (needs 2 CUDA devices, found {}): {}\n", device_count(), kTwoDevicePattern);
    context.addFilter("test-case-exclude", kTwoDevicePattern);
  }
  return context.run();
}
