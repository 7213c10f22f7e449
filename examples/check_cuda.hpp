#pragma once
// Returns 1 from main with the CUDA error's text when a runtime call fails.
#include <cuda_runtime.h>

#include <cstdio>

#define CHECK_CUDA(call)                                                       \
  do {                                                                         \
    const cudaError_t err = (call);                                            \
    if (err != cudaSuccess) {                                                  \
      std::fprintf(stderr, "%s failed: %s\n", #call, cudaGetErrorString(err)); \
      return 1;                                                                \
    }                                                                          \
  } while (0)
