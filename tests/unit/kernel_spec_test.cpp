#include <doctest/doctest.h>

#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "ops/draft_extend/family.hpp"
#include "jit/kernel_family.hpp"
#include "jit/kernel_spec.hpp"
#include "ops/eagle/eagle_kernel.cuh"
#include "ops/fa3/fa3_kernel.cuh"
#include "ops/kv_indices/kv_indices_kernel.cuh"
#include "ops/trtllm_mha/trtllm_mha_kernel.cuh"
#include "templates/kernel_params.cuh"

using namespace draftjit;
using namespace draftjit::jit;
using namespace draftjit::ops::draft_extend;

TEST_CASE("bs outside [0, 1048576] is a clear invalid_argument naming the limit") {
  CHECK_NOTHROW(check_bs(0, "t"));
  CHECK_NOTHROW(check_bs(kMaxBs, "t"));
  for (std::int64_t bad : {std::int64_t{-1}, std::int64_t{kMaxBs} + 1, std::int64_t{1} << 40}) {
    CAPTURE(bad);
    try {
      check_bs(bad, "some_call");
      FAIL("no exception");
    } catch (const std::invalid_argument& e) {
      const std::string what = e.what();
      CHECK(what.find("some_call") != std::string::npos);
      CHECK(what.find("1048576") != std::string::npos);
      CHECK(what.find(std::to_string(bad)) != std::string::npos);
    }
  }
  CHECK_THROWS_AS(scan_spec(kMaxBs + 1, Tuning{}), std::invalid_argument);
}

TEST_CASE("next_pow2") {
  CHECK(next_pow2(0) == 1);
  CHECK(next_pow2(1) == 1);
  CHECK(next_pow2(2) == 2);
  CHECK(next_pow2(3) == 4);
  CHECK(next_pow2(200) == 256);
  CHECK(next_pow2(1024) == 1024);
  CHECK(next_pow2(1025) == 2048);
  CHECK(next_pow2(kMaxBs) == kMaxBs);
}

TEST_CASE("specs cover every bs with power-of-two slots that fit one block") {
  const Tuning tuning;
  for (int bs : {0, 1, 2, 63, 64, 65, 127, 128, 129, 200, 1023, 1024, 1025, 2049, 8191, 8192, 8193, 65537, kMaxBs}) {
    CAPTURE(bs);
    for (const KernelSpec& spec : {scan_spec(bs, tuning), call_plan(bs, tuning).main}) {
      CHECK(spec.slots * spec.chunk >= bs);
      CHECK((spec.slots & (spec.slots - 1)) == 0);
      CHECK((spec.chunk & (spec.chunk - 1)) == 0);
      CHECK(spec.slots <= kMaxSlots);
      CHECK(spec.threads >= 1);
      CHECK(spec.threads <= kMaxThreads);
      if (spec.kind() == "fused_unrolled" || spec.kind() == "fused_blelloch") CHECK(spec.chunk == 1);
    }
    const CallPlan plan = call_plan(bs, tuning);
    CHECK(plan.single_launch() == (bs <= tuning.fused_max_bs));
    if (!plan.single_launch()) CHECK(plan.fill->kind() == "fill");
    const CallPlan offsets = offsets_plan(bs, tuning);  // the scan alone, whatever the draft-extend path
    CHECK(offsets.single_launch());
    CHECK(offsets.main == scan_spec(bs, tuning));
  }
  CHECK(scan_spec(200, tuning).slots == 256);
  CHECK(scan_spec(tuning.unroll_max_bs, tuning).kind() == "scan_unrolled");
  CHECK(scan_spec(tuning.unroll_max_bs + 1, tuning).kind() == "scan_blelloch");
  CHECK(fused_spec(200, tuning).threads == 128);
  CHECK(fused_spec(4096, tuning).threads == 512);
  CHECK_THROWS_AS(fused_spec(tuning.fused_max_bs + 1, tuning), std::invalid_argument);
}

