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

namespace {

// Valid draft KV arguments for bs 4, topk 2, 3 steps, a 6 x 64 table: kv_indptr rows of 9 + 1 entries.
EagleDraftKvArgs valid_kv() {
  EagleDraftKvArgs a;
  a.req_pool_indices = {fake(1), IndexType::Int64};
  a.req_to_token = {fake(2), 6, 64, 64, 1};
  a.paged_kernel_lens = {fake(3), IndexType::Int32};
  a.kv_indices = {fake<void>(4), IndexType::Int32, 3 * 400};
  a.kv_indptr = {fake<void>(5), IndexType::Int32, 3 * 10};
  a.positions = {fake(6), IndexType::Int64};
  a.pool_len = 64;
  a.kv_indices_stride = 400;
  a.kv_indptr_stride = 10;
  a.bs_upper = 4;
  a.iter_upper = 4;
  a.num_tokens_upper = 8;
  a.page_size = 16;
  a.speculative_num_steps = 3;
  a.topk = 2;
  a.bs = 4;
  return a;
}

}  // namespace

TEST_CASE("issue28: valid draft KV arguments reach the driver, and empty grids launch nothing") {
  for (const auto& empty : std::vector<std::function<void(EagleDraftKvArgs&)>>{
           [](EagleDraftKvArgs& a) { a.bs = 0; },
           [](EagleDraftKvArgs& a) { a.topk = 0; },
           [](EagleDraftKvArgs& a) { a.speculative_num_steps = 0; }}) {
    EagleDraftKvArgs a = valid_kv();
    empty(a);
    a.positions = {};  // nothing is read, and no upper or kv_indptr rule applies
    a.bs_upper = a.iter_upper = a.num_tokens_upper = 0;
    a.kv_indptr = {};
    CHECK_NOTHROW(generate_draft_decode_kv_indices(a, nullptr));
  }
  if (cuda_available()) return;  // on a GPU machine the rest would launch on fake pointers
  CHECK_THROWS_AS(generate_draft_decode_kv_indices(valid_kv(), nullptr), Error);
  EagleDraftKvArgs other = valid_kv();  // any strides, every dtype, page size 1, exact uppers, the least kv_indptr
  other.paged_kernel_lens = {fake(3), IndexType::Int64, 3};
  other.positions = {fake(6), IndexType::Int32, 2};
  other.req_pool_indices = {fake(1), IndexType::Int32, 0};
  other.kv_indices = {fake<void>(4), IndexType::Int64, 7};
  other.req_to_token = {fake(2), 6, 64, 1, 6};
  other.page_size = 1;
  other.bs_upper = 4;
  other.iter_upper = 3;
  other.kv_indptr = {fake<void>(5), IndexType::Int32, 2 * 10 + 9};
  CHECK_THROWS_AS(generate_draft_decode_kv_indices(other, nullptr), Error);
}

TEST_CASE("issue28: each bad draft KV argument is an invalid_argument naming the call and the argument") {
  const std::vector<std::pair<std::function<void(EagleDraftKvArgs&)>, const char*>> cases = {
      {[](EagleDraftKvArgs& a) { a.bs = kMaxEagleBs + 1; },
       "generate_draft_decode_kv_indices: bs = 65537 is outside the supported range [0, 65536]"},
      {[](EagleDraftKvArgs& a) { a.bs = -1; a.topk = -1; }, "bs = -1 is outside"},  // bs is checked first
      {[](EagleDraftKvArgs& a) { a.topk = -1; }, "topk = -1 and speculative_num_steps = 3 must be"},
      {[](EagleDraftKvArgs& a) { a.speculative_num_steps = std::int64_t{1} << 31; }, "must be in [0, INT32_MAX]"},
      {[](EagleDraftKvArgs& a) { a.topk = 1 << 14; a.speculative_num_steps = 1 << 16; }, "is past INT32_MAX"},
      {[](EagleDraftKvArgs& a) { a.bs_upper = 3; }, "bs_upper = 3 is below its count 4"},
      {[](EagleDraftKvArgs& a) { a.iter_upper = 2; }, "iter_upper = 2 is below its count 3"},
      {[](EagleDraftKvArgs& a) { a.num_tokens_upper = 7; }, "num_tokens_upper = 7 is below its count 8"},
      {[](EagleDraftKvArgs& a) { a.page_size = 0; }, "page_size = 0 must be at least 1"},
      {[](EagleDraftKvArgs& a) { a.paged_kernel_lens.stride = -1; }, "paged_kernel_lens has a negative stride"},
      {[](EagleDraftKvArgs& a) { a.positions.stride = -1; }, "positions has a negative stride"},
      {[](EagleDraftKvArgs& a) { a.req_pool_indices.stride = -1; }, "req_pool_indices has a negative stride"},
      {[](EagleDraftKvArgs& a) { a.req_to_token.row_stride = -1; }, "req_to_token has a negative size or stride"},
      {[](EagleDraftKvArgs& a) { a.pool_len = 63; }, "pool_len = 63 is not req_to_token's 64 columns"},
      {[](EagleDraftKvArgs& a) { a.kv_indices_stride = -1; }, "kv_indices_stride = -1 is negative"},
      {[](EagleDraftKvArgs& a) { a.kv_indptr.type = IndexType::Int64; }, "kv_indptr must be int32"},
      {[](EagleDraftKvArgs& a) { a.kv_indptr_stride = 8; }, "kv_indptr_stride = 8 leaves no room"},
      {[](EagleDraftKvArgs& a) { a.kv_indptr.length = 2 * 10 + 8; }, "kv_indptr has 28 entries, fewer than"},
      {[](EagleDraftKvArgs& a) { a.positions = {}; }, "must be non-null"},
      {[](EagleDraftKvArgs& a) { a.paged_kernel_lens = {}; }, "must be non-null"},
      {[](EagleDraftKvArgs& a) { a.kv_indices.data = nullptr; }, "must be non-null"},
      {[](EagleDraftKvArgs& a) { a.req_to_token.data = nullptr; }, "must be non-null"},
  };
  for (const auto& [breaks, message] : cases) {
    CAPTURE(message);
    EagleDraftKvArgs a = valid_kv();
    breaks(a);
    CHECK_THROWS_WITH_AS(generate_draft_decode_kv_indices(a, nullptr), doctest::Contains(message),
                         std::invalid_argument);
  }
}

TEST_CASE("issue28: prepare_eagle_draft_kv takes every dtype of each input and output") {
  if (cuda_available()) return;  // it would load the kernels
  for (int bits = 0; bits < 16; ++bits) {
    const auto type = [bits](int bit) { return (bits >> bit & 1) != 0 ? IndexType::Int64 : IndexType::Int32; };
    CHECK_THROWS_AS(prepare_eagle_draft_kv({type(0), type(1), type(2), type(3)}), Error);  // the driver is missing
  }
}
