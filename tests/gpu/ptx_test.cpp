// A GPU that NVRTC cannot target gets PTX (jit::choose_toolchain_for_device), which the driver finishes at load: the
// bytes stored as a "cubin" for a compute_XX toolchain must load as they are. And `doctor` on a GPU machine.
#include <cuda.h>

#include "jit/kernel_family.hpp"
#include "doctor.hpp"
#include "driver_api.hpp"
#include "gpu_support.hpp"
#include "ops/draft_extend/family.hpp"
#include "jit/pipeline.hpp"
#include "jit/nvrtc/toolchain.hpp"

using namespace draftjit;

TEST_CASE("PTX of a virtual arch loads through cuModuleLoadData and has its entry") {
  REQUIRE_CUDA(cudaSetDevice(0));
  REQUIRE_CUDA(cudaFree(nullptr));  // the primary context, current
  CUdevice device = 0;
  REQUIRE(driver().cuDeviceGet(&device, 0) == CUDA_SUCCESS);
  // compute_90 on an sm_90 device: what an sm_XX that NVRTC does not list gets, compute_ of an arch below it.
  const jit::Toolchain ptx = jit::Toolchain::for_arch("compute_" + device_arch(device).substr(3));
  REQUIRE(ptx.emits_ptx());
  jit::Pipeline pipeline;  // memory only
  for (const jit::KernelSpec& spec : {ops::draft_extend::fused_spec(5, Tuning{}), ops::draft_extend::scan_spec(100000, Tuning{})}) {
    CAPTURE(spec.name());
    const auto compiled = pipeline.get(spec, ptx);
    REQUIRE(compiled->cubin.back() == '\0');
    CUmodule module = nullptr;
    REQUIRE(driver().cuModuleLoadData(&module, compiled->cubin.data()) == CUDA_SUCCESS);
    CUfunction function = nullptr;
    CHECK(driver().cuModuleGetFunction(&function, module, spec.variant_info().entry) == CUDA_SUCCESS);
    CHECK(driver().cuModuleUnload(module) == CUDA_SUCCESS);
  }
}

TEST_CASE("doctor on a GPU machine: the driver, each device's arch and cubins, ok") {
  const DoctorReport report = doctor();
  CAPTURE(report.text);
  CHECK(report.ok);
  CHECK(report.text.find("driver: CUDA ") != std::string::npos);
  CHECK(report.text.find("device 0: ") != std::string::npos);
  CHECK(report.text.find(": cubins for sm_") != std::string::npos);
}
