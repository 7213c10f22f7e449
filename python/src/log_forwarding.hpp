#pragma once
// draftjit's events (jit/log.hpp) into Python's logging.getLogger("draftjit"). The C++ side may log from any thread,
// with draftjit's locks held and without the GIL, so the sink only queues; a daemon thread of the package
// (draftjit/__init__.py) waits for events without the GIL and logs them with it, and the package's exit handler logs
// what is left. Bounded: past kMaxQueued waiting events the oldest are dropped, and the next batch says how many.
#include <pybind11/pybind11.h>

namespace draftjit::python {

// Binds _log_to_python() (send events to the queue from now on), _wait_log_events() (blocks, GIL released, until
// the queue holds an event) and _take_log_events() (the waiting events as (level, event, message) tuples).
void bind_log_forwarding(pybind11::module_& m);

}  // namespace draftjit::python
