// Runs C++ work with the GIL released, for every binding that may block or compile.
//
// Not py::gil_scoped_release: its destructor takes the GIL back, and a daemon thread that does so while the
// interpreter finalizes is ended by Python with pthread_exit (Python < 3.14), whose forced unwind through a noexcept
// destructor is std::terminate ("terminate called without an active exception", pybind11 issue 2215). Here the GIL
// is taken back in ordinary code, after any exception of the work has been caught, so that unwind ends the thread
// quietly, as it does in Python's own C code.
#pragma once

#include <Python.h>

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace draftjit::python {

template <class Work>
auto without_gil(Work&& work) {
  using Result = std::invoke_result_t<Work&>;
  PyThreadState* const state = PyEval_SaveThread();
  std::exception_ptr error;
  if constexpr (std::is_void_v<Result>) {
    try {
      work();
    } catch (...) {
      error = std::current_exception();
    }
    PyEval_RestoreThread(state);  // a daemon thread at interpreter exit ends here
    if (error) std::rethrow_exception(error);
  } else {
    std::optional<Result> result;
    try {
      result.emplace(work());
    } catch (...) {
      error = std::current_exception();
    }
    PyEval_RestoreThread(state);  // a daemon thread at interpreter exit ends here
    if (error) std::rethrow_exception(error);
    return std::move(*result);
  }
}

}  // namespace draftjit::python
