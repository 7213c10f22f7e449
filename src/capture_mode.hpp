#pragma once
#include <cuda.h>

#include "driver_api.hpp"

namespace draftjit {

// For its scope, lets this thread make the calls a CUDA graph capture in global mode (torch.cuda.graph's default)
// forbids on every other thread: allocating, loading a module, synchronising a stream of its own. In global mode
// such a call fails with CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED and invalidates the other thread's capture; in relaxed
// mode it runs and the capture is untouched (PyTorch's allocator does the same around cudaMalloc). A capture on the
// call's own stream still rejects what cannot be captured, and draftjit checks for that first (see metadata.cpp).
class RelaxedCaptureMode {
 public:
  RelaxedCaptureMode() {
    check_cu(driver().cuThreadExchangeStreamCaptureMode(&previous_), "cuThreadExchangeStreamCaptureMode",
             "relaxed capture mode");
  }
  ~RelaxedCaptureMode() { driver().cuThreadExchangeStreamCaptureMode(&previous_); }
  RelaxedCaptureMode(const RelaxedCaptureMode&) = delete;
  RelaxedCaptureMode& operator=(const RelaxedCaptureMode&) = delete;

 private:
  CUstreamCaptureMode previous_ = CU_STREAM_CAPTURE_MODE_RELAXED;
};

// True when stream is capturing a graph (an invalidated capture counts: nothing may be added to it either).
bool is_capturing(CUstream stream);

}  // namespace draftjit
