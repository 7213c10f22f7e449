// Issue 21: the DSA calls' argument checks, which run on the host before anything touches a GPU, so they are tested
// here without one: each bad argument is a std::invalid_argument naming the call and the argument; arguments that
// pass reach the driver (draftjit::Error here, where there is none).
#include <doctest/doctest.h>

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

#include "draftjit/draftjit.hpp"
#include "draftjit/dsa.hpp"

using namespace draftjit;

namespace {

// Addresses the checks only compare with null; nothing is dereferenced before the checks pass.
std::int32_t* fake(std::uintptr_t n) { return reinterpret_cast<std::int32_t*>(std::uintptr_t{0x10000} * n); }

// Valid arguments for bs 4, a bound of 8 columns, P = 2: every test breaks one thing.
DsaCommonArgs common() {
  DsaCommonArgs c;
  c.seq_lens = {fake(1), IndexType::Int32};
  c.req_pool_indices = {fake(2), IndexType::Int64};
  c.bs = 4;
  c.req_to_token = {fake(3), 6, 8, 8, 1};
  c.dsa_index_topk = 2048;
  c.real_page_size = 2;
  c.cache_seqlens = fake(4);
  c.cu_seqlens_k = fake(5);
  c.dsa_cache_seqlens = fake(6);
  c.dsa_cu_seqlens_k = fake(7);
  c.row_capacity = 8;
  c.page_table_1 = {fake(8), 8, 8, 8, 1};
  c.real_page_table = {fake(9), 8, 4, 4, 1};
  return c;
}

DsaDecodeArgs decode() { return {common(), 8}; }
DsaTargetVerifyArgs verify() { return {common(), 2, 8, fake(10), {}}; }
DsaDraftExtendArgs extend() { return {common(), {fake(11), IndexType::Int32}, 8, 8, fake(12)}; }

void refused(const std::function<void()>& call, const char* message) {
  CHECK_THROWS_WITH_AS(call(), doctest::Contains(message), std::invalid_argument);
}

}  // namespace

TEST_CASE("issue21: valid DSA arguments reach the driver, without a GPU that is draftjit::Error") {
  if (cuda_available()) return;  // on a GPU machine they would launch on fake pointers
  CHECK_THROWS_AS(dsa_decode_metadata(decode(), nullptr), Error);
  CHECK_THROWS_AS(dsa_target_verify_metadata(verify(), nullptr), Error);
  CHECK_THROWS_AS(dsa_draft_extend_metadata(extend(), nullptr), Error);
  DsaDecodeArgs widest = decode();  // the widest bound is accepted
  widest.max_len = kMaxDsaBound;
  widest.common.req_to_token.cols = widest.max_len;
  widest.common.page_table_1.cols = widest.max_len;
  widest.common.real_page_table.cols = widest.max_len;
  CHECK_THROWS_AS(dsa_decode_metadata(widest, nullptr), Error);
  DsaDecodeArgs real_only = decode();  // issue 29: with P > 1, page_table_1 may be left out
  real_only.common.page_table_1 = {};
  CHECK_THROWS_AS(dsa_decode_metadata(real_only, nullptr), Error);
}

