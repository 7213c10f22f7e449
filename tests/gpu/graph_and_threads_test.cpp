// The async call under CUDA-graph capture and replay, concurrent host threads, several devices, and the error for a
// thread with no current context.
#include <cuda.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "context_registry.hpp"
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

// Issue 20 item 7: a blocking call inside a capture queues its kernel and copy (recorded, not run) and then fails
// in cuStreamSynchronize; its workspace slot must not go back to the pool, where a call on another stream could
// take it while the GPU may still write it. The code before the fix returned it on every error path.
TEST_CASE("a blocking call that fails after queuing work keeps its workspace slot out of the pool") {
  REQUIRE_CUDA(cudaSetDevice(0));
  std::mt19937 rng(7);
  for (std::int64_t bs : {16, 10000}) {  // the mapped-words path and the two-kernel copy path
    CAPTURE(bs);
    Problem p(random_inputs(bs, rng), 4 * bs + 8);
    prepare(bs);
    (void)fill_draft_extend_metadata(p.args(), nullptr);  // a completed call: its slot is in the pool now
    WorkspacePool& pool = current_context().workspace();
    const std::size_t free_before = pool.free_slots();
    REQUIRE(free_before >= 1);
    cudaStream_t stream;
    REQUIRE_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    REQUIRE_CUDA(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    CHECK_THROWS_AS(fill_draft_extend_metadata(p.args(), reinterpret_cast<CUstream>(stream)), Error);
    cudaGraph_t graph = nullptr;
    (void)cudaStreamEndCapture(stream, &graph);  // invalidated by the failed sync
    if (graph != nullptr) REQUIRE_CUDA(cudaGraphDestroy(graph));
    (void)cudaGetLastError();
    CHECK(pool.free_slots() == free_before - 1);
    REQUIRE_CUDA(cudaStreamDestroy(stream));
  }
}

// Issue 20 item 5: a call on one thread while another thread captures a graph in global mode (torch.cuda.graph's
// default). Before the fix a cold blocking call failed in cuMemAlloc and a warm one in cuStreamSynchronize, both
// with CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, and the other thread's capture ended invalidated.
TEST_CASE("calls beside another thread's global-mode capture work and leave that capture intact") {
  REQUIRE_CUDA(cudaSetDevice(0));
  std::mt19937 rng(11);
  for (const char* phase : {"cold", "warm"}) {
    for (std::int64_t bs : {21, 6000}) {  // fused, and the two-kernel path with its device workspace
      CAPTURE(phase);
      CAPTURE(bs);
      // Block sizes no other case uses, so that "cold" really compiles and loads.
      const Tuning tuning{.fused_unrolled_threads = 160, .fill_threads = 224};
      const Inputs in = random_inputs(bs, rng);
      const Reference ref = reference(in);
      Problem p(in, 4 * bs + 8);
      DeviceInts words(2);
      DeviceInts offsets(static_cast<std::size_t>(bs) + 1);
      DeviceInts scratch(256);
      cudaStream_t capturing;
      cudaStream_t calling;
      REQUIRE_CUDA(cudaStreamCreateWithFlags(&capturing, cudaStreamNonBlocking));
      REQUIRE_CUDA(cudaStreamCreateWithFlags(&calling, cudaStreamNonBlocking));
      REQUIRE_CUDA(cudaStreamBeginCapture(capturing, cudaStreamCaptureModeGlobal));
      REQUIRE_CUDA(cudaMemsetAsync(scratch.get(), 0, 1024, capturing));
      std::string failure;
      std::int32_t total = -1;
      std::thread caller([&] {
        try {
          cudaSetDevice(0);
          total = fill_draft_extend_metadata(p.args(), reinterpret_cast<CUstream>(calling), tuning);
          fill_draft_extend_metadata_async(p.args(), reinterpret_cast<CUstream>(calling), words.get(),
                                           words.get() + 1, offsets.get(), tuning);
          exclusive_offsets(p.ext.get(), bs, offsets.get(), reinterpret_cast<CUstream>(calling), nullptr, tuning);
        } catch (const std::exception& e) {
          failure = e.what();
        }
      });
      caller.join();
      // Checked, not required: the capture must end either way, or every later case would run inside it.
      CHECK(cudaMemsetAsync(scratch.get(), 1, 1024, capturing) == cudaSuccess);
      cudaGraph_t graph = nullptr;
      CHECK(cudaStreamEndCapture(capturing, &graph) == cudaSuccess);
      (void)cudaGetLastError();
      REQUIRE_CUDA(cudaStreamSynchronize(calling));  // only now: a plain sync here would break a global capture
      CHECK_MESSAGE(failure.empty(), failure);
      CHECK(total == ref.total);
      CHECK(words.download() == std::vector<std::int32_t>{ref.total, kStatusOk});
      CHECK(offsets.download() == ref.offsets);
      REQUIRE(graph != nullptr);
      cudaGraphExec_t exec;
      REQUIRE_CUDA(cudaGraphInstantiate(&exec, graph, 0));
      REQUIRE_CUDA(cudaGraphLaunch(exec, capturing));
      REQUIRE_CUDA(cudaStreamSynchronize(capturing));
      REQUIRE_CUDA(cudaGraphExecDestroy(exec));
      REQUIRE_CUDA(cudaGraphDestroy(graph));
      REQUIRE_CUDA(cudaStreamDestroy(capturing));
      REQUIRE_CUDA(cudaStreamDestroy(calling));
    }
  }
}

// Issue 18 item 3: a call whose stream is capturing and whose kernel is not loaded must not compile or load inside
// the capture; it names the bs, the kernel and the prepare() call, and the capture stays valid.
TEST_CASE("a cold call inside a capture is refused with the prepare() call that avoids it") {
  REQUIRE_CUDA(cudaSetDevice(0));
  std::mt19937 rng(13);
  const std::int64_t bs = 23;
  const Tuning tuning{.fused_unrolled_threads = 96};  // a block size no other case loads
  Problem p(random_inputs(bs, rng), 4 * bs);
  DeviceInts words(2);
  cudaStream_t stream;
  REQUIRE_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  REQUIRE_CUDA(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  CHECK_THROWS_WITH_AS(fill_draft_extend_metadata_async(p.args(), reinterpret_cast<CUstream>(stream), words.get(),
                                                        words.get() + 1, nullptr, tuning),
                       doctest::Contains("Call draftjit::prepare(23)"), Error);
  cudaGraph_t graph = nullptr;
  CHECK(cudaStreamEndCapture(stream, &graph) == cudaSuccess);
  if (graph != nullptr) REQUIRE_CUDA(cudaGraphDestroy(graph));
  REQUIRE_CUDA(cudaStreamDestroy(stream));
}

TEST_CASE("a cold exclusive_offsets inside a capture is refused naming what loads its kernel") {
  // prepare() loads the draft-extend kernels, not the scan exclusive_offsets runs alone, so its advice would be wrong
  // here.
  REQUIRE_CUDA(cudaSetDevice(0));
  const std::int64_t bs = 777;
  Tuning tuning;
  tuning.unroll_max_bs = 800;  // an unrolled scan of 777 lengths: a kernel no other case loads
  DeviceInts lens(bs);
  DeviceInts offsets(bs + 1);
  cudaStream_t stream;
  REQUIRE_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  REQUIRE_CUDA(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  CHECK_THROWS_WITH_AS(exclusive_offsets(lens.get(), bs, offsets.get(), reinterpret_cast<CUstream>(stream), nullptr,
                                         tuning),
                       doctest::Contains("Call exclusive_offsets once with bs = 777 before capturing"), Error);
  cudaGraph_t graph = nullptr;
  CHECK(cudaStreamEndCapture(stream, &graph) == cudaSuccess);
  if (graph != nullptr) REQUIRE_CUDA(cudaGraphDestroy(graph));
  REQUIRE_CUDA(cudaStreamDestroy(stream));
}
