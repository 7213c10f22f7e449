// Bad data is reported (exception for the blocking call, status bits for the async one) and nothing is written:
// not the outputs, not past capacity.
#include <cuda.h>

#include <climits>

#include "gpu_support.hpp"

using namespace draftjit;
using namespace draftjit::test;

namespace {

// bs values that exercise the unrolled, Blelloch and two-kernel paths.
constexpr std::int64_t kPaths[] = {3, 100, 10000};

Inputs valid_inputs(std::int64_t bs) {
  std::mt19937 rng(static_cast<unsigned>(bs));
  return random_inputs(bs, rng);
}

// Runs both calls on in; each must report `expected` and leave every output entry poisoned.
void expect_rejected(const Inputs& in, std::int64_t capacity, std::int32_t expected) {
  Problem p(in, capacity);
  CAPTURE(p.bs);
  try {
    fill_draft_extend_metadata(p.args(), nullptr);
    FAIL("no StatusError");
  } catch (const StatusError& e) {
    CHECK(e.status() == expected);
    CHECK(std::string(e.what()).find(describe_status(expected)) != std::string::npos);
  }
  CHECK_MESSAGE(check_untouched(p) == "", check_untouched(p));

  DeviceInts words(2);
  DeviceInts offsets(static_cast<std::size_t>(p.bs) + 1);
  words.poison();
  fill_draft_extend_metadata_async(p.args(), nullptr, words.get(), words.get() + 1, offsets.get());
  CHECK(words.download()[1] == expected);
  CHECK_MESSAGE(check_untouched(p) == "", check_untouched(p));
}

}  // namespace

TEST_CASE("capacity one short: StatusError names total and capacity, nothing written") {
  REQUIRE_CUDA(cudaSetDevice(0));
  for (std::int64_t bs : kPaths) {
    const Inputs in = valid_inputs(bs);
    const std::int32_t total = reference(in).total;
    expect_rejected(in, total - 1, kStatusCapacityExceeded);
    Problem p(in, total - 1);
    try {
      fill_draft_extend_metadata(p.args(), nullptr);
    } catch (const StatusError& e) {
      CHECK(e.total_tokens() == total);
      CHECK(e.capacity() == total - 1);
      const std::string what = e.what();
      CHECK(what.find(fmt::format("total_tokens = {}", total)) != std::string::npos);
      CHECK(what.find(fmt::format("capacity = {}", total - 1)) != std::string::npos);
    }
  }
  expect_rejected(valid_inputs(50), 0, kStatusCapacityExceeded);
}

TEST_CASE("negative extend length") {
  REQUIRE_CUDA(cudaSetDevice(0));
  for (std::int64_t bs : kPaths) {
    Inputs in = valid_inputs(bs);
    in.ext[static_cast<std::size_t>(bs / 2)] = -1;
    expect_rejected(in, 1 << 20, kStatusNegativeExtendLen);
  }
}

TEST_CASE("seq_len below extend length") {
  REQUIRE_CUDA(cudaSetDevice(0));
  for (std::int64_t bs : kPaths) {
    Inputs in = valid_inputs(bs);
    const std::size_t b = static_cast<std::size_t>(bs - 1);
    in.ext[b] = 3;
    in.seq[b] = 2;
    expect_rejected(in, 1 << 20, kStatusSeqLenBelowExtend);
  }
}

TEST_CASE("int32 overflow of the total") {
  REQUIRE_CUDA(cudaSetDevice(0));
  for (std::int64_t bs : kPaths) {
    Inputs in = valid_inputs(bs);
    in.ext[0] = 1 << 30;
    in.ext[1] = 1 << 30;  // the two alone sum to 2^31
    in.seq[0] = in.seq[1] = INT_MAX;
    expect_rejected(in, 1 << 20, kStatusTotalOverflow);
    in.ext.assign(in.ext.size(), INT_MAX);  // wraps 2^32 many times over for large bs
    in.seq.assign(in.seq.size(), INT_MAX);
    expect_rejected(in, 1 << 20, kStatusTotalOverflow);
  }
}

TEST_CASE("exclusive_offsets reports negative lengths and overflow in its status word") {
  REQUIRE_CUDA(cudaSetDevice(0));
  for (std::int64_t bs : kPaths) {
    Inputs in = valid_inputs(bs);
    in.ext[1] = -5;
    DeviceInts lens(in.ext.size());
    lens.upload(in.ext);
    DeviceInts offsets(in.ext.size() + 1);
    DeviceInts status(1);
    exclusive_offsets(lens.get(), bs, offsets.get(), nullptr, status.get());
    CHECK(status.download()[0] == kStatusNegativeExtendLen);
    in.ext[1] = INT_MAX;
    in.ext[2] = INT_MAX;
    lens.upload(in.ext);
    exclusive_offsets(lens.get(), bs, offsets.get(), nullptr, status.get());
    CHECK(status.download()[0] == kStatusTotalOverflow);
  }
}
