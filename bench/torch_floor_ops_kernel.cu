// The device half of the C++-op floors (bench/torch_floor_ops.cpp, bench/torch_floor_ops_stable.cpp): one empty
// kernel and its launch, and the pinned word the signature floors read into. No torch headers here, so nvcc
// compiles this file in about a second.

#include <cstdint>

#include <cuda_runtime.h>

namespace draftjit_bench_floor {
namespace {

__global__ void empty_kernel() {}

}  // namespace

cudaError_t launch_empty(cudaStream_t stream) {
  empty_kernel<<<1, 1, 0, stream>>>();
  return cudaGetLastError();
}

// Allocated at first use and kept for the process (a benchmark's floor: never freed).
int32_t* pinned_word() {
  static int32_t* const word = [] {
    void* memory = nullptr;
    return cudaMallocHost(&memory, sizeof(int32_t)) == cudaSuccess ? static_cast<int32_t*>(memory) : nullptr;
  }();
  return word;
}

}  // namespace draftjit_bench_floor
