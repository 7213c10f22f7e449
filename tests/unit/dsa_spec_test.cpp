// Issue 21: the DSA kernels' specs. What decides the code (bs, the mode, the switches) is in the spec and its key;
// nothing a call passes at run time is.
#include <doctest/doctest.h>

#include <set>
#include <stdexcept>
#include <string>

#include "ops/draft_extend/family.hpp"
#include "ops/dsa/family.hpp"
#include "ops/kinds.hpp"
#include "jit/nvrtc/codegen.hpp"
#include "jit/kernel_spec.hpp"
#include "jit/cache/manifest.hpp"
#include "templates/kernel_params.cuh"

using namespace draftjit;
using namespace draftjit::jit;
using namespace draftjit::ops::draft_extend;

namespace {

jit::KernelSpec dsa_spec(DsaMode mode, int bs, const DsaSwitches& switches, const Tuning& tuning) {
  return ops::dsa::spec_for(mode, bs, switches, tuning);
}

}  // namespace

namespace {

constexpr DsaMode kModes[] = {DsaMode::Decode, DsaMode::TargetVerify, DsaMode::DraftExtend};

// Every combination of switches a mode has (ctx_lens_2d is target verify's alone, the extend switches draft
// extend's, real_only needs paged).
std::vector<DsaSwitches> all_switches(DsaMode mode) {
  std::vector<DsaSwitches> out;
  for (int bits = 0; bits < 256; ++bits) {
    const bool ctx = (bits & 16) != 0;
    const bool extend = (bits & (32 | 64)) != 0;
    const bool paged = (bits & 4) != 0;
    const bool real_only = (bits & 128) != 0;
    if ((ctx && mode != DsaMode::TargetVerify) || (extend && mode != DsaMode::DraftExtend) || (real_only && !paged)) {
      continue;
    }
    out.push_back({(bits & 1) != 0 ? IndexType::Int64 : IndexType::Int32,
                   (bits & 2) != 0 ? IndexType::Int32 : IndexType::Int64, paged, (bits & 8) != 0, ctx,
                   (bits & 32) != 0 ? IndexType::Int64 : IndexType::Int32, (bits & 64) != 0, real_only});
  }
  return out;
}

}  // namespace

TEST_CASE("issue21: DSA specs: the unrolled scan up to unroll_max_bs, the Blelloch above, readable names") {
  const Tuning tuning;
  CHECK(dsa_spec(DsaMode::Decode, 5, {}, tuning).name() == "dsa_decode_unrolled.bs5.t256");
  CHECK(dsa_spec(DsaMode::TargetVerify, 200, {.paged = true, .ctx_lens_2d = true}, tuning).name() ==
        "dsa_target_verify_blelloch.s256.c1.t256.paged.ctx2d");
  CHECK(dsa_spec(DsaMode::DraftExtend, kMaxDsaBs, {.seq_lens = IndexType::Int64}, tuning).name() ==
        "dsa_draft_extend_blelloch.s8192.c8.t1024.seq64");
  CHECK(dsa_spec(DsaMode::DraftExtend, 3, {.req_pool_indices = IndexType::Int32, .kpool = true}, tuning).name() ==
        "dsa_draft_extend_unrolled.bs3.t256.pool32.kpool");
  // Draft extend keeps the extend offsets beside the prefix: two arrays of slots words.
  CHECK(dsa_spec(DsaMode::DraftExtend, kMaxDsaBs, {}, tuning).dynamic_shared_bytes() == 2 * 8192 * 4);
  CHECK(dsa_spec(DsaMode::Decode, kMaxDsaBs, {}, tuning).dynamic_shared_bytes() == 8192 * 4);
  CHECK(fused_spec(5, tuning).dynamic_shared_bytes() == 0);
}

TEST_CASE("issue21: DSA specs are refused outside [0, kMaxDsaBs] and with a switch the mode lacks") {
  CHECK_THROWS_WITH_AS(dsa_spec(DsaMode::Decode, kMaxDsaBs + 1, {}, Tuning{}),
                       "dsa_spec: bs = 65537 is outside the supported range [0, 65536]", std::invalid_argument);
  CHECK_THROWS_AS(dsa_spec(DsaMode::Decode, -1, {}, Tuning{}), std::invalid_argument);
  CHECK_THROWS_WITH_AS(dsa_spec(DsaMode::DraftExtend, 4, {.ctx_lens_2d = true}, Tuning{}),
                       doctest::Contains("the ctx2d switch is target verify's only"), std::invalid_argument);
}

