#include <doctest/doctest.h>
#include <fmt/format.h>

#include "jit/codegen.hpp"
#include "draftjit/status.hpp"

using namespace draftjit;
using namespace draftjit::jit;

namespace {

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("unrolled scan has exactly bs adds, bs loads per array, and no loop") {
  for (int bs : {0, 1, 2, 7, 64}) {
    CAPTURE(bs);
    const std::string code = render_unrolled_scan(bs);
    CHECK(count(code, "acc += ") == static_cast<std::size_t>(bs));
    CHECK(count(code, " = __ldg(&ext[") == static_cast<std::size_t>(bs));
    CHECK(count(code, " = __ldg(&seq[") == static_cast<std::size_t>(bs));
    CHECK(count(code, "for (") == 0);
    CHECK(count(code, "while") == 0);
    // offsets out[0..bs] are each written once
    for (int j = 0; j <= bs; ++j) CHECK(count(code, fmt::format("out[{}] = acc;", j)) == 1);
    CHECK(count(code, fmt::format("out[{}]", bs + 1)) == 0);
  }
}

TEST_CASE("the fused kernel's unrolled prefix reads ext alone and pads shared slots up to the power of two") {
  const std::string code = render_unrolled_prefix(5, 8);
  CHECK(count(code, "acc += ") == 5);
  CHECK(count(code, " = __ldg(&ext[") == 5);
  CHECK(count(code, "seq[") == 0);  // the block checks seq and writes fill bases in parallel
  CHECK(count(code, "for (") == 0);
  for (int j = 0; j < 8; ++j) CHECK(count(code, fmt::format("out[{}] = acc;", j)) == 1);
  CHECK(count(code, "out[8]") == 0);
}

TEST_CASE("render_source picks the template of each kind and bakes the constants") {
  const Tuning tuning;
  const std::string fused = render_source(fused_spec(5, tuning));
  CHECK(fused.find("extern \"C\" __global__") != std::string::npos);
  CHECK(fused.find("draftjit_fused(") != std::string::npos);
  CHECK(fused.find("unrolled_prefix(") != std::string::npos);
  CHECK(fused.find("constexpr int kSlots = 8;") != std::string::npos);

  const std::string blelloch = render_source(fused_spec(200, tuning));
  CHECK(blelloch.find("constexpr int kSlots = 256;") != std::string::npos);
  CHECK(blelloch.find("unrolled_scan") == std::string::npos);
  CHECK(blelloch.find("up-sweep") != std::string::npos);

  const std::string scan = render_source(scan_spec(100000, tuning));
  CHECK(scan.find("draftjit_scan(") != std::string::npos);
  CHECK(scan.find("constexpr int kSlots = 8192;") != std::string::npos);
  CHECK(scan.find("constexpr int kChunk = 16;") != std::string::npos);  // next_pow2(100000) = 131072 = 8192 * 16

  CHECK(render_source(fill_spec(tuning)).find("draftjit_fill(") != std::string::npos);
}

TEST_CASE("status bits in the kernels come from the host enum") {
  const std::string code = render_source(fused_spec(3, Tuning{}));
  CHECK(code.find(fmt::format("kStatusNegativeExtendLen = {};", int(kStatusNegativeExtendLen))) != std::string::npos);
  CHECK(code.find(fmt::format("kStatusTotalOverflow = {};", int(kStatusTotalOverflow))) != std::string::npos);
  CHECK(code.find(fmt::format("kStatusCapacityExceeded = {};", int(kStatusCapacityExceeded))) != std::string::npos);
  CHECK(code.find(fmt::format("kStatusSeqLenBelowExtend = {};", int(kStatusSeqLenBelowExtend))) != std::string::npos);
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
