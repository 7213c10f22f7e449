#pragma once
#include <cuda.h>

#include <string>
#include <string_view>

namespace draftjit {

// The Driver API entry points draftjit uses, resolved with dlopen("libcuda.so.1") on first use, so that the library
// and its tools load on machines without a driver. driver() throws draftjit::Error("no CUDA driver found ...") there.
struct DriverApi {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuGetErrorName)(CUresult, const char**);
  CUresult (*cuDeviceGetCount)(int*);
  CUresult (*cuDeviceGet)(CUdevice*, int);
  CUresult (*cuCtxGetCurrent)(CUcontext*);
  CUresult (*cuCtxGetDevice)(CUdevice*);
  CUresult (*cuDeviceGetAttribute)(int*, CUdevice_attribute, CUdevice);
  CUresult (*cuModuleLoadData)(CUmodule*, const void*);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction*, CUmodule, const char*);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                             CUstream, void**, void**);
  CUresult (*cuMemAlloc)(CUdeviceptr*, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemHostAlloc)(void**, size_t, unsigned);
  CUresult (*cuMemHostGetDevicePointer)(CUdeviceptr*, void*, unsigned);
  CUresult (*cuMemFreeHost)(void*);
  CUresult (*cuMemcpyDtoHAsync)(void*, CUdeviceptr, size_t, CUstream);
  CUresult (*cuStreamSynchronize)(CUstream);
};

const DriverApi& driver();

// "sm_90" for the device; throws draftjit::Error on a driver failure.
std::string device_arch(CUdevice device);

// True when a driver loads and reports at least one device; never throws.
bool cuda_device_available();

// Throws draftjit::Error "<call> failed (<CUDA_ERROR_NAME>) for <context>" unless result is CUDA_SUCCESS.
void check_cu(CUresult result, std::string_view call, std::string_view context);

}  // namespace draftjit
