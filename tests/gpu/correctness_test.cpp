// Every path (unrolled, Blelloch, fused, two-kernel) against the CPU reference on fresh random inputs, with outputs
// poisoned before each call and checked past the total and past capacity.
#include <cuda.h>

#include <vector>

#include "gpu_support.hpp"
#include "jit/pipeline.hpp"

using namespace draftjit;
using namespace draftjit::test;

namespace {

std::vector<std::int64_t> suite_batch_sizes() {
  std::vector<std::int64_t> sizes;
  for (std::int64_t bs = 0; bs <= 130; ++bs) sizes.push_back(bs);
  for (std::int64_t pow2 : {256, 512, 1024, 2048, 4096, 8192}) {
    for (std::int64_t bs : {pow2 - 1, pow2, pow2 + 1}) sizes.push_back(bs);
  }
  for (std::int64_t bs : {65537, 1 << 20}) sizes.push_back(bs);
  return sizes;
}

void run_suite(const Tuning& tuning, const std::vector<std::int64_t>& sizes, unsigned seed) {
  REQUIRE_CUDA(cudaSetDevice(0));
  cudaStream_t stream;
  REQUIRE_CUDA(cudaStreamCreate(&stream));
  std::mt19937 rng(seed);
  for (std::int64_t bs : sizes) check_all_calls(random_inputs(bs, rng), tuning, stream);
  REQUIRE_CUDA(cudaStreamDestroy(stream));
}

}  // namespace

TEST_CASE("random inputs, default tuning, every suite bs") {
  run_suite(Tuning{}, suite_batch_sizes(), std::random_device{}());
}

TEST_CASE("random inputs, Blelloch for every bs (unroll_max_bs = 0)") {
  Tuning tuning;
  tuning.unroll_max_bs = 0;
  run_suite(tuning, {0, 1, 2, 3, 5, 31, 32, 33, 64, 65, 255, 256, 257, 1025, 4097}, std::random_device{}());
}

TEST_CASE("random inputs, two-kernel path for every bs (fused_max_bs = 0)") {
  Tuning tuning;
  tuning.fused_max_bs = 0;
  run_suite(tuning, {0, 1, 2, 17, 64, 65, 129, 1024, 8193, 65537}, std::random_device{}());
}

TEST_CASE("long and zero-length extends") {
  REQUIRE_CUDA(cudaSetDevice(0));
  std::mt19937 rng(std::random_device{}());
  for (std::int64_t bs : {1, 3, 64, 100, 3000, 20000}) {
    check_all_calls(random_inputs(bs, rng, 0), Tuning{}, nullptr);   // every extend empty: total 0
    check_all_calls(random_inputs(bs, rng, bs < 1000 ? 700 : 9), Tuning{}, nullptr);
  }
  Inputs one_long;  // a single request carrying every token
  one_long.ext = {0, 0, 50000, 0};
  one_long.seq = {7, 0, 60000, 3};
  check_all_calls(one_long, Tuning{}, nullptr);
}

TEST_CASE("worked example from docs/DESIGN.md") {
  REQUIRE_CUDA(cudaSetDevice(0));
  Inputs in;
  in.ext = {2, 3};
  in.seq = {10, 15};
  in.topk = 128;
  Problem p(in, 5);
  CHECK(fill_draft_extend_metadata(p.args(), nullptr) == 5);
  const std::vector<std::int32_t> want = {9, 10, 13, 14, 15};
  CHECK(compare_ints(p.expanded.download(), want, "expanded") == "");
  CHECK(compare_ints(p.cache.download(), want, "cache") == "");
  in.topk = 12;
  Problem clipped(in, 5);
  fill_draft_extend_metadata(clipped.args(), nullptr);
  CHECK(compare_ints(clipped.cache.download(), {9, 10, 12, 12, 12}, "cache") == "");
}

TEST_CASE("a warm call does no JIT work") {
  REQUIRE_CUDA(cudaSetDevice(0));
  std::mt19937 rng(1);
  const Inputs in = random_inputs(77, rng);
  Problem p(in, reference(in).total);
  fill_draft_extend_metadata(p.args(), nullptr);
  const auto before = jit::process_pipeline().stats();
  for (int i = 0; i < 100; ++i) fill_draft_extend_metadata(p.args(), nullptr);
  const auto after = jit::process_pipeline().stats();
  CHECK(after.compiles == before.compiles);
  CHECK(after.disk_hits == before.disk_hits);
  CHECK(after.memory_hits == before.memory_hits);
}
