// GPU suite entry. Without a CUDA device every run exits 77, which CTest reports as "Skipped" under the test's own
// name (each case is registered and run separately), so no GPU test ever counts as passed on a machine without one.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <string_view>

#include "draftjit.hpp"

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
  return context.run();
}
