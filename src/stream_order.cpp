#include "stream_order.hpp"

#include "driver_api.hpp"
#include "owned_handle.hpp"

namespace draftjit {

void wait_for_producers(CUstream consumer, const std::vector<CUstream>& producers) {
  const DriverApi& cu = driver();
  for (CUstream producer : producers) {
    if (producer == consumer) continue;
    CUevent raw = nullptr;
    check_cu(cu.cuEventCreate(&raw, CU_EVENT_DISABLE_TIMING), "cuEventCreate", "an array's producer stream");
    // Destroying the event right after the wait is queued is allowed: the wait keeps what it needs.
    const EventHandle ready(raw);
    check_cu(cu.cuEventRecord(ready.get(), producer), "cuEventRecord", "an array's producer stream");
    check_cu(cu.cuStreamWaitEvent(consumer, ready.get(), 0), "cuStreamWaitEvent", "an array's producer stream");
  }
}

}  // namespace draftjit