TEST_CASE("unroll threshold is configurable") {
  Tuning tuning;
  tuning.unroll_max_bs = 8;
  CHECK(fused_spec(8, tuning).kind() == "fused_unrolled");
  CHECK(fused_spec(9, tuning).kind() == "fused_blelloch");
  tuning.unroll_max_bs = 0;
  CHECK(fused_spec(1, tuning).kind() == "fused_blelloch");
  CHECK(fused_spec(0, tuning).kind() == "fused_unrolled");
}

TEST_CASE("spec ids are distinct and names are readable") {
  const Tuning tuning;
  std::set<std::uint64_t> ids;
  std::set<std::string> names;
  std::size_t specs = 0;
  for (int bs = 0; bs <= 3000; ++bs) {
    for (const KernelSpec& spec : {scan_spec(bs, tuning), fused_spec(bs, tuning)}) {
      ids.insert(spec.id());
      names.insert(spec.name());
      ++specs;
    }
  }
  CHECK(ids.size() == names.size());
  CHECK(fused_spec(5, tuning).name() == "fused_unrolled.bs5.t128");
  CHECK(fused_spec(200, tuning).name() == "fused_blelloch.s256.c1.t128");
  CHECK(scan_spec(kMaxBs, tuning).name() == "scan_blelloch.s8192.c128.t1024");
}

TEST_CASE("bad tuning is rejected") {
  Tuning tuning;
  tuning.fused_max_bs = kMaxFusedBs + 1;
  CHECK_THROWS_AS(validate(tuning), std::invalid_argument);
  tuning = Tuning{};
  tuning.fill_threads = 33;
  CHECK_THROWS_AS(validate(tuning), std::invalid_argument);
  CHECK_NOTHROW(validate(Tuning{}));
}

TEST_CASE("the registry: every kind named once, found by its name, entries from the params structs") {
  const std::vector<std::string> names = kind_names();
  CHECK(std::set<std::string>(names.begin(), names.end()).size() == names.size());
  for (const std::string& name : names) {
    CAPTURE(name);
    const std::optional<KernelSpec> spec = spec_of_kind(name);
    REQUIRE(spec.has_value());
    CHECK(spec->kind() == name);
  }
  CHECK_FALSE(spec_of_kind("fused").has_value());  // the variant alone names no kind: it is built over two scans
  CHECK_FALSE(spec_of_kind("fill_unrolled").has_value());
  CHECK(std::string(fused_spec(200, Tuning{}).variant_info().entry) == "draftjit_fused");
  CHECK(std::string(scan_spec(3, Tuning{}).variant_info().entry) == "draftjit_scan");
  CHECK(std::string(fill_spec(Tuning{}).variant_info().entry) == "draftjit_fill");
  CHECK(fill_spec(Tuning{}).name() == "fill.t256");
}

TEST_CASE("a spec outside the registry is a logic error, not a crash") {
  KernelSpec spec = fill_spec(Tuning{});
  spec.family = static_cast<std::uint8_t>(kernel_families().size());
  CHECK_THROWS_AS(spec.family_info(), std::out_of_range);
  spec = fill_spec(Tuning{});
  spec.variant = 7;
  CHECK_THROWS_AS(spec.name(), std::out_of_range);
  spec = fill_spec(Tuning{});
  spec.scan = Scan::Unrolled;  // the fill is built over no scan
  CHECK_THROWS_AS(check_spec_is_buildable(spec), std::invalid_argument);
  spec = fill_spec(Tuning{});
  spec.flags = 1;  // the draft-extend family has no switches
  CHECK_THROWS_WITH_AS(check_spec_is_buildable(spec), doctest::Contains("flags must be 0"), std::invalid_argument);
}

