#include "capture_mode.hpp"

namespace draftjit {

bool is_capturing(CUstream stream) {
  CUstreamCaptureStatus status = CU_STREAM_CAPTURE_STATUS_NONE;
  check_cu(driver().cuStreamIsCapturing(stream, &status), "cuStreamIsCapturing", "the call's stream");
  return status != CU_STREAM_CAPTURE_STATUS_NONE;
}

}  // namespace draftjit
