// Issue 28: the FA3 decode call's argument checks, which run on the host before anything touches a GPU, so they are
// tested here without one: each bad argument is a std::invalid_argument naming the call and the argument; arguments
// that pass reach the driver (draftjit::Error here, where there is none); bs 0 with a gather launches nothing.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <stdexcept>

#include "draftjit/draftjit.hpp"
#include "draftjit/fa3.hpp"
#include "test_support.hpp"

using namespace draftjit;
using draftjit::test::fake;

namespace {

// Valid arguments for bs 4, 8 pages of 16 tokens, SWA on: every test breaks one thing.
Fa3DecodeArgs valid() {
  Fa3DecodeArgs a;
  a.cache_seqlens = fake(1);
  a.cu_seqlens_k = fake(2);
  a.page_table = {fake(3), 4, 8, 8, 1};
  a.req_to_token = {fake(4), 6, 128, 128, 1};
  a.req_pool_indices = {fake(5), IndexType::Int64};
  a.max_seq_pages = 8;
  a.seq_lens = {fake(6), IndexType::Int32};
  a.seq_len_delta = 1;
  a.page_size = 16;
  a.swa_page_table = {fake(7), 4, 8, 8, 1};
  a.swa_mapping = {fake<const std::int64_t>(8), 1000};
  a.bs = 4;
  return a;
}

void refused(const Fa3DecodeArgs& a, const char* message) {
  CHECK_THROWS_WITH_AS(fa3_decode_metadata(a, nullptr), doctest::Contains(message), std::invalid_argument);
}

}  // namespace

TEST_CASE("issue28: valid FA3 decode arguments reach the driver, and bs 0 with a gather launches nothing") {
  Fa3DecodeArgs none = valid();
  none.bs = 0;
  none.cache_seqlens = nullptr;  // an empty tensor's address may be null
  none.seq_lens.data = nullptr;
  CHECK_NOTHROW(fa3_decode_metadata(none, nullptr));  // upstream's grid (0, k): nothing runs
  none.cu_seqlens_k = nullptr;
  refused(none, "cu_seqlens_k must be non-null");
  if (cuda_available()) return;  // on a GPU machine the rest would launch on fake pointers
  CHECK_THROWS_AS(fa3_decode_metadata(valid(), nullptr), Error);
  Fa3DecodeArgs skip = valid();  // skip_page_table: no page table needed, the SWA one ignored; bs 0 launches
  skip.skip_page_table = true;
  skip.page_table = {};
  skip.swa_mapping = {};
  skip.bs = 0;
  CHECK_THROWS_AS(fa3_decode_metadata(skip, nullptr), Error);
  Fa3DecodeArgs no_pages = valid();  // max_seq_pages 0: the prefix alone, even at bs 0 (upstream's (1, 1) grid)
  no_pages.max_seq_pages = 0;
  no_pages.page_table = {};
  no_pages.req_to_token = {};
  no_pages.bs = 0;
  CHECK_THROWS_AS(fa3_decode_metadata(no_pages, nullptr), Error);
  Fa3DecodeArgs unified = valid();  // the unified pool's stride 0, page size 1, a negative delta
  unified.swa_mapping_stride = 0;
  unified.page_size = 1;
  unified.seq_len_delta = -3;
  CHECK_THROWS_AS(fa3_decode_metadata(unified, nullptr), Error);
}

