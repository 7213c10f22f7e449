#pragma once
// How the torch ops hand draftjit's typed errors to the Python functions. PyTorch turns any C++ exception thrown
// by an op into a RuntimeError with its message, which loses draftjit.StatusError's fields; so the op keeps the
// exception it threw for its thread, and the Python wrapper, on a RuntimeError, asks the module to raise it again
// (typed, through the module's exception translator). Ops run on the calling thread, so a thread-local is exact.
#include <exception>

namespace draftjit::python {

std::exception_ptr take_op_error() noexcept;  // null when the calling thread's last op did not fail

}  // namespace draftjit::python
