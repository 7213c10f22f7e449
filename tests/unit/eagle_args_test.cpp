// Issue 28: the EAGLE draft cache locations call's argument checks, which run on the host before anything touches a
// GPU, so they are tested here without one: each bad argument is a std::invalid_argument naming the call and the
// argument; arguments that pass reach the driver (draftjit::Error here, where there is none); bs 0 or an empty run
// launches nothing, as upstream's grid.
#include <doctest/doctest.h>

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "draftjit/draftjit.hpp"
#include "draftjit/eagle.hpp"
#include "test_support.hpp"

using namespace draftjit;
using draftjit::test::fake;

namespace {

// Valid arguments for bs 4, topk 2, 3 steps, a 6 x 64 table: each test breaks one thing.
EagleCacheLocsArgs valid() {
  EagleCacheLocsArgs a;
  a.req_pool_indices = {fake(1), IndexType::Int64};
  a.req_to_token = {fake(2), 6, 64, 64, 1};
  a.seq_lens = {fake(3), IndexType::Int64};
  a.out_cache_loc = {fake<std::int64_t>(4), 24};
  a.pool_len = 64;
  a.topk = 2;
  a.speculative_num_steps = 3;
  a.bs = 4;
  return a;
}

}  // namespace

TEST_CASE("issue28: valid EAGLE cache-location arguments reach the driver, and empty runs launch nothing") {
  EagleCacheLocsArgs none = valid();
  none.bs = 0;
  none.seq_lens = {};  // nothing is read at bs 0
  CHECK_NOTHROW(assign_draft_cache_locs_contiguous(none, nullptr));
  EagleCacheLocsArgs no_run = valid();
  no_run.topk = 0;
  no_run.out_cache_loc = {};
  CHECK_NOTHROW(assign_draft_cache_locs_contiguous(no_run, nullptr));
  if (cuda_available()) return;  // on a GPU machine the rest would launch on fake pointers
  CHECK_THROWS_AS(assign_draft_cache_locs_contiguous(valid(), nullptr), Error);
  EagleCacheLocsArgs strided = valid();  // any strides, either dtype
  strided.seq_lens = {fake(3), IndexType::Int32, 3};
  strided.req_to_token = {fake(2), 6, 64, 1, 6};
  CHECK_THROWS_AS(assign_draft_cache_locs_contiguous(strided, nullptr), Error);
}

TEST_CASE("issue28: each bad EAGLE cache-location argument is an invalid_argument naming the call and the argument") {
  // (what breaks valid(), what the message says)
  const std::vector<std::pair<std::function<void(EagleCacheLocsArgs&)>, const char*>> cases = {
      {[](EagleCacheLocsArgs& a) { a.bs = kMaxEagleBs + 1; },
       "assign_draft_cache_locs_contiguous: bs = 65537 is outside the supported range [0, 65536]"},
      {[](EagleCacheLocsArgs& a) { a.bs = -1; a.topk = -1; }, "bs = -1 is outside"},  // bs is checked first
      {[](EagleCacheLocsArgs& a) { a.topk = -1; }, "topk = -1 and speculative_num_steps = 3 must be"},
      {[](EagleCacheLocsArgs& a) { a.speculative_num_steps = std::int64_t{1} << 31; }, "must be in [0, INT32_MAX]"},
      {[](EagleCacheLocsArgs& a) { a.topk = a.speculative_num_steps = 1 << 16; }, "is past INT32_MAX"},
      {[](EagleCacheLocsArgs& a) { a.seq_lens.stride = -1; }, "seq_lens has a negative stride"},
      {[](EagleCacheLocsArgs& a) { a.req_pool_indices.stride = -1; }, "req_pool_indices has a negative stride"},
      {[](EagleCacheLocsArgs& a) { a.req_to_token.col_stride = -1; }, "req_to_token has a negative size or stride"},
      {[](EagleCacheLocsArgs& a) { a.pool_len = 65; }, "pool_len = 65 is not req_to_token's 64 columns"},
      {[](EagleCacheLocsArgs& a) { a.out_cache_loc.length = 23; }, "out_cache_loc has 23 entries, fewer than"},
      {[](EagleCacheLocsArgs& a) { a.seq_lens = {}; }, "must be non-null"},
      {[](EagleCacheLocsArgs& a) { a.req_pool_indices = {}; }, "must be non-null"},
      {[](EagleCacheLocsArgs& a) { a.req_to_token.data = nullptr; }, "must be non-null"},
      {[](EagleCacheLocsArgs& a) { a.out_cache_loc.data = nullptr; }, "must be non-null"},
  };
  for (const auto& [breaks, message] : cases) {
    CAPTURE(message);
    EagleCacheLocsArgs a = valid();
    breaks(a);
    CHECK_THROWS_WITH_AS(assign_draft_cache_locs_contiguous(a, nullptr), doctest::Contains(message),
                         std::invalid_argument);
  }
}

TEST_CASE("issue28: prepare_eagle_cache_locs takes both dtypes of each input") {
  if (cuda_available()) return;  // it would load the kernels
  for (const IndexType seq : {IndexType::Int32, IndexType::Int64}) {
    for (const IndexType pool : {IndexType::Int32, IndexType::Int64}) {
      CHECK_THROWS_AS(prepare_eagle_cache_locs({seq, pool}), Error);  // past the spec: the driver is missing here
    }
  }
}