TEST_CASE("issue28: each bad FA3 decode argument is an invalid_argument naming the call and the argument") {
  Fa3DecodeArgs a = valid();
  a.bs = kMaxFa3Bs + 1;
  a.page_size = 3;  // bs first
  refused(a, "fa3_decode_metadata: bs = 65537 is outside the supported range [0, 65536]");
  a = valid();
  a.bs = -1;
  refused(a, "bs = -1 is outside the supported range [0, 65536]");
  for (const std::int32_t page_size : {0, -16, 12, 3, std::numeric_limits<std::int32_t>::min()}) {
    a = valid();
    a.page_size = page_size;
    refused(a, "must be a power of two in [1, 2^30]");
  }
  a = valid();
  a.max_seq_pages = -1;
  refused(a, "max_seq_pages = -1");
  a = valid();
  a.max_seq_pages = std::int64_t{1} << 31;
  refused(a, "max_seq_pages = 2147483648");
  a = valid();
  a.swa_mapping_stride = 2;
  refused(a, "swa_mapping_stride = 2 must be 0 or 1");
  a = valid();
  a.seq_lens.stride = -1;
  refused(a, "seq_lens has a negative stride");
  a = valid();
  a.req_pool_indices.stride = -2;
  refused(a, "req_pool_indices has a negative stride");
  a = valid();
  a.page_table = {};
  refused(a, "page_table must be non-null");
  a = valid();
  a.page_table.cols = 7;
  refused(a, "page_table is 4 x 7");
  a = valid();
  a.page_table.row_stride = -8;
  refused(a, "page_table has a negative stride");
  a = valid();
  a.swa_page_table.rows = 3;
  refused(a, "swa_page_table is 3 x 8");
  a = valid();
  a.req_to_token.cols = 112;  // page 7 starts at column 112
  refused(a, "req_to_token has 112 columns");
  a = valid();
  a.req_to_token.data = nullptr;
  refused(a, "req_to_token must be non-null");
  a = valid();
  a.swa_mapping = {};
  refused(a, "swa_mapping must be given");
  a = valid();
  a.cache_seqlens = nullptr;
  refused(a, "cache_seqlens");
  a = valid();
  a.seq_lens.data = nullptr;
  refused(a, "seq_lens, req_pool_indices and cache_seqlens must be non-null for bs = 4 > 0");
}

namespace {

// Valid draft-extend arguments for bs 4, a table of 8 pages of 16 tokens, SWA on with 8 out-cache locations.
Fa3ExtendArgs valid_extend() {
  Fa3ExtendArgs a;
  a.cache_seqlens = fake(1);
  a.cu_seqlens_k = fake(2);
  a.cu_seqlens_q = fake(3);
  a.page_table = {fake(4), 4, 8, 8, 1};
  a.req_to_token = {fake(5), 6, 128, 128, 1};
  a.req_pool_indices = {fake(6), IndexType::Int32};
  a.seq_lens = {fake(7), IndexType::Int64};
  a.extend_seq_lens = {fake(8), IndexType::Int32};
  a.page_size = 16;
  a.full_to_swa_index_mapping = {fake<const std::int64_t>(9), 1000};
  a.swa_page_table = {fake(10), 4, 8, 8, 1};
  a.out_cache_loc = {fake<const std::int64_t>(11), 8};
  a.swa_out_cache_loc = {fake<std::int64_t>(12), 8};
  a.bs = 4;
  return a;
}

void refused_extend(const Fa3ExtendArgs& a, const char* message) {
  CHECK_THROWS_WITH_AS(fa3_draft_extend_metadata(a, nullptr), doctest::Contains(message), std::invalid_argument);
}

}  // namespace

TEST_CASE("issue28: valid FA3 draft-extend arguments reach the driver, and bs 0 launches nothing") {
  Fa3ExtendArgs none = valid_extend();
  none.bs = 0;
  CHECK_NOTHROW(fa3_draft_extend_metadata(none, nullptr));
  if (cuda_available()) return;
  CHECK_THROWS_AS(fa3_draft_extend_metadata(valid_extend(), nullptr), Error);
  Fa3ExtendArgs plain = valid_extend();  // without the mapping the other SWA arguments are not needed
  plain.full_to_swa_index_mapping = {};
  plain.swa_page_table = {};
  plain.out_cache_loc = {};
  plain.swa_out_cache_loc = {};
  plain.page_size = 1;
  CHECK_THROWS_AS(fa3_draft_extend_metadata(plain, nullptr), Error);
  Fa3ExtendArgs empty_table = valid_extend();  // a page table of no columns: no gather, no req_to_token needed
  empty_table.page_table = {nullptr, 4, 0, 0, 1};  // an empty tensor's address may be null
  empty_table.swa_page_table = {nullptr, 4, 0, 0, 1};
  empty_table.req_to_token = {};
  CHECK_THROWS_AS(fa3_draft_extend_metadata(empty_table, nullptr), Error);
}

