#include "gpu_support.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace draftjit::test {

DeviceInts::DeviceInts(std::size_t count) : count_(count) {
  REQUIRE_CUDA(cudaMalloc(&ptr_, std::max<std::size_t>(count, 1) * sizeof(std::int32_t)));
}
DeviceInts::~DeviceInts() { cudaFree(ptr_); }

// upload and poison finish before they return: cudaMemcpy from pageable memory and cudaMemset may still be running
// on the legacy stream when they return, and a kernel on a non-blocking stream does not wait for them (the 8-thread
// test then saw its outputs poisoned after the call, when the GPU was shared with other processes).
void DeviceInts::upload(const std::vector<std::int32_t>& host) {
  REQUIRE(host.size() <= count_);
  REQUIRE_CUDA(cudaMemcpy(ptr_, host.data(), host.size() * sizeof(std::int32_t), cudaMemcpyHostToDevice));
  REQUIRE_CUDA(cudaDeviceSynchronize());
}

std::vector<std::int32_t> DeviceInts::download() const {
  std::vector<std::int32_t> host(count_);
  REQUIRE_CUDA(cudaDeviceSynchronize());
  REQUIRE_CUDA(cudaMemcpy(host.data(), ptr_, count_ * sizeof(std::int32_t), cudaMemcpyDeviceToHost));
  return host;
}

void DeviceInts::poison() {
  REQUIRE_CUDA(cudaMemset(ptr_, 0xA5, count_ * sizeof(std::int32_t)));
  REQUIRE_CUDA(cudaDeviceSynchronize());
}

Inputs random_inputs(std::int64_t bs, std::mt19937& rng, int max_ext) {
  Inputs in;
  std::uniform_int_distribution<int> ext(0, max_ext);
  std::uniform_int_distribution<int> prefix(0, 5000);
  for (std::int64_t b = 0; b < bs; ++b) {
    in.ext.push_back(ext(rng));
    in.seq.push_back(in.ext.back() + prefix(rng));
  }
  in.topk = std::uniform_int_distribution<int>(1, 6000)(rng);
  return in;
}

Reference reference(const Inputs& in) {
  Reference ref;
  std::int64_t offset = 0;
  ref.offsets.push_back(0);
  for (std::size_t b = 0; b < in.ext.size(); ++b) {
    for (std::int64_t local = 0; local < in.ext[b]; ++local) {
      const std::int64_t expanded = std::int64_t{in.seq[b]} - in.ext[b] + 1 + local;
      ref.expanded.push_back(static_cast<std::int32_t>(expanded));
      ref.cache.push_back(static_cast<std::int32_t>(std::min<std::int64_t>(expanded, in.topk)));
    }
    offset += in.ext[b];
    ref.offsets.push_back(static_cast<std::int32_t>(offset));
  }
  ref.total = static_cast<std::int32_t>(offset);
  return ref;
}

Problem::Problem(const Inputs& in, std::int64_t capacity_)
    : bs(static_cast<std::int64_t>(in.ext.size())),
      capacity(capacity_),
      topk(in.topk),
      ext(in.ext.size()),
      seq(in.seq.size()),
      expanded(static_cast<std::size_t>(capacity_ + kGuard)),
      cache(static_cast<std::size_t>(capacity_ + kGuard)) {
  ext.upload(in.ext);
  seq.upload(in.seq);
  poison_outputs();
}

DraftExtendArgs Problem::args() const {
  return {ext.get(), seq.get(), bs, topk, expanded.get(), cache.get(), capacity};
}

void Problem::poison_outputs() {
  expanded.poison();
  cache.poison();
}

std::string compare_ints(const std::vector<std::int32_t>& got, const std::vector<std::int32_t>& want,
                         const char* what) {
  if (got.size() < want.size()) return fmt::format("{}: {} entries, expected {}", what, got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (got[i] != want[i]) return fmt::format("{}[{}] = {}, expected {}", what, i, got[i], want[i]);
  }
  return {};
}

namespace {

std::string compare_one(const DeviceInts& buffer, const std::vector<std::int32_t>& want, const char* what) {
  std::vector<std::int32_t> expected = want;
  expected.resize(buffer.size(), kPoison);
  return compare_ints(buffer.download(), expected, what);
}

}  // namespace

std::string compare_outputs(const Problem& p, const Reference& ref) {
  std::string error = compare_one(p.expanded, ref.expanded, "seqlens_expanded");
  return error.empty() ? compare_one(p.cache, ref.cache, "nsa_cache_seqlens") : error;
}

std::string check_untouched(const Problem& p) { return compare_outputs(p, Reference{}); }

void check_all_calls(const Inputs& in, const Tuning& tuning, cudaStream_t stream) {
  const Reference ref = reference(in);
  Problem p(in, ref.total + 37);
  const CUstream s = reinterpret_cast<CUstream>(stream);
  CAPTURE(p.bs);
  CAPTURE(ref.total);

  CHECK(fill_draft_extend_metadata(p.args(), s, tuning) == ref.total);
  CHECK_MESSAGE(compare_outputs(p, ref) == "", compare_outputs(p, ref));

  p.poison_outputs();
  DeviceInts words(2);
  DeviceInts offsets(static_cast<std::size_t>(p.bs) + 1 + kGuard);
  words.poison();
  offsets.poison();
  fill_draft_extend_metadata_async(p.args(), s, words.get(), words.get() + 1, offsets.get(), tuning);
  REQUIRE_CUDA(cudaStreamSynchronize(stream));
  CHECK(words.download() == std::vector<std::int32_t>{ref.total, kStatusOk});
  CHECK_MESSAGE(compare_outputs(p, ref) == "", compare_outputs(p, ref));
  std::vector<std::int32_t> want_offsets = ref.offsets;
  want_offsets.resize(offsets.size(), kPoison);
  CHECK_MESSAGE(compare_ints(offsets.download(), want_offsets, "offsets") == "", "async offsets");

  offsets.poison();
  words.poison();
  exclusive_offsets(p.ext.get(), p.bs, offsets.get(), s, words.get() + 1, tuning);
  REQUIRE_CUDA(cudaStreamSynchronize(stream));
  CHECK_MESSAGE(compare_ints(offsets.download(), want_offsets, "offsets") == "",
                compare_ints(offsets.download(), want_offsets, "offsets"));
  CHECK(words.download()[1] == kStatusOk);
}


}  // namespace draftjit::test
