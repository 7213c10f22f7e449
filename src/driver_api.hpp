#pragma once
#include <cuda.h>

#include <string>
#include <string_view>
#include <type_traits>

namespace draftjit {

// Every Driver API entry point draftjit uses, listed once: member name, exported symbol, signature. libcuda is
// opened with dlopen on first use, so the library and its tools load on machines without a driver.
#define DRAFTJIT_DRIVER_ENTRY_POINTS(X)                                                                        \
  X(cuInit, "cuInit", CUresult(unsigned))                                                                      \
  X(cuDriverGetVersion, "cuDriverGetVersion", CUresult(int*))                                                  \
  X(cuGetErrorName, "cuGetErrorName", CUresult(CUresult, const char**))                                        \
  X(cuDeviceGetCount, "cuDeviceGetCount", CUresult(int*))                                                      \
  X(cuDeviceGet, "cuDeviceGet", CUresult(CUdevice*, int))                                                      \
  X(cuDeviceGetName, "cuDeviceGetName", CUresult(char*, int, CUdevice))                                        \
  X(cuDeviceGetAttribute, "cuDeviceGetAttribute", CUresult(int*, CUdevice_attribute, CUdevice))                \
  X(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain", CUresult(CUcontext*, CUdevice))                      \
  X(cuCtxCreate, "cuCtxCreate_v2", CUresult(CUcontext*, unsigned, CUdevice))                                   \
  X(cuCtxDestroy, "cuCtxDestroy_v2", CUresult(CUcontext))                                                      \
  X(cuCtxGetCurrent, "cuCtxGetCurrent", CUresult(CUcontext*))                                                  \
  X(cuCtxSetCurrent, "cuCtxSetCurrent", CUresult(CUcontext))                                                   \
  X(cuCtxPushCurrent, "cuCtxPushCurrent_v2", CUresult(CUcontext))                                              \
  X(cuCtxPopCurrent, "cuCtxPopCurrent_v2", CUresult(CUcontext*))                                               \
  X(cuCtxGetDevice, "cuCtxGetDevice", CUresult(CUdevice*))                                                     \
  X(cuCtxGetId, "cuCtxGetId", CUresult(CUcontext, unsigned long long*))                                        \
  X(cuPointerGetAttribute, "cuPointerGetAttribute", CUresult(void*, CUpointer_attribute, CUdeviceptr))          \
  X(cuModuleLoadData, "cuModuleLoadData", CUresult(CUmodule*, const void*))                                    \
  X(cuModuleUnload, "cuModuleUnload", CUresult(CUmodule))                                                      \
  X(cuModuleGetFunction, "cuModuleGetFunction", CUresult(CUfunction*, CUmodule, const char*))                  \
  X(cuFuncSetAttribute, "cuFuncSetAttribute", CUresult(CUfunction, CUfunction_attribute, int))                 \
  X(cuOccupancyMaxActiveBlocksPerMultiprocessor, "cuOccupancyMaxActiveBlocksPerMultiprocessor",                \
    CUresult(int*, CUfunction, int, size_t))                                                                   \
  X(cuLaunchKernel, "cuLaunchKernel",                                                                          \
    CUresult(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, CUstream, void**, \
             void**))                                                                                          \
  X(cuMemAlloc, "cuMemAlloc_v2", CUresult(CUdeviceptr*, size_t))                                               \
  X(cuMemFree, "cuMemFree_v2", CUresult(CUdeviceptr))                                                          \
  X(cuMemHostAlloc, "cuMemHostAlloc", CUresult(void**, size_t, unsigned))                                      \
  X(cuMemHostGetDevicePointer, "cuMemHostGetDevicePointer_v2", CUresult(CUdeviceptr*, void*, unsigned))        \
  X(cuMemFreeHost, "cuMemFreeHost", CUresult(void*))                                                           \
  X(cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2", CUresult(void*, CUdeviceptr, size_t, CUstream))                 \
  X(cuStreamSynchronize, "cuStreamSynchronize", CUresult(CUstream))                                           \
  X(cuEventCreate, "cuEventCreate", CUresult(CUevent*, unsigned))                                              \
  X(cuEventRecord, "cuEventRecord", CUresult(CUevent, CUstream))                                               \
  X(cuEventDestroy, "cuEventDestroy_v2", CUresult(CUevent))                                                    \
  X(cuStreamWaitEvent, "cuStreamWaitEvent", CUresult(CUstream, CUevent, unsigned))                            \
  X(cuStreamIsCapturing, "cuStreamIsCapturing", CUresult(CUstream, CUstreamCaptureStatus*))                    \
  X(cuThreadExchangeStreamCaptureMode, "cuThreadExchangeStreamCaptureMode", CUresult(CUstreamCaptureMode*))

struct DriverApi {
#define DRAFTJIT_DRIVER_MEMBER(name, symbol, signature) std::add_pointer_t<signature> name = nullptr;
  DRAFTJIT_DRIVER_ENTRY_POINTS(DRAFTJIT_DRIVER_MEMBER)
#undef DRAFTJIT_DRIVER_MEMBER
};

// The loaded entry points; throws draftjit::Error("no CUDA driver found ...") where there is no usable driver.
const DriverApi& driver();

// "sm_90" for the device; throws draftjit::Error on a driver failure.
std::string device_arch(CUdevice device);

// True when a driver loads and reports at least one device; never throws.
bool cuda_device_available() noexcept;

// Throws draftjit::Error "<call> failed (<CUDA_ERROR_NAME>) for <context>" unless result is CUDA_SUCCESS.
void check_cu(CUresult result, std::string_view call, std::string_view context);

}  // namespace draftjit
