// Issue 28: the TRTLLM-MHA eager page table's argument checks, which run on the host before anything touches a GPU,
// so they are tested here without one: each bad argument is a std::invalid_argument naming the call and the
// argument; arguments that pass reach the driver (draftjit::Error here, where there is none); an empty grid (bs 0, or
// a page table without columns) launches nothing, as upstream's.
#include <doctest/doctest.h>

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "draftjit/draftjit.hpp"
#include "draftjit/trtllm_mha_table.hpp"
#include "test_support.hpp"

using namespace draftjit;
using draftjit::test::fake;

namespace {

// Valid arguments for bs 4, a page table of 8 columns, pages of 16 tokens, with SWA: each test breaks one thing.
TrtllmMhaTableArgs valid() {
  TrtllmMhaTableArgs a;
  a.req_to_token = {fake(3), 6, 128, 128, 1};
  a.req_pool_indices = {fake(1), IndexType::Int64};
  a.cache_seqlens = {fake(2), IndexType::Int32};
  a.page_table = {fake(4), 4, 8, 8, 1};
  a.page_size = 16;
  a.swa_page_table = {fake(5), 4, 8, 8, 1};
  a.full_to_swa = {fake<const std::int64_t>(6), 4113};
  a.bs = 4;
  return a;
}

void refused(TrtllmMhaTableArgs a, const char* message) {
  CHECK_THROWS_WITH_AS(trtllm_mha_page_table(a, nullptr), doctest::Contains(message), std::invalid_argument);
}

}  // namespace

TEST_CASE("issue28: valid TRTLLM-MHA page-table arguments reach the driver, and an empty grid launches nothing") {
  TrtllmMhaTableArgs none = valid();
  none.bs = 0;
  none.cache_seqlens = {};  // nothing is read at bs 0
  CHECK_NOTHROW(trtllm_mha_page_table(none, nullptr));
  TrtllmMhaTableArgs no_columns = valid();
  no_columns.page_table = {nullptr, 4, 0, 0, 1};
  no_columns.swa_page_table = {nullptr, 4, 0, 0, 1};
  no_columns.full_to_swa = {};
  CHECK_NOTHROW(trtllm_mha_page_table(no_columns, nullptr));  // upstream's grid (bs, 0)
  no_columns.full_to_swa = valid().full_to_swa;  // empty tables have no data: an SWA pair of them looks like this
  CHECK_NOTHROW(trtllm_mha_page_table(no_columns, nullptr));
  if (cuda_available()) return;  // on a GPU machine the rest would launch on fake pointers
  CHECK_THROWS_AS(trtllm_mha_page_table(valid(), nullptr), Error);
  TrtllmMhaTableArgs loose = valid();  // no SWA, any page size, a table wider than req_to_token's pages
  loose.swa_page_table = {};
  loose.full_to_swa = {};
  loose.page_size = 3;
  loose.page_table = {fake(4), 4, 1000, 1000, 1};
  CHECK_THROWS_AS(trtllm_mha_page_table(loose, nullptr), Error);
  for (const DeviceInt64s map : {DeviceInt64s{fake<const std::int64_t>(6), 0}, DeviceInt64s{}}) {
    TrtllmMhaTableArgs empty_map = valid();  // an empty (or null) full_to_swa: the SWA table is left as it was
    empty_map.full_to_swa = map;
    CHECK_THROWS_AS(trtllm_mha_page_table(empty_map, nullptr), Error);
  }
}

TEST_CASE("issue28: each bad TRTLLM-MHA page-table argument is an invalid_argument naming the call and the argument") {
  // (what breaks valid(), what the message says)
  const std::vector<std::pair<std::function<void(TrtllmMhaTableArgs&)>, const char*>> cases = {
      {[](TrtllmMhaTableArgs& a) { a.bs = kMaxTrtllmMhaBs + 1; },
       "trtllm_mha_page_table: bs = 65537 is outside the supported range [0, 65536]"},
      {[](TrtllmMhaTableArgs& a) { a.bs = -1; a.page_size = 0; }, "bs = -1 is outside"},  // bs is checked first
      {[](TrtllmMhaTableArgs& a) { a.page_size = 0; }, "page_size = 0 must be >= 1"},
      {[](TrtllmMhaTableArgs& a) { a.cache_seqlens.stride = -1; }, "cache_seqlens has a negative stride"},
      {[](TrtllmMhaTableArgs& a) { a.req_pool_indices.stride = -2; }, "req_pool_indices has a negative stride"},
      {[](TrtllmMhaTableArgs& a) { a.page_table.rows = 3; a.swa_page_table.rows = 3; },
       "page_table has 3 rows, fewer than bs = 4"},
      {[](TrtllmMhaTableArgs& a) { a.page_table.col_stride = -1; }, "page_table has a negative size or stride"},
      {[](TrtllmMhaTableArgs& a) { a.req_to_token.row_stride = -1; }, "req_to_token has a negative size or stride"},
      {[](TrtllmMhaTableArgs& a) { a.swa_page_table = {}; }, "full_to_swa needs a swa_page_table"},
      {[](TrtllmMhaTableArgs& a) { a.swa_page_table.cols = 9; }, "must have page_table's shape and strides"},
      {[](TrtllmMhaTableArgs& a) { a.swa_page_table.row_stride = 16; }, "must have page_table's shape and strides"},
      {[](TrtllmMhaTableArgs& a) { a.full_to_swa.length = -1; }, "full_to_swa has a negative length"},
      {[](TrtllmMhaTableArgs& a) { a.cache_seqlens = {}; }, "must be non-null"},
      {[](TrtllmMhaTableArgs& a) { a.req_pool_indices = {}; }, "must be non-null"},
      {[](TrtllmMhaTableArgs& a) { a.req_to_token.data = nullptr; }, "must be non-null"},
      {[](TrtllmMhaTableArgs& a) { a.page_table.data = nullptr; }, "must be non-null"},
  };
  for (const auto& [breaks, message] : cases) {
    CAPTURE(message);
    TrtllmMhaTableArgs a = valid();
    breaks(a);
    refused(a, message);
  }
}

TEST_CASE("issue28: prepare_trtllm_mha_table takes both dtypes of each input, with and without SWA") {
  if (cuda_available()) return;  // it would load the kernels
  for (const IndexType seq : {IndexType::Int32, IndexType::Int64}) {
    for (const IndexType pool : {IndexType::Int32, IndexType::Int64}) {
      for (const bool swa : {false, true}) {
        CHECK_THROWS_AS(prepare_trtllm_mha_table({seq, pool, swa}), Error);  // past the spec: no driver here
      }
    }
  }
}
