#pragma once
// The paths draftjit is compared with, compiled ahead of time by nvcc (see baselines.cu and aten_baseline.cpp).
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace bench {

struct Problem {
  const int* ext;
  const int* seq;
  int bs;
  int topk;
  int* out_expanded;
  int* out_cache;
};

void launch_empty(cudaStream_t stream);

// One thread that spins until words[0] != 0, or until timeout_ns have passed (then it sets words[1] = 1); words is
// mapped pinned host memory. Work queued behind it while it spins then runs back to back, so that events around
// that work time the GPU, not the host's launch rate (bench/dsa_bench.cpp).
void launch_hold(int* words, long long timeout_ns, cudaStream_t stream);

// The published path: fill kernel given exclusive offsets on the device and the total on the host.
void launch_fill(const Problem& p, const int* offsets, int total, cudaStream_t stream);

// The design note's "optimised" path: one-thread scan through global memory, async D2H of the total into pinned
// memory, host sync, then the fill kernel. Returns the total.
int note_path(const Problem& p, int* d_offsets, int* h_total, cudaStream_t stream);

// CUB DeviceScan::ExclusiveSum over bs + 1 entries (the last input is 0, so offsets[bs] is the total), async D2H,
// sync, fill. temp/temp_bytes come from cub_temp_bytes.
std::size_t cub_temp_bytes(int bs);
int cub_path(const Problem& p, int* d_lens_padded, int* d_offsets, void* temp, std::size_t temp_bytes, int* h_total,
             cudaStream_t stream);

// ATen zeros + cumsum + copy_ + item, then the fill kernel. Returns -1 when the benchmark was built without Torch.
bool aten_available();
int aten_path(const Problem& p, cudaStream_t stream);

}  // namespace bench
