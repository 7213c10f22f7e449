#pragma once
#include <cuda.h>

#include <cstdint>

namespace draftjit {

// Makes a device's primary context (the one the CUDA runtime, PyTorch and CuPy use) current on this thread for the
// scope, unless it already is, and restores the previous one after. For callers that know a device index rather
// than a context, such as the Python bindings. Primary contexts are retained once per device for the life of the
// process (one of the documented caches); a device reset keeps the handle and gives it a new context ID, which
// the context registry tells apart.
class PrimaryContextScope {
 public:
  explicit PrimaryContextScope(int device);
  ~PrimaryContextScope();
  PrimaryContextScope(const PrimaryContextScope&) = delete;
  PrimaryContextScope& operator=(const PrimaryContextScope&) = delete;

 private:
  bool pushed_ = false;
};

// The device ordinal that owns a device pointer; throws std::invalid_argument when the driver does not know it.
int device_of_pointer(const void* ptr, const char* what);

}  // namespace draftjit