TEST_CASE("issue28: each bad FA3 draft-extend argument is an invalid_argument naming the call and the argument") {
  Fa3ExtendArgs a = valid_extend();
  a.bs = kMaxFa3Bs + 1;
  refused_extend(a, "fa3_draft_extend_metadata: bs = 65537 is outside the supported range [0, 65536]");
  a = valid_extend();
  a.page_size = 24;
  refused_extend(a, "fa3_draft_extend_metadata: page_size = 24 must be a power of two");
  a = valid_extend();
  a.cu_seqlens_q = nullptr;
  refused_extend(a, "cu_seqlens_q must be non-null");
  a = valid_extend();
  a.extend_seq_lens.data = nullptr;
  refused_extend(a, "extend_seq_lens must be non-null");
  a = valid_extend();
  a.extend_seq_lens.stride = -1;
  refused_extend(a, "extend_seq_lens has a negative stride");
  a = valid_extend();
  a.swa_page_table = {};
  refused_extend(a, "swa_page_table must be given");
  a = valid_extend();
  a.swa_page_table.cols = 7;
  refused_extend(a, "swa_page_table is 4 x 7");
  a = valid_extend();
  a.out_cache_loc = {};
  refused_extend(a, "out_cache_loc and swa_out_cache_loc must be given");
  a = valid_extend();
  a.swa_out_cache_loc.length = 7;
  refused_extend(a, "swa_out_cache_loc must hold out_cache_loc's entries");
  a = valid_extend();
  a.page_table.rows = 3;
  refused_extend(a, "page_table is 3 x 8");
  a = valid_extend();
  a.req_to_token.cols = 112;
  refused_extend(a, "req_to_token has 112 columns");
  a = valid_extend();
  a.seq_lens.data = nullptr;
  refused_extend(a, "seq_lens, req_pool_indices and cache_seqlens must be non-null");
}

TEST_CASE("issue28: prepare_fa3 refuses switches no call has, before the driver") {
  Fa3DecodeSwitches swa_skip;
  swa_skip.swa = true;
  swa_skip.skip_page_table = true;
  CHECK_THROWS_WITH_AS(prepare_fa3(swa_skip), doctest::Contains("which skip leaves out"), std::invalid_argument);
}

namespace {

// Valid SWA speculative page-table arguments: bs 4, 3 draft tokens (12 rows), int64 seq_len_a.
Fa3SpecTableArgs valid_spec() {
  Fa3SpecTableArgs a;
  a.page_table_dst = {fake(1), 12, 64, 64, 1};
  a.page_table_a = {fake(2), 4, 40, 40, 1};
  a.page_table_b = {fake(3), 12, 8, 8, 1};
  a.seq_len_a = {fake(4), IndexType::Int64};
  a.seq_len_b = {fake(5), IndexType::Int32, 2};
  a.speculative_num_draft_tokens = 3;
  a.bs = 4;
  return a;
}

void refused_spec(const Fa3SpecTableArgs& a, const char* message) {
  CHECK_THROWS_WITH_AS(fa3_swa_spec_page_table(a, nullptr), doctest::Contains(message), std::invalid_argument);
}

}  // namespace

