// jit::warmup, the loop behind `draftjit warmup` and the Python module's warmup().
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

#include "jit/warmup.hpp"
#include "test_prologue.hpp"

namespace {

WarmupRequest request_for(const std::vector<int>& batch_sizes) {
  WarmupRequest request;
  request.specs = kernels_for(batch_sizes, draftjit::Tuning{});
  request.toolchains = {Toolchain::for_arch("sm_90")};
  request.jobs = 2;
  return request;
}

}  // namespace

TEST_CASE("warmup: compiles every kernel once, a new process over the same directory finds them all") {
  TempDir dir;
  WarningLog warnings;
  const WarmupRequest request = request_for({1, 2, 3, 2});  // the repeated 2 adds no kernel
  const std::size_t kernels = kernels_for({1, 2, 3}, draftjit::Tuning{}).size();
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

TEST_CASE("issue18: a request's explicit kernels are built as given, for their own toolchains, each once") {
  TempDir dir;
  WarningLog warnings;
  WarmupRequest request = request_for({1});  // fused_unrolled.bs1 on sm_90
  const Toolchain sm90 = Toolchain::for_arch("sm_90");
  const Toolchain ptx = Toolchain::for_arch("compute_90");
  request.kernels = {{fused_spec(1, {}), sm90},  // repeats the kernel of bs 1
                     {fill_spec({}), sm90},
                     {fused_spec(2, {}), ptx},
                     {fill_spec({}), sm90}};
  std::set<std::string> names;
  Pipeline pipeline(std::make_unique<DiskCache>(dir.path(), warnings.sink()));
  const WarmupSummary summary = warmup(request, pipeline, [&](const WarmupItem& item) {
    CHECK_FALSE(item.failed);
    names.insert(item.spec.name() + "." + item.toolchain->arch);
  });
  CHECK(summary.kernels == 3);
  CHECK(summary.compiled == 3);
  CHECK(names == std::set<std::string>{"fused_unrolled.bs1.t128.sm_90", fill_spec({}).name() + ".sm_90",
                                       "fused_unrolled.bs2.t128.compute_90"});
}

TEST_CASE("issue18: warmup_kernels gives each manifest entry the toolchain of its arch") {
  const std::vector<WarmupKernel> kernels =
      warmup_kernels({{fused_spec(1, {}), "sm_90"}, {fill_spec({}), "compute_90"}, {fused_spec(2, {}), "sm_90"}});
  REQUIRE(kernels.size() == 3);
  CHECK(kernels[0].toolchain.arch == "sm_90");
  CHECK(kernels[1].toolchain.arch == "compute_90");
  CHECK(kernels[1].toolchain.emits_ptx());
  CHECK(kernels[2].spec == fused_spec(2, {}));
  CHECK_THROWS_AS(warmup_kernels({{fill_spec({}), "sm_20"}}), std::invalid_argument);
}