// The sizes the compiled kernels declare: tests/filecheck/kernel_params.test, dsa_kernels.test, trtllm_mha_kernel.test.
TEST_CASE("params structs have the sizes the compiled kernels declare (tests/filecheck/*.test)") {
  CHECK(sizeof(draftjit_kernels::FusedParams) == 72);
  CHECK(sizeof(draftjit_kernels::ScanParams) == 56);
  CHECK(sizeof(draftjit_kernels::FillParams) == 56);
  CHECK(sizeof(draftjit_kernels::DsaDecodeParams) == 192);
  CHECK(sizeof(draftjit_kernels::DsaTargetVerifyParams) == 232);
  CHECK(sizeof(draftjit_kernels::DsaDraftExtendParams) == 224);
  CHECK(sizeof(draftjit_kernels::TrtllmMhaParams) == 240);
  CHECK(sizeof(draftjit_kernels::Fa3DecodeParams) == 176);
  CHECK(sizeof(draftjit_kernels::Fa3ExtendParams) == 224);
  CHECK(sizeof(draftjit_kernels::Fa3SpecTableParams) == 152);
  CHECK(sizeof(draftjit_kernels::Fa3KvSplitsParams) == 64);
  CHECK(sizeof(draftjit_kernels::EagleCacheLocsParams) == 104);  // tests/filecheck/eagle_kernel.test
  CHECK(sizeof(draftjit_kernels::EagleDraftKvParams) == 176);  // tests/filecheck/eagle_kernel.test
  CHECK(sizeof(draftjit_kernels::KvIndicesParams) == 184);
}

// check_spec_is_buildable derives its limits from the constructors and the named bounds (kMaxUnrollBs, kMaxFusedBs,
// kMaxBs, kMaxSlots, kMaxThreads): what the widest valid tunings make passes, one step past any bound does not.
TEST_CASE("a spec is buildable exactly when the constructors make it under some valid tuning") {
  Tuning widest;
  widest.unroll_max_bs = kMaxUnrollBs;
  CHECK_NOTHROW(validate(widest));
  Tuning too_wide = widest;
  too_wide.unroll_max_bs = kMaxUnrollBs + 1;
  CHECK_THROWS_WITH_AS(validate(too_wide), "draftjit::Tuning: unroll_max_bs must be in [0, 1024]",
                       std::invalid_argument);
  Tuning blelloch_only;
  blelloch_only.unroll_max_bs = 0;
  blelloch_only.fused_blelloch_min_threads = 32;
  blelloch_only.fused_blelloch_max_threads = kMaxThreads;
  for (const Tuning& tuning : {Tuning{}, widest, blelloch_only}) {
    for (int bs : {0, 1, 5, 128, kMaxUnrollBs, kMaxFusedBs, kMaxFusedBs + 1, 8193, kMaxBs}) {
      CAPTURE(bs);
      for (const KernelSpec& spec : kernels_for({bs}, tuning)) {
        CAPTURE(spec.name());
        CHECK_NOTHROW(check_spec_is_buildable(spec));
      }
    }
  }
  auto refused = [](const KernelSpec& spec, const std::string& rule) {
    CAPTURE(spec.name());
    CHECK_THROWS_WITH_AS(check_spec_is_buildable(spec), doctest::Contains(rule.c_str()), std::invalid_argument);
  };
  KernelSpec spec = scan_spec(kMaxUnrollBs, widest);
  CHECK_NOTHROW(check_spec_is_buildable(spec));
  spec.bs = kMaxUnrollBs + 1;
  spec.slots = next_pow2(spec.bs);
  refused(spec, "bs must be in [0, 1024]");
  spec = scan_spec(kMaxBs, Tuning{});
  spec.chunk *= 2;
  refused(spec, "chunk must be a power of two with slots * chunk <= 1048576");
  spec = fused_spec(kMaxFusedBs, blelloch_only);
  spec.slots *= 2;
  refused(spec, "slots * chunk <= 4096");
  spec = fill_spec(Tuning{});
  spec.threads = kMaxThreads + 32;
  refused(spec, "no tuning makes this fill kernel: bs=0 slots=1 chunk=1 threads=1056: threads must be a multiple");
}
