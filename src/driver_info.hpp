#pragma once
#include <cuda.h>

#include <string>

namespace draftjit {

// Facts about the driver and its devices, for `draftjit doctor` and for error messages that must say which driver
// refused something. Each throws draftjit::Error when there is no driver or the call fails.

// The CUDA version the driver supports, "12.8" (cuDriverGetVersion's 12080).
std::string driver_version();

// "NVIDIA H200" (cuDeviceGetName).
std::string device_name(CUdevice device);

}  // namespace draftjit
