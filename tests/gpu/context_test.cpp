// Contexts are told apart by the driver's context ID: after a device reset or a destroyed and re-created context
// (which the driver often gives the same handle), calls load kernels of their own and give exact results, on the
// fused and the two-kernel path, through the blocking, async and exclusive_offsets calls.
#include <cuda.h>

#include "driver_api.hpp"
#include "gpu_support.hpp"

using namespace draftjit;
using namespace draftjit::test;

namespace {

// bs on the unrolled fused, Blelloch fused and two-kernel paths.
constexpr std::int64_t kPathSizes[] = {37, 3000, 10000};

void check_every_path(std::mt19937& rng) {
  for (std::int64_t bs : kPathSizes) check_all_calls(random_inputs(bs, rng), Tuning{}, nullptr);
}

CUdevice device0() {
  CUdevice device = 0;
  REQUIRE(driver().cuDeviceGet(&device, 0) == CUDA_SUCCESS);
  return device;
}

CUcontext current_handle() {
  CUcontext context = nullptr;
  REQUIRE(driver().cuCtxGetCurrent(&context) == CUDA_SUCCESS);
  return context;
}

}  // namespace

TEST_CASE("three rounds of cudaDeviceReset between calls") {
  std::mt19937 rng(std::random_device{}());
  for (int round = 0; round < 3; ++round) {
    CAPTURE(round);
    REQUIRE_CUDA(cudaSetDevice(0));
    REQUIRE_CUDA(cudaFree(nullptr));  // make the (new) primary context current before draftjit looks it up
    check_every_path(rng);
    REQUIRE_CUDA(cudaDeviceReset());
  }
  REQUIRE_CUDA(cudaSetDevice(0));
  check_every_path(rng);
}

TEST_CASE("three rounds of cuCtxCreate, call, cuCtxDestroy") {
  const DriverApi& cu = driver();
  std::mt19937 rng(std::random_device{}());
  for (int round = 0; round < 3; ++round) {
    CAPTURE(round);
    CUcontext context = nullptr;
    REQUIRE(cu.cuCtxCreate(&context, 0, device0()) == CUDA_SUCCESS);  // and makes it current
    check_every_path(rng);
    REQUIRE(cu.cuCtxDestroy(context) == CUDA_SUCCESS);
  }
  REQUIRE_CUDA(cudaSetDevice(0));
}

TEST_CASE("two contexts alive at once on one device, calls interleaved") {
  const DriverApi& cu = driver();
  CUcontext contexts[2] = {nullptr, nullptr};
  for (CUcontext& context : contexts) REQUIRE(cu.cuCtxCreate(&context, 0, device0()) == CUDA_SUCCESS);
  CHECK(contexts[0] != contexts[1]);
  std::mt19937 rng(std::random_device{}());
  for (int turn = 0; turn < 6; ++turn) {
    REQUIRE(cu.cuCtxSetCurrent(contexts[turn % 2]) == CUDA_SUCCESS);
    REQUIRE(current_handle() == contexts[turn % 2]);
    CAPTURE(turn);
    check_all_calls(random_inputs(kPathSizes[turn % 3], rng), Tuning{}, nullptr);
  }
  for (CUcontext context : contexts) REQUIRE(cu.cuCtxDestroy(context) == CUDA_SUCCESS);
  REQUIRE_CUDA(cudaSetDevice(0));
}
