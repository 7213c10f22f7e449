#pragma once
#include <cuda.h>
#include <fmt/format.h>

#include <stdexcept>
#include <type_traits>

#include "context_registry.hpp"
#include "driver_api.hpp"
#include "templates/kernel_params.cuh"

namespace draftjit {

struct Grid {
  unsigned blocks = 1;
  unsigned threads = 1;
};

// Launches kernel with its params struct as the single by-value argument; the struct's type must be the one the
// kernel was rendered with (templates/kernel_params.cuh, or its family's ops/<family>/*_kernel.cuh), which the entry
// name checks.
template <typename Params>
void launch(const LoadedKernel& kernel, Grid grid, CUstream stream, const Params& params) {
  static_assert(std::is_trivially_copyable_v<Params> && std::is_standard_layout_v<Params>,
                "kernel parameters are copied byte for byte into the launch");
  if (kernel.entry != Params::kEntry) {
    throw std::logic_error(
        fmt::format("draftjit: {} launched with the parameters of {}", kernel.key, Params::kEntry));
  }
  void* args[] = {const_cast<Params*>(&params)};
  check_cu(driver().cuLaunchKernel(kernel.function, grid.blocks, 1, 1, grid.threads, 1, 1, kernel.shared_bytes, stream,
                                   args, nullptr),
           "cuLaunchKernel", kernel.key);
}

// A device address as the kernels' parameter structs hold it.
inline int* device_ints(CUdeviceptr ptr) { return reinterpret_cast<int*>(ptr); }

}  // namespace draftjit
