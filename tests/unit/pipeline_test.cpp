#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include "jit/pipeline.hpp"
#include "test_prologue.hpp"

namespace {
const Toolchain kSm100 = Toolchain::for_arch("sm_100");
}  // namespace

TEST_CASE("pipeline: second request is a hit with the same cubin") {
  Pipeline cache;
  Origin origin{};
  const KernelSpec spec = fused_spec(3, Tuning{});
  auto first = cache.get(spec, kSm90, &origin);
  CHECK(origin == Origin::Compiled);
  auto second = cache.get(spec, kSm90, &origin);
  CHECK(origin == Origin::Memory);
  CHECK(first == second);
  CHECK(first->entry == "draftjit_fused");
  CHECK(cache.stats().compiles == 1);
  cache.get(spec, kSm100, &origin);
  CHECK(origin == Origin::Compiled);
  CHECK(cache.stats().compiles == 2);
}

TEST_CASE("single flight: 8 threads asking for one new key compile it once") {
  TempDir dir;
  WarningLog warnings;
  Pipeline cache(std::make_unique<DiskCache>(dir.path(), warnings.sink()));
  const KernelSpec spec = fused_spec(300, Tuning{});
  std::vector<std::shared_ptr<const CompiledKernel>> got(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) threads.emplace_back([&, t] { got[t] = cache.get(spec, kSm90); });
  for (auto& t : threads) t.join();
  CHECK(cache.stats().compiles == 1);
  CHECK(cache.stats().disk_hits == 0);
  CHECK(cache.stats().memory_hits == 7);
  for (const auto& k : got) CHECK(k == got[0]);
  CHECK(warnings.messages.empty());
}

TEST_CASE("a new cache over the same directory (a new process) loads from disk without rendering or NVRTC") {
  TempDir dir;
  const KernelSpec spec = scan_spec(40, Tuning{});
  std::vector<char> cubin;
  {
    Pipeline first(std::make_unique<DiskCache>(dir.path()));
    cubin = first.get(spec, kSm90)->cubin;
    CHECK(first.stats().compiles == 1);
  }
  Pipeline second(std::make_unique<DiskCache>(dir.path()));
  Origin origin{};
  CHECK(second.get(spec, kSm90, &origin)->cubin == cubin);
  CHECK(origin == Origin::Disk);
  CHECK(second.stats().renders == 0);
  CHECK(second.stats().compiles == 0);
}
