// Issue 28: the TRTLLM-MLA call's argument checks, which run on the host before anything touches a GPU, so they are
// tested here without one: each bad argument is a std::invalid_argument naming the call and the argument; arguments
// that pass reach the driver (draftjit::Error here, where there is none); an empty grid (bs 0, or a block table
// without columns) launches nothing, as upstream's.
#include <doctest/doctest.h>

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "draftjit/draftjit.hpp"
#include "draftjit/trtllm_mla.hpp"
#include "test_support.hpp"

using namespace draftjit;
using draftjit::test::fake;

namespace {

// Valid arguments for bs 4, a block table of 8 columns, pages of 16 tokens, seq_lens_k given: each test breaks one
// thing.
TrtllmMlaArgs valid() {
  TrtllmMlaArgs a;
  a.req_pool_indices = {fake(1), IndexType::Int64};
  a.seq_lens = {fake(2), IndexType::Int32};
  a.req_to_token = {fake(3), 6, 128, 128, 1};
  a.block_kv_indices = {fake(4), 4, 8, 8, 1};
  a.bs = 4;
  a.page_size = 16;
  a.seq_lens_k = fake(5);
  return a;
}

void refused(TrtllmMlaArgs a, const char* message) {
  CHECK_THROWS_WITH_AS(trtllm_mla_graph_metadata(a, nullptr), doctest::Contains(message), std::invalid_argument);
}

}  // namespace

TEST_CASE("issue28: valid TRTLLM-MLA arguments reach the driver, and an empty grid launches nothing") {
  TrtllmMlaArgs none = valid();
  none.bs = 0;
  none.seq_lens = {};  // nothing is read at bs 0
  CHECK_NOTHROW(trtllm_mla_graph_metadata(none, nullptr));
  TrtllmMlaArgs no_columns = valid();
  no_columns.block_kv_indices = {nullptr, 4, 0, 0, 1};
  CHECK_NOTHROW(trtllm_mla_graph_metadata(no_columns, nullptr));  // upstream's grid (bs, 0)
  if (cuda_available()) return;  // on a GPU machine the rest would launch on fake pointers
  CHECK_THROWS_AS(trtllm_mla_graph_metadata(valid(), nullptr), Error);
  TrtllmMlaArgs loose = valid();  // no seq_lens_k, any page size, a table wider than req_to_token's pages
  loose.seq_lens_k = nullptr;
  loose.page_size = 3;
  loose.block_kv_indices = {fake(4), 4, 1000, 1000, 1};
  CHECK_THROWS_AS(trtllm_mla_graph_metadata(loose, nullptr), Error);
}

TEST_CASE("issue28: each bad TRTLLM-MLA argument is an invalid_argument naming the call and the argument") {
  // (what breaks valid(), what the message says)
  const std::vector<std::pair<std::function<void(TrtllmMlaArgs&)>, const char*>> cases = {
      {[](TrtllmMlaArgs& a) { a.bs = kMaxTrtllmMhaBs + 1; },
       "trtllm_mla_graph_metadata: bs = 65537 is outside the supported range [0, 65536]"},
      {[](TrtllmMlaArgs& a) { a.bs = -1; a.page_size = 0; }, "bs = -1 is outside"},  // bs is checked first
      {[](TrtllmMlaArgs& a) { a.page_size = 0; }, "page_size = 0 must be >= 1"},
      {[](TrtllmMlaArgs& a) { a.seq_lens.stride = -1; }, "seq_lens has a negative stride"},
      {[](TrtllmMlaArgs& a) { a.req_pool_indices.stride = -2; }, "req_pool_indices has a negative stride"},
      {[](TrtllmMlaArgs& a) { a.block_kv_indices.rows = 3; }, "block_kv_indices has 3 rows, fewer than bs = 4"},
      {[](TrtllmMlaArgs& a) { a.block_kv_indices.col_stride = -1; }, "block_kv_indices has a negative size or stride"},
      {[](TrtllmMlaArgs& a) { a.req_to_token.row_stride = -1; }, "req_to_token has a negative size or stride"},
      {[](TrtllmMlaArgs& a) { a.seq_lens = {}; }, "must be non-null"},
      {[](TrtllmMlaArgs& a) { a.req_pool_indices = {}; }, "must be non-null"},
      {[](TrtllmMlaArgs& a) { a.req_to_token.data = nullptr; }, "must be non-null"},
      {[](TrtllmMlaArgs& a) { a.block_kv_indices.data = nullptr; }, "must be non-null"},
  };
  for (const auto& [breaks, message] : cases) {
    CAPTURE(message);
    TrtllmMlaArgs a = valid();
    breaks(a);
    refused(a, message);
  }
}

TEST_CASE("issue28: prepare_trtllm_mla takes both dtypes of each input") {
  if (cuda_available()) return;  // it would load the kernels
  for (const IndexType seq : {IndexType::Int32, IndexType::Int64}) {
    for (const IndexType pool : {IndexType::Int32, IndexType::Int64}) {
      CHECK_THROWS_AS(prepare_trtllm_mla({seq, pool}), Error);  // past the spec: the driver is missing here
    }
  }
}
