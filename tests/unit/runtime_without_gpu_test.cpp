// The runtime's host-side checks run before any driver call, so they hold with or without a GPU; without a driver,
// GPU entry points fail with a clear error instead of crashing.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "draftjit/draftjit.hpp"

using namespace draftjit;

namespace {

int dummy[4];

DraftExtendArgs valid_args() {
  DraftExtendArgs a;
  a.extend_seq_lens = dummy;
  a.seq_lens = dummy;
  a.bs = 2;
  a.nsa_index_topk = 8;
  a.out_seqlens_expanded = dummy;
  a.out_nsa_cache_seqlens = dummy;
  a.capacity = 4;
  return a;
}

std::string error_of(const DraftExtendArgs& a) {
  try {
    fill_draft_extend_metadata(a, nullptr);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no invalid_argument";
}

}  // namespace

TEST_CASE("bad arguments are rejected on the host with the call named") {
  DraftExtendArgs a = valid_args();
  a.bs = -1;
  CHECK(error_of(a).find("fill_draft_extend_metadata: bs = -1") != std::string::npos);
  a.bs = kMaxBs + 1;
  CHECK(error_of(a).find("[0, 1048576]") != std::string::npos);
  a = valid_args();
  a.seq_lens = nullptr;
  CHECK(error_of(a).find("must be non-null") != std::string::npos);
  a = valid_args();
  a.out_nsa_cache_seqlens = nullptr;
  CHECK(error_of(a).find("out_nsa_cache_seqlens must be non-null") != std::string::npos);
  a = valid_args();
  a.capacity = -5;
  CHECK(error_of(a).find("capacity = -5 is negative") != std::string::npos);

  int words[2];
  CHECK_THROWS_AS(fill_draft_extend_metadata_async(valid_args(), nullptr, nullptr, words), std::invalid_argument);
  a = valid_args();
  a.bs = 10000;
  CHECK_THROWS_WITH_AS(fill_draft_extend_metadata_async(a, nullptr, words, words + 1),
                       doctest::Contains("d_offsets (10001 entries) is required"), std::invalid_argument);
  CHECK_THROWS_AS(exclusive_offsets(dummy, 3, nullptr, nullptr), std::invalid_argument);
  Tuning bad;
  bad.unroll_max_bs = -1;
  CHECK_THROWS_AS(prepare(4, bad), std::invalid_argument);
}

TEST_CASE("without a CUDA driver, GPU entry points throw 'no CUDA driver found'") {
  if (cuda_available()) return;  // on a GPU machine the GPU suite covers these calls
  CHECK_THROWS_WITH_AS(fill_draft_extend_metadata(valid_args(), nullptr), doctest::Contains("no CUDA driver found"),
                       Error);
  CHECK_THROWS_WITH_AS(prepare(3), doctest::Contains("no CUDA driver found"), Error);
}
