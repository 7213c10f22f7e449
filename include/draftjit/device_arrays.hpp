#pragma once
// The views of device arrays the metadata calls take (include/draftjit/dsa.hpp, trtllm_mha.hpp): pointers with the
// dtype, strides and sizes the calls need to check and read them. Front ends fill them from their arrays
// (python/src/bindings/op_call.cpp, by type).
#include <cstdint>

namespace draftjit {

enum class IndexType : std::uint8_t { Int32, Int64 };

// bs int32 or int64 values on the device: value b lives at data[b * stride] (in elements, >= 0).
struct DeviceIndices {
  const void* data = nullptr;
  IndexType type = IndexType::Int32;
  std::int64_t stride = 1;
};

// An int32 matrix on the device: element (r, c) lives at data[r * row_stride + c * col_stride] (strides in
// elements, >= 0). rows and cols are what the caller allocated; the calls check their bounds against them.
struct DeviceMatrix {
  std::int32_t* data = nullptr;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::int64_t row_stride = 0;
  std::int64_t col_stride = 1;
};
struct ConstDeviceMatrix {
  const std::int32_t* data = nullptr;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::int64_t row_stride = 0;
  std::int64_t col_stride = 1;
};

// n contiguous int64 values on the device.
struct DeviceInt64s {
  const std::int64_t* data = nullptr;
  std::int64_t length = 0;
};
struct MutableDeviceInt64s {
  std::int64_t* data = nullptr;
  std::int64_t length = 0;
};

// n contiguous int32 or int64 values on the device, written (an output whose dtype the caller picks).
struct MutableDeviceIndices {
  void* data = nullptr;
  IndexType type = IndexType::Int32;
  std::int64_t length = 0;
};

}  // namespace draftjit
