// The device half of the C++-op floor (bench/torch_floor_ops.cpp): one empty kernel and its launch. No torch
// headers here, so nvcc compiles this file in about a second.

#include <cuda_runtime.h>

namespace draftjit_bench_floor {
namespace {

__global__ void empty_kernel() {}

}  // namespace

cudaError_t launch_empty(cudaStream_t stream) {
  empty_kernel<<<1, 1, 0, stream>>>();
  return cudaGetLastError();
}

}  // namespace draftjit_bench_floor
