// The async call under CUDA-graph capture and replay, concurrent host threads, several devices, and the error for a
// thread with no current context.
#include <cuda.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "gpu_support.hpp"

using namespace draftjit;
using namespace draftjit::test;

TEST_CASE("CUDA graph: capture the async call once, replay with new inputs") {
  REQUIRE_CUDA(cudaSetDevice(0));
  std::mt19937 rng(std::random_device{}());
  for (std::int64_t bs : {1, 37, 3000, 10000}) {
    CAPTURE(bs);
    const std::int64_t capacity = 4 * bs + 8;
    Inputs in = random_inputs(bs, rng);
    Problem p(in, capacity);
    DeviceInts words(2);
    DeviceInts offsets(static_cast<std::size_t>(bs) + 1);
    cudaStream_t stream;
    REQUIRE_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    prepare(bs);
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    REQUIRE_CUDA(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
    fill_draft_extend_metadata_async(p.args(), reinterpret_cast<CUstream>(stream), words.get(), words.get() + 1,
                                     offsets.get());
    REQUIRE_CUDA(cudaStreamEndCapture(stream, &graph));
    REQUIRE_CUDA(cudaGraphInstantiate(&exec, graph, 0));
    for (int replay = 0; replay < 5; ++replay) {
      in = random_inputs(bs, rng);
      in.topk = p.topk;  // the topk argument is baked into the graph
      const Reference ref = reference(in);
      p.ext.upload(in.ext);
      p.seq.upload(in.seq);
      p.poison_outputs();
      REQUIRE_CUDA(cudaGraphLaunch(exec, stream));
      REQUIRE_CUDA(cudaStreamSynchronize(stream));
      CHECK(words.download() == std::vector<std::int32_t>{ref.total, kStatusOk});
      CHECK_MESSAGE(compare_outputs(p, ref) == "", compare_outputs(p, ref));
    }
    REQUIRE_CUDA(cudaGraphExecDestroy(exec));
    REQUIRE_CUDA(cudaGraphDestroy(graph));
    REQUIRE_CUDA(cudaStreamDestroy(stream));
  }
}

TEST_CASE("8 host threads, each on its own stream with its own bs") {
  REQUIRE_CUDA(cudaSetDevice(0));
  const std::int64_t sizes[8] = {1, 5, 33, 64, 65, 300, 2000, 9000};
  std::mutex mutex;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto fail = [&](const std::string& what) {
        std::lock_guard lock(mutex);
        failures.push_back(fmt::format("thread {} bs {}: {}", t, sizes[t], what));
      };
      try {
        cudaSetDevice(0);
        cudaStream_t stream;
        cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
        std::mt19937 rng(1000 + t);
        for (int iter = 0; iter < 20; ++iter) {
          const Inputs in = random_inputs(sizes[t], rng);
          const Reference ref = reference(in);
          Problem p(in, ref.total);
          const int32_t total = fill_draft_extend_metadata(p.args(), reinterpret_cast<CUstream>(stream));
          if (total != ref.total) fail(fmt::format("total {} != {}", total, ref.total));
          if (const std::string e = compare_outputs(p, ref); !e.empty()) fail(e);
        }
        cudaStreamDestroy(stream);
      } catch (const std::exception& e) {
        fail(e.what());
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK_MESSAGE(failures.empty(), fmt::format("{}", fmt::join(failures, "\n")));
}

TEST_CASE("a thread with no current context gets a clear error") {
  std::string message;
  std::thread([&] {
    try {
      prepare(3);
    } catch (const Error& e) {
      message = e.what();
    }
  }).join();
  CHECK(message.find("no CUDA context is current") != std::string::npos);
}

TEST_CASE("two devices: each context gets its own modules and correct results") {
  for (int device = 0; device < 2; ++device) {
    REQUIRE_CUDA(cudaSetDevice(device));
    std::mt19937 rng(device);
    for (std::int64_t bs : {50, 5000}) {
      const Inputs in = random_inputs(bs, rng);
      const Reference ref = reference(in);
      Problem p(in, ref.total);
      CHECK(fill_draft_extend_metadata(p.args(), nullptr) == ref.total);
      CHECK(compare_outputs(p, ref) == "");
    }
  }
}
