#pragma once
// Helpers for the GPU suite: device buffers, random inputs, the CPU reference, poisoning and exact comparison.
#include <cuda_runtime.h>
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "draftjit/draftjit.hpp"

#define REQUIRE_CUDA(call) REQUIRE_MESSAGE((call) == cudaSuccess, #call, ": ", cudaGetErrorString(cudaGetLastError()))

namespace draftjit::test {

inline constexpr std::int32_t kPoison = static_cast<std::int32_t>(0xA5A5A5A5u);
inline constexpr std::int64_t kGuard = 64;  // entries past capacity that must stay poisoned

class DeviceInts {
 public:
  explicit DeviceInts(std::size_t count);
  ~DeviceInts();
  DeviceInts(const DeviceInts&) = delete;
  DeviceInts& operator=(const DeviceInts&) = delete;
  std::int32_t* get() const { return ptr_; }
  std::size_t size() const { return count_; }
  void upload(const std::vector<std::int32_t>& host);
  std::vector<std::int32_t> download() const;
  void poison();

 private:
  std::int32_t* ptr_ = nullptr;
  std::size_t count_ = 0;
};

struct Inputs {
  std::vector<std::int32_t> ext;
  std::vector<std::int32_t> seq;
  std::int32_t topk = 2048;
};

// ext in [0, max_ext] (zero-length extends included), seq = ext + [0, 5000], topk drawn so both min() branches occur.
Inputs random_inputs(std::int64_t bs, std::mt19937& rng, int max_ext = 4);

struct Reference {
  std::vector<std::int32_t> offsets;  // bs + 1
  std::vector<std::int32_t> expanded;
  std::vector<std::int32_t> cache;
  std::int32_t total = 0;
};
Reference reference(const Inputs& in);  // straight from docs/DESIGN.md, in int64

// Inputs on the device and poisoned output buffers of capacity + kGuard entries.
struct Problem {
  Problem(const Inputs& in, std::int64_t capacity);
  DraftExtendArgs args() const;
  void poison_outputs();
  std::int64_t bs;
  std::int64_t capacity;
  std::int32_t topk;
  DeviceInts ext;
  DeviceInts seq;
  DeviceInts expanded;
  DeviceInts cache;
};

// Empty when the outputs hold ref in [0, total) and poison everywhere after; else what differs first.
std::string compare_outputs(const Problem& p, const Reference& ref);
// Empty when every output entry (capacity + guard) is still poison.
std::string check_untouched(const Problem& p);
// Runs the blocking call, the async call (with offsets) and exclusive_offsets on one problem, each against the
// reference with poisoned outputs and a guard tail, on the current context.
void check_all_calls(const Inputs& in, const Tuning& tuning, cudaStream_t stream);

// Empty when got == want; else the first difference.
std::string compare_ints(const std::vector<std::int32_t>& got, const std::vector<std::int32_t>& want, const char* what);

}  // namespace draftjit::test