TEST_CASE("issue21: every DSA spec has its own id and name, and each is buildable and round-trips a manifest line") {
  std::set<std::uint64_t> ids;
  std::set<std::string> names;
  std::size_t specs = 0;
  Tuning blelloch_only;
  blelloch_only.unroll_max_bs = 0;
  for (const Tuning& tuning : {Tuning{}, blelloch_only}) {
    for (DsaMode mode : kModes) {
      for (const DsaSwitches& switches : all_switches(mode)) {
        for (int bs : {0, 1, 2, 31, 32, 33, 128, 129, 4096, 4097, 8193, 16384, 32769, kMaxDsaBs}) {
          const KernelSpec spec = dsa_spec(mode, bs, switches, tuning);
          CAPTURE(spec.name());
          CHECK_NOTHROW(check_spec_is_buildable(spec));
          const ManifestEntry entry{spec, "sm_90"};
          CHECK(parse_manifest_entry(format_manifest_entry(entry)).spec == spec);
          if (ids.insert(spec.id()).second) ++specs;
          names.insert(spec.name());
        }
      }
    }
  }
  CHECK(ids.size() == specs);
  CHECK(names.size() == specs);
  // The draft-extend kinds' ids stay apart from the DSA kinds' too.
  for (int bs : {0, 5, 200}) CHECK(ids.count(fused_spec(bs, Tuning{}).id()) == 0);
}

TEST_CASE("issue21: a DSA spec no tuning makes is refused, naming the rule") {
  auto refused = [](const KernelSpec& spec, const char* rule) {
    CAPTURE(spec.name());
    CHECK_THROWS_WITH_AS(check_spec_is_buildable(spec), doctest::Contains(rule), std::invalid_argument);
  };
  KernelSpec spec = dsa_spec(DsaMode::Decode, 5, {}, Tuning{});
  spec.flags = draftjit_kernels::kDsaCtxLens2d;
  refused(spec, "the ctx2d switch is target verify's only");
  spec.flags = draftjit_kernels::kDsaFlagsEnd;
  refused(spec, "flags must be bits of the dsa family's 8 switches");
  spec.flags = draftjit_kernels::kDsaRealOnly;
  refused(spec, "the realonly switch needs paged");
  spec.flags = draftjit_kernels::kDsaStaticExtend;
  refused(spec, "the ext64 and static switches are draft extend's only");
  spec = dsa_spec(DsaMode::Decode, 5, {}, Tuning{});
  spec.slots = 16;
  refused(spec, "slots and chunk must be 8 and 1");
  spec = dsa_spec(DsaMode::DraftExtend, kMaxDsaBs, {}, Tuning{});
  spec.slots *= 2;
  refused(spec, "slots x chunk must be powers of two of at most 65536 lengths");
  spec = dsa_spec(DsaMode::DraftExtend, kMaxDsaBs, {}, Tuning{});
  spec.slots /= 2;
  spec.chunk *= 2;
  refused(spec, "slots and chunk must be 8192 and 8");
  spec = dsa_spec(DsaMode::DraftExtend, kMaxDsaBs, {}, Tuning{});
  spec.threads = 256;  // 8192 slots need 1024 threads at 8 slots each
  refused(spec, "threads must be at least 1024");
  spec = fused_spec(5, Tuning{});
  spec.flags = draftjit_kernels::kDsaPaged;
  refused(spec, "flags must be 0");
  CHECK_THROWS_WITH_AS(parse_manifest_entry("v1 dsa_decode_unrolled bs=5 slots=8 chunk=1 threads=256 arch=sm_90"),
                       doctest::Contains("expected 8 fields"), std::invalid_argument);
}

TEST_CASE("issue21: the rendered DSA source instantiates its mode's kernel over the scan type and the switches") {
  const std::string unrolled = render_instantiation(dsa_spec(DsaMode::DraftExtend, 5, {.paged = true}, Tuning{}));
  CHECK(unrolled.find("draftjit_dsa_draft_extend(const draftjit_kernels::DsaDraftExtendParams p)") !=
        std::string::npos);
  CHECK(unrolled.find("dsa_draft_extend_kernel<draftjit_kernels::UnrolledScan<5, 8, 256>, 4>(p)") !=
        std::string::npos);
  const std::string blelloch =
      render_instantiation(dsa_spec(DsaMode::TargetVerify, 300, {.seq_lens = IndexType::Int64}, Tuning{}));
  CHECK(blelloch.find("dsa_target_verify_kernel<draftjit_kernels::BlellochScan<512, 1, 256>, 1>(p)") !=
        std::string::npos);
}

TEST_CASE("issue21: the dsa kinds list each distinct kernel once, the Blelloch kernels serve a power of two") {
  const std::vector<std::int64_t> bs = {1, 2, 2, 33, 40, 64, 65, 128};
  const std::vector<KernelSpec> specs = ops::kernels_for(ops::call_kind_named("dsa-decode"), bs, 0, Tuning{});
  // 1, 2, then slots 64 (33, 40, 64) and 128 (65, 128) with the default unroll_max_bs of 32.
  REQUIRE(specs.size() == 4);
  CHECK(specs[2].name() == "dsa_decode_blelloch.s64.c1.t256");
  const std::string paged = "paged";
  const ops::CallKind& verify = ops::call_kind_named("dsa-verify");
  CHECK(ops::kernels_for(verify, bs, ops::flags_named(verify, {&paged, 1}), Tuning{})[0] ==
        dsa_spec(DsaMode::TargetVerify, 1, {.paged = true}, Tuning{}));
  CHECK_THROWS_WITH_AS(ops::call_kind_named("dsa-nope"), doctest::Contains("dsa-decode, dsa-verify, dsa-extend"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::flags_named(ops::call_kind_named("main"), {&paged, 1}),
                       "the main kind takes no switches, not 'paged'", std::invalid_argument);
}
