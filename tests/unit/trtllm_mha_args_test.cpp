// Issue 28: the TRTLLM-MHA call's argument checks, which run on the host before anything touches a GPU, so they are
// tested here without one: each bad argument is a std::invalid_argument naming the call and the argument; arguments
// that pass reach the driver (draftjit::Error here, where there is none); bs 0 launches nothing.
#include <doctest/doctest.h>

#include <cstdint>
#include <functional>
#include <stdexcept>

#include "draftjit/draftjit.hpp"
#include "draftjit/trtllm_mha.hpp"
#include "test_support.hpp"

using namespace draftjit;
using draftjit::test::fake;

namespace {

// Valid arguments for bs 4, 8 pages of 16 tokens, SWA and q cumsum on: every test breaks one thing.
TrtllmMhaArgs valid() {
  TrtllmMhaArgs a;
  a.req_pool_indices = {fake(1), IndexType::Int64};
  a.seq_lens = {fake(2), IndexType::Int32};
  a.req_to_token = {fake(3), 6, 128, 128, 1};
  a.cache_seqlens = fake(4);
  a.cu_seqlens_k = fake(5);
  a.page_table = {fake(6), 4, 8, 8, 1};
  a.bs = 4;
  a.max_seq_pages = 8;
  a.page_size = 16;
  a.swa_mapping = {fake<const std::int64_t>(7), 1000};
  a.swa_page_table = {fake(8), 4, 8, 8, 1};
  a.out_cache_loc = {fake<const std::int64_t>(9), 4};
  a.swa_out_cache_loc = {fake<std::int64_t>(10), 4};
  a.cu_seqlens_q = fake(11);
  a.qlens = {fake(12), IndexType::Int32};
  a.q_mode = QMode::Cumsum;
  return a;
}

void refused(TrtllmMhaArgs a, const char* message) {
  CHECK_THROWS_WITH_AS(trtllm_mha_graph_metadata(a, nullptr), doctest::Contains(message), std::invalid_argument);
}

}  // namespace

TEST_CASE("issue28: valid TRTLLM-MHA arguments reach the driver, and bs 0 launches nothing") {
  TrtllmMhaArgs none = valid();
  none.bs = 0;
  CHECK_NOTHROW(trtllm_mha_graph_metadata(none, nullptr));  // as upstream: returns before any launch
  if (cuda_available()) return;  // on a GPU machine the rest would launch on fake pointers
  CHECK_THROWS_AS(trtllm_mha_graph_metadata(valid(), nullptr), Error);
  TrtllmMhaArgs skip = valid();  // skip_page_table: no page table needed, the SWA one ignored
  skip.skip_page_table = true;
  skip.page_table = {};
  skip.swa_mapping = {};
  skip.swa_out_cache_loc = {};
  CHECK_THROWS_AS(trtllm_mha_graph_metadata(skip, nullptr), Error);
}

TEST_CASE("issue28: each bad TRTLLM-MHA argument is an invalid_argument naming the call and the argument") {
  TrtllmMhaArgs a = valid();
  a.bs = kMaxTrtllmMhaBs + 1;
  refused(a, "trtllm_mha_graph_metadata: bs = 65537 is outside the supported range [0, 65536]");
  a = valid();
  a.bs = -1;
  refused(a, "bs = -1 is outside the supported range [0, 65536]");
  a = valid();
  a.page_size = 0;
  refused(a, "page_size = 0 must be >= 1");
  a = valid();
  a.max_seq_pages = -1;
  refused(a, "max_seq_pages = -1");
  a = valid();
  a.q_mode = static_cast<QMode>(3);
  refused(a, "q_mode = 3");
  a = valid();
  a.cu_seqlens_q = nullptr;
  refused(a, "cu_seqlens_q must be non-null");
  a = valid();
  a.qlens = {};
  refused(a, "qlens must be non-null");
  a = valid();
  a.seq_lens.stride = -1;
  refused(a, "seq_lens has a negative stride");
  a = valid();
  a.page_table = {};
  refused(a, "page_table must be non-null");
  a = valid();
  a.page_table.cols = 7;
  refused(a, "page_table is 4 x 7");
  a = valid();
  a.swa_page_table.rows = 3;
  refused(a, "swa_page_table is 3 x 8");
  a = valid();
  a.req_to_token.cols = 112;  // page 7 starts at column 112
  refused(a, "req_to_token has 112 columns");
  a = valid();
  a.swa_mapping = {};
  refused(a, "swa_mapping must be given");
  a = valid();
  a.cache_seqlens = nullptr;
  refused(a, "cache_seqlens");
}

TEST_CASE("issue28: prepare_trtllm_mha refuses switches no call has, before the driver") {
  TrtllmMhaSwitches q64;
  q64.qlens = IndexType::Int64;  // without QMode::Cumsum
  CHECK_THROWS_WITH_AS(prepare_trtllm_mha(q64), doctest::Contains("the q64 switch needs qcumsum"),
                       std::invalid_argument);
  TrtllmMhaSwitches swa_skip;
  swa_skip.swa = true;
  swa_skip.skip_page_table = true;
  CHECK_THROWS_WITH_AS(prepare_trtllm_mha(swa_skip), doctest::Contains("which skip leaves out"),
                       std::invalid_argument);
}
