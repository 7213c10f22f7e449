#pragma once
#include <string>

namespace draftjit {

// What `draftjit doctor` prints (and the Python package shows): one line per fact about this machine's setup.
//   nvrtc:   the library that loaded and every other place searched, with reasons (or the error); its version and
//            the archs it compiles for
//   driver:  the CUDA driver's version, or "none" with the reason
//   device:  per GPU, its name and arch and whether its kernels are cubins, driver-finished PTX, or cannot run
//   cache:   the writable directory and each read-only layer: entries, bytes, whether it can be written
//   env:     every environment variable draftjit reads, set or not, and DRAFTJIT_* ones it does not read
// ok: NVRTC loaded and, when a driver is present, every device can run draftjit's kernels. No driver at all is ok
// (compiling and warmup need none), and the report says kernel calls will fail.
struct DoctorReport {
  std::string text;  // newline-terminated lines
  bool ok = false;
};

// Never throws: a fact that cannot be found out is a line saying why.
DoctorReport doctor();

}  // namespace draftjit
