#include <doctest/doctest.h>
#include <fmt/format.h>

#include "ops/draft_extend/family.hpp"
#include "jit/nvrtc/codegen.hpp"
#include "jit/nvrtc/templates.hpp"
#include "draftjit/status.hpp"

using namespace draftjit;
using namespace draftjit::jit;
using namespace draftjit::ops::draft_extend;

namespace {

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("the instantiation is one kernel template over the spec's scan type, behind the params' entry") {
  const Tuning tuning;
  const std::string fused = render_instantiation(fused_spec(5, tuning));
  CHECK(fused.find("#include \"unrolled_scan.cuh\"\n#include \"fused_kernel.cuh\"") != std::string::npos);
  CHECK(fused.find("extern \"C\" __global__ void __launch_bounds__(128) "
                   "draftjit_fused(const draftjit_kernels::FusedParams p) {\n"
                   "  draftjit_kernels::fused_kernel<draftjit_kernels::UnrolledScan<5, 8, 128>>(p);\n}") !=
        std::string::npos);

  const std::string blelloch = render_instantiation(fused_spec(200, tuning));
  CHECK(blelloch.find("fused_kernel<draftjit_kernels::BlellochScan<256, 1, 128>>(p);") != std::string::npos);
  CHECK(blelloch.find("unrolled_scan") == std::string::npos);

  // next_pow2(100000) = 131072 = 8192 slots of 16 lengths
  const std::string scan = render_instantiation(scan_spec(100000, tuning));
  CHECK(scan.find("draftjit_scan(const draftjit_kernels::ScanParams p)") != std::string::npos);
  CHECK(scan.find("scan_kernel<draftjit_kernels::BlellochScan<8192, 16, 1024>>(p);") != std::string::npos);
  CHECK(render_instantiation(scan_spec(3, tuning)).find("scan_kernel<draftjit_kernels::UnrolledScan<3, 4, 1>>(p);") !=
        std::string::npos);

  const std::string fill = render_instantiation(fill_spec(tuning));
  CHECK(fill.find("__launch_bounds__(256) draftjit_fill(const draftjit_kernels::FillParams p)") != std::string::npos);
  CHECK(fill.find("fill_kernel<256>(p);") != std::string::npos);
  CHECK(fill.find("scan.cuh") == std::string::npos);
}

TEST_CASE("render_source inlines each header of templates/ once, where it is first included") {
  const std::string source = render_source(fused_spec(200, Tuning{}));
  CHECK(source.find("#include") == std::string::npos);
  for (const char* guard : {"DRAFTJIT_KERNEL_PARAMS_CUH", "DRAFTJIT_COMMON_CUH", "DRAFTJIT_BLELLOCH_SCAN_CUH",
                            "DRAFTJIT_FUSED_KERNEL_CUH"}) {
    CAPTURE(guard);
    CHECK(count(source, fmt::format("#ifndef {}\n", guard)) == 1);
  }
  CHECK(source.find("DRAFTJIT_UNROLLED_SCAN_CUH") == std::string::npos);
  // A header's text goes in where it is first included, so every definition comes before its first use.
  CHECK(source.find("struct FusedParams {") < source.find("int request_bits("));
  CHECK(source.find("int request_bits(") < source.find("struct BlellochScan {"));
  CHECK(source.find("struct BlellochScan {") < source.find("void fused_kernel("));
  CHECK(source.find("void fused_kernel(") < source.find("extern \"C\" __global__"));
  CHECK_THROWS_AS(template_text("no_such_header.cuh"), std::logic_error);
}

TEST_CASE("rendering is deterministic") {
  const KernelSpec spec = fused_spec(77, Tuning{});
  CHECK(render_source(spec) == render_source(spec));
}

TEST_CASE("describe_status names each bit") {
  CHECK(describe_status(0) == "ok");
  CHECK(describe_status(kStatusCapacityExceeded) == "total tokens exceed capacity");
  CHECK(describe_status(kStatusNegativeExtendLen | kStatusSeqLenBelowExtend) ==
        "negative extend length | seq_len below extend length");
  CHECK(describe_status(64).find("unknown bits 0x40") != std::string::npos);
}
