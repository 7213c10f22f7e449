#pragma once
#include <cuda.h>

#include <vector>

namespace draftjit {

// Orders everything later queued on consumer after all work queued so far on each producer stream, on the device
// (an event recorded on the producer, waited on by the consumer): no host synchronisation. Producers equal to the
// consumer are skipped. For arrays whose producer named its stream (__cuda_array_interface__ v3).
void wait_for_producers(CUstream consumer, const std::vector<CUstream>& producers);

}  // namespace draftjit
