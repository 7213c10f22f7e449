// Capture the asynchronous call once, then replay it every decoding step with new request data written into the
// same input buffers, as SGLang does for draft-extend steps. No host synchronisation inside the graph.
#include <cuda_runtime.h>
#include <draftjit/draftjit.hpp>

#include <cstdio>
#include <vector>

#include "check_cuda.hpp"

int main() {
  constexpr int bs = 4;
  constexpr int kDraftTokens = 3;
  constexpr int capacity = bs * kDraftTokens;

  int *d_ext, *d_seq, *d_expanded, *d_cache, *d_words;
  CHECK_CUDA(cudaSetDevice(0));
  CHECK_CUDA(cudaMalloc(&d_ext, sizeof(int) * bs));
  CHECK_CUDA(cudaMalloc(&d_seq, sizeof(int) * bs));
  CHECK_CUDA(cudaMalloc(&d_expanded, sizeof(int) * capacity));
  CHECK_CUDA(cudaMalloc(&d_cache, sizeof(int) * capacity));
  CHECK_CUDA(cudaMalloc(&d_words, sizeof(int) * 2));  // total, status
  cudaStream_t stream;
  CHECK_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));

  draftjit::DraftExtendArgs args{d_ext, d_seq, bs, /*nsa_index_topk=*/2048, d_expanded, d_cache, capacity};
  cudaGraphExec_t graph_exec;
  try {
    draftjit::prepare(bs);  // compile and load before capture, so the capture records launches only
    cudaGraph_t graph;
    CHECK_CUDA(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
    draftjit::fill_draft_extend_metadata_async(args, stream, d_words, d_words + 1);
    CHECK_CUDA(cudaStreamEndCapture(stream, &graph));
    CHECK_CUDA(cudaGraphInstantiate(&graph_exec, graph, 0));
    CHECK_CUDA(cudaGraphDestroy(graph));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "draftjit: %s\n", e.what());
    return 1;
  }

  for (int step = 0; step < 3; ++step) {
    std::vector<int> ext(bs), seq(bs);
    for (int b = 0; b < bs; ++b) {
      ext[b] = (b + step) % kDraftTokens + 1;
      seq[b] = 100 * (b + 1) + step;
    }
    CHECK_CUDA(cudaMemcpyAsync(d_ext, ext.data(), sizeof(int) * bs, cudaMemcpyHostToDevice, stream));
    CHECK_CUDA(cudaMemcpyAsync(d_seq, seq.data(), sizeof(int) * bs, cudaMemcpyHostToDevice, stream));
    CHECK_CUDA(cudaGraphLaunch(graph_exec, stream));
    int words[2];
    std::vector<int> expanded(capacity);
    CHECK_CUDA(cudaMemcpyAsync(words, d_words, sizeof words, cudaMemcpyDeviceToHost, stream));
    CHECK_CUDA(cudaMemcpyAsync(expanded.data(), d_expanded, sizeof(int) * capacity, cudaMemcpyDeviceToHost, stream));
    CHECK_CUDA(cudaStreamSynchronize(stream));
    std::printf("step %d: status %d, total %d, seqlens_expanded =", step, words[1], words[0]);
    for (int t = 0; t < words[0]; ++t) std::printf(" %d", expanded[t]);
    std::printf("\n");
  }
  return 0;
}
