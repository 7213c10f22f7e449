// One blocking call on the worked example of docs/DESIGN.md:
//   extend_seq_lens = [2, 3], seq_lens = [10, 15], topk = 128  ->  total 5, seqlens_expanded = [9, 10, 13, 14, 15]
#include <cuda_runtime.h>
#include <draftjit/draftjit.hpp>

#include <cstdio>
#include <vector>

#include "check_cuda.hpp"

int main() {
  const std::vector<int> extend_seq_lens = {2, 3};
  const std::vector<int> seq_lens = {10, 15};
  const int capacity = 8;

  int* d_ext = nullptr;
  int* d_seq = nullptr;
  int* d_expanded = nullptr;
  int* d_cache = nullptr;
  CHECK_CUDA(cudaSetDevice(0));  // makes the device's primary context current for draftjit
  CHECK_CUDA(cudaMalloc(&d_ext, sizeof(int) * 2));
  CHECK_CUDA(cudaMalloc(&d_seq, sizeof(int) * 2));
  CHECK_CUDA(cudaMalloc(&d_expanded, sizeof(int) * capacity));
  CHECK_CUDA(cudaMalloc(&d_cache, sizeof(int) * capacity));
  CHECK_CUDA(cudaMemcpy(d_ext, extend_seq_lens.data(), sizeof(int) * 2, cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(d_seq, seq_lens.data(), sizeof(int) * 2, cudaMemcpyHostToDevice));

  draftjit::DraftExtendArgs args;
  args.extend_seq_lens = d_ext;
  args.seq_lens = d_seq;
  args.bs = 2;
  args.nsa_index_topk = 128;
  args.out_seqlens_expanded = d_expanded;
  args.out_nsa_cache_seqlens = d_cache;
  args.capacity = capacity;

  try {
    const int total = draftjit::fill_draft_extend_metadata(args, /*stream=*/nullptr);
    std::vector<int> expanded(total), cache(total);
    CHECK_CUDA(cudaMemcpy(expanded.data(), d_expanded, sizeof(int) * total, cudaMemcpyDeviceToHost));
    CHECK_CUDA(cudaMemcpy(cache.data(), d_cache, sizeof(int) * total, cudaMemcpyDeviceToHost));
    std::printf("total_tokens = %d\nseqlens_expanded =", total);
    for (int v : expanded) std::printf(" %d", v);
    std::printf("\nnsa_cache_seqlens =");
    for (int v : cache) std::printf(" %d", v);
    std::printf("\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "draftjit: %s\n", e.what());
    return 1;
  }
  return 0;
}