TEST_CASE("issue21: each bad DSA argument is an invalid_argument naming the call and the argument") {
  DsaDecodeArgs d = decode();
  d.common.bs = kMaxDsaBs + 1;
  d.common.row_capacity = 0;  // bs is checked first, before anything that depends on it
  refused([&] { dsa_decode_metadata(d, nullptr); },
          "dsa_decode_metadata: bs = 65537 is outside the supported range [0, 65536]");
  d = decode();
  d.common.seq_lens.data = nullptr;
  refused([&] { dsa_decode_metadata(d, nullptr); }, "dsa_decode_metadata: seq_lens must be non-null");
  d = decode();
  d.common.row_capacity = 3;
  refused([&] { dsa_decode_metadata(d, nullptr); }, "row_capacity = 3 is below bs = 4");
  d = decode();
  d.max_len = 9;
  refused([&] { dsa_decode_metadata(d, nullptr); }, "req_to_token is 6 x 8, smaller than the 1 x 9 the call writes");
  d = decode();
  d.common.page_table_1.rows = 3;
  refused([&] { dsa_decode_metadata(d, nullptr); }, "page_table_1 is 3 x 8, smaller than the 4 x 8");
  d = decode();
  d.common.real_page_table.cols = 3;
  refused([&] { dsa_decode_metadata(d, nullptr); }, "real_page_table is 8 x 3, smaller than the 4 x 4");
  d = decode();  // a tile past a bound this wide would index past INT32_MAX (kMaxDsaBound)
  d.max_len = kMaxDsaBound + 1;
  d.common.req_to_token.cols = d.max_len;
  d.common.page_table_1.cols = d.max_len;
  d.common.real_page_table.cols = d.max_len;
  refused([&] { dsa_decode_metadata(d, nullptr); }, "the column bound 2147479553 is outside [0, 2147479552]");
  d = decode();
  d.common.dsa_index_topk = -1;
  refused([&] { dsa_decode_metadata(d, nullptr); }, "dsa_index_topk = -1 is negative");
  d = decode();
  d.common.real_page_size = 0;
  refused([&] { dsa_decode_metadata(d, nullptr); }, "real_page_size = 0 must be >= 1");
  d = decode();
  d.common.index_kpool = -2;
  refused([&] { dsa_decode_metadata(d, nullptr); }, "index_kpool = -2 must be >= 1");
  d = decode();
  d.common.req_to_token.row_stride = -8;
  refused([&] { dsa_decode_metadata(d, nullptr); }, "req_to_token has a negative size or stride");
  d = decode();
  d.common.cu_seqlens_k = nullptr;
  d.common.bs = 0;
  refused([&] { dsa_decode_metadata(d, nullptr); }, "cu_seqlens_k and dsa_cu_seqlens_k must be non-null");

  DsaTargetVerifyArgs v = verify();
  v.next_n = 0;
  refused([&] { dsa_target_verify_metadata(v, nullptr); }, "dsa_target_verify_metadata: next_n = 0 must be >= 1");
  v = verify();
  v.common.row_capacity = 7;
  refused([&] { dsa_target_verify_metadata(v, nullptr); }, "row_capacity = 7 is below bs * next_n = 8");
  v = verify();
  v.paged_mqa_ctx_lens_2d = {fake(13), 4, 1, 1, 1};
  refused([&] { dsa_target_verify_metadata(v, nullptr); }, "paged_mqa_ctx_lens_2d is 4 x 1, smaller than the 4 x 2");

  DsaDraftExtendArgs e = extend();
  e.total_len = -1;
  refused([&] { dsa_draft_extend_metadata(e, nullptr); }, "dsa_draft_extend_metadata: total_len = -1 is negative");
  e = extend();
  e.extend_seq_lens = {};
  refused([&] { dsa_draft_extend_metadata(e, nullptr); }, "dsa_draft_extend_metadata: extend_seq_lens must be non-null");
  e = extend();
  e.extend_seq_lens.stride = -2;
  refused([&] { dsa_draft_extend_metadata(e, nullptr); }, "extend_seq_lens has a negative stride (-2)");

  // Issue 29: upstream's index_kpool > 0 where rows are written, and page_table_1 optional only with real pages.
  d = decode();
  d.common.index_kpool = 0;
  refused([&] { dsa_decode_metadata(d, nullptr); }, "dsa_decode_metadata: index_kpool = 0 must be >= 1");
  d = decode();
  d.common.real_page_size = 1;
  d.common.page_table_1 = {};
  refused([&] { dsa_decode_metadata(d, nullptr); }, "page_table_1 must be non-null when real_page_size is 1");
  d = decode();
  d.common.seq_lens.stride = -1;
  refused([&] { dsa_decode_metadata(d, nullptr); }, "seq_lens has a negative stride (-1)");

  refused([] { prepare_dsa(DsaMode::Decode, -1); }, "prepare_dsa: bs = -1 is outside the supported range");
  refused([] { prepare_dsa(DsaMode::Decode, 3, {.ctx_lens_2d = true}); }, "the ctx2d switch is target verify's only");
  refused([] { prepare_dsa(DsaMode::Decode, 3, {.static_extend = true}); }, "draft extend's only");
  refused([] { prepare_dsa(DsaMode::DraftExtend, 3, {.real_only = true}); }, "the realonly switch needs paged");
  Tuning bad;
  bad.dsa_threads = 96;
  refused([&] { dsa_decode_metadata(decode(), nullptr, bad); }, "dsa_threads must be a power of two");
}

TEST_CASE("issue21: describe_dsa_status names every bit and what is left over") {
  CHECK(describe_dsa_status(kDsaOk) == "ok");
  CHECK(describe_dsa_status(kDsaNegativeExtendLen | kDsaNegativeSeqLen) == "negative extend length | negative seq_len");
  CHECK(describe_dsa_status(kDsaInt32Overflow | 256) == "int32 overflow | unknown bits 0x100");
}