TEST_CASE("issue28: FA3's SWA spec table checks its arguments before the driver, and no rows launch nothing") {
  CHECK_THROWS_AS(fa3_swa_spec_page_table(valid_spec(), nullptr), draftjit::Error);
  for (const auto& [bs, tokens] : {std::pair{0, 3}, {4, 0}}) {
    Fa3SpecTableArgs none = valid_spec();
    none.bs = bs;
    none.speculative_num_draft_tokens = tokens;
    CHECK_NOTHROW(fa3_swa_spec_page_table(none, nullptr));
  }
  Fa3SpecTableArgs a = valid_spec();
  a.bs = kMaxFa3Bs + 1;
  refused_spec(a, "fa3_swa_spec_page_table: bs = 65537 is outside the supported range [0, 65536]");
  a = valid_spec();
  a.speculative_num_draft_tokens = -1;
  refused_spec(a, "speculative_num_draft_tokens = -1 is negative");
  a = valid_spec();
  a.page_table_a.rows = 3;
  refused_spec(a, "page_table_a is 3 x 40");
  a = valid_spec();
  a.page_table_b.rows = 11;
  refused_spec(a, "page_table_b is 11 x 8");
  a = valid_spec();
  a.page_table_dst.data = nullptr;
  refused_spec(a, "page_table_dst is 12 x 64");
  a = valid_spec();
  a.seq_len_b.stride = -1;
  refused_spec(a, "seq_len_b has a negative stride");
  a = valid_spec();
  a.seq_len_a.data = nullptr;
  refused_spec(a, "seq_len_a must be non-null");
  Fa3SpecTableSwitches wide;
  wide.seq_len_b = IndexType::Int64;
  CHECK_THROWS_AS(prepare_fa3(wide), draftjit::Error);  // a valid switch set reaches the driver
}

namespace {

// Valid KV-split count arguments: 5 lengths, 2 groups, 32 heads over 8 KV heads.
Fa3KvSplitsArgs valid_splits() {
  Fa3KvSplitsArgs a;
  a.num_kv_splits = fake(1);
  a.seq_lens = {fake(2), IndexType::Int32};
  a.num_seq = 5;
  a.num_group = 2;
  a.num_head = 32;
  a.num_kv_head = 8;
  a.max_kv_splits = 16;
  a.device_core_count = 132;
  a.lanes = 256;
  return a;
}

void refused_splits(const Fa3KvSplitsArgs& a, const char* message) {
  CHECK_THROWS_WITH_AS(fa3_num_kv_splits(a, nullptr), doctest::Contains(message), std::invalid_argument);
}

}  // namespace

TEST_CASE("issue28: the KV-split count checks its arguments before the driver, no length nor flag launches nothing") {
  CHECK_THROWS_AS(fa3_num_kv_splits(valid_splits(), nullptr), draftjit::Error);
  Fa3KvSplitsArgs none = valid_splits();
  none.num_seq = 0;
  none.num_kv_head = 0;  // nothing divides at num_seq 0 without a flag to write
  CHECK_NOTHROW(fa3_num_kv_splits(none, nullptr));
  Fa3KvSplitsArgs a = valid_splits();
  a.num_seq = kMaxFa3Bs + 1;
  refused_splits(a, "fa3_num_kv_splits: bs = 65537 is outside the supported range [0, 65536]");
  a = valid_splits();
  a.lanes = 4;
  refused_splits(a, "lanes (upstream's MAX_NUM_SEQ) = 4 must be in [max(num_seq, 1) = 5, INT32_MAX]");
  for (std::int64_t* field : {&a.num_group, &a.num_head, &a.num_kv_head, &a.max_kv_splits, &a.device_core_count}) {
    a = valid_splits();
    *field = 0;
    refused_splits(a, "= 0 is outside [1, INT32_MAX]");
  }
  a = valid_splits();
  a.num_head = 4;
  refused_splits(a, "num_head = 4 is below num_kv_head = 8");
  a = valid_splits();
  a.num_group = std::int64_t{1} << 30;
  refused_splits(a, "num_seq * num_group = 5 * 1073741824 is past INT32_MAX");
  a = valid_splits();
  a.seq_lens.data = nullptr;
  refused_splits(a, "num_kv_splits and seq_lens must be non-null");
}
