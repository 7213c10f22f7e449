// jit::warmup, the loop behind `draftjit warmup` and the Python module's warmup().
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

#include "jit/warmup.hpp"
#include "test_support.hpp"

using namespace draftjit::jit;
using draftjit::test::TempDir;
using draftjit::test::WarningLog;

namespace {

WarmupRequest request_for(std::vector<int> batch_sizes) {
  WarmupRequest request;
  request.batch_sizes = std::move(batch_sizes);
  request.toolchains = {Toolchain::for_arch("sm_90")};
  request.jobs = 2;
  return request;
}

}  // namespace

TEST_CASE("warmup: compiles every kernel once, a new process over the same directory finds them all") {
  TempDir dir;
  WarningLog warnings;
  const WarmupRequest request = request_for({1, 2, 3, 2});  // the repeated 2 adds no kernel
  const std::size_t kernels = kernels_for({1, 2, 3}, request.tuning).size();
  REQUIRE(kernels == 3);

  std::set<std::string> names;
  std::set<std::size_t> finished;
  Pipeline first(std::make_unique<DiskCache>(dir.path(), warnings.sink()));
  const WarmupSummary cold = warmup(request, first, [&](const WarmupItem& item) {
    CHECK_FALSE(item.failed);
    CHECK(item.stored);
    CHECK(item.kernels == kernels);
    names.insert(item.spec.name() + "." + item.toolchain->arch);
    finished.insert(item.finished);
  });
  CHECK(cold.kernels == kernels);
  CHECK(cold.compiled == kernels);
  CHECK(cold.cached == 0);
  CHECK(cold.failed == 0);
  CHECK(cold.not_stored == 0);
  CHECK(cold.bytes > 0);
  CHECK(cold.disk_enabled);
  CHECK(cold.cache_dir == dir.path().string());
  CHECK(cold.workers == std::min<std::size_t>(2, std::max(1u, std::thread::hardware_concurrency())));
  CHECK(names.size() == kernels);  // on_done once per kernel, each a different one
  CHECK(finished == std::set<std::size_t>{1, 2, 3});
  CHECK(first.stats().compiles == kernels);

  Pipeline second(std::make_unique<DiskCache>(dir.path(), warnings.sink()));
  std::size_t calls = 0;
  const WarmupSummary warm = warmup(request, second, [&](const WarmupItem& item) {
    ++calls;
    CHECK(item.origin == Origin::Disk);
  });
  CHECK(calls == kernels);
  CHECK(warm.compiled == 0);
  CHECK(warm.cached == kernels);
  CHECK(warm.bytes == cold.bytes);
  CHECK(second.stats().compiles == 0);
  CHECK(warnings.messages.empty());
}

TEST_CASE("warmup: without a disk cache every kernel is built but not stored, with no callback") {
  Pipeline memory_only;
  const WarmupSummary summary = warmup(request_for({1, 5000}), memory_only);
  CHECK(summary.kernels == kernels_for({1, 5000}, {}).size());
  CHECK(summary.compiled == summary.kernels);
  CHECK(summary.not_stored == summary.kernels);
  CHECK(summary.bytes == 0);
  CHECK_FALSE(summary.disk_enabled);
  CHECK(summary.cache_dir.empty());
}

TEST_CASE("warmup: a callback that throws stops the warmup and its exception reaches the caller") {
  Pipeline memory_only;
  std::size_t calls = 0;
  auto throwing = [&](const WarmupItem&) {
    ++calls;
    throw std::runtime_error("interrupted");
  };
  CHECK_THROWS_WITH_AS(warmup(request_for({1, 2, 3, 4, 5, 6}), memory_only, throwing), "interrupted",
                       std::runtime_error);
  CHECK(calls == 1);
}
