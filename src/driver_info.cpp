#include "driver_info.hpp"

#include <fmt/format.h>

#include "driver_api.hpp"

namespace draftjit {

std::string driver_version() {
  int version = 0;
  check_cu(driver().cuDriverGetVersion(&version), "cuDriverGetVersion", "the driver's CUDA version");
  return fmt::format("{}.{}", version / 1000, version % 1000 / 10);
}

std::string device_name(CUdevice device) {
  char name[256] = {};
  check_cu(driver().cuDeviceGetName(name, static_cast<int>(sizeof name) - 1, device), "cuDeviceGetName",
           fmt::format("device {}", static_cast<int>(device)));
  return name;
}

}  // namespace draftjit
