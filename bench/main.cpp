// Side-by-side latency of the draft-extend metadata paths, per call, medians over many calls after warm-up.
// usage: draftjit_bench [--calls N] [--json FILE] [--bs 1,8,32] [--sweep]
//   --sweep: instead of the comparison, time the graph replay and GPU events of the async call under several
//            Tuning variants (unroll threshold, Blelloch block size), for choosing the defaults
#include <cuda.h>
#include <cuda_runtime.h>
#include <draftjit/draftjit.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "baselines.hpp"

namespace {

void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) throw std::runtime_error(fmt::format("{}: {}", what, cudaGetErrorString(err)));
}
#define CK(call) check((call), #call)

using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

// Host wall time of each call (each call blocks or is followed by whatever it needs), in microseconds.
double time_calls(const std::function<void()>& call, int calls) {
  for (int i = 0; i < std::max(calls / 10, 50); ++i) call();
  std::vector<double> us(static_cast<std::size_t>(calls));
  for (double& t : us) {
    const auto start = Clock::now();
    call();
    t = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
  }
  return median(us);
}

// Back-to-back asynchronous calls: batches of `per_batch` launches then one sync; per-call time of each batch.
double time_batches(const std::function<void()>& call, int calls, cudaStream_t stream) {
  constexpr int per_batch = 100;
  const int batches = std::max(calls / per_batch, 10);
  std::vector<double> us;
  for (int b = -3; b < batches; ++b) {
    const auto start = Clock::now();
    for (int i = 0; i < per_batch; ++i) call();
    CK(cudaStreamSynchronize(stream));
    const double t = std::chrono::duration<double, std::micro>(Clock::now() - start).count() / per_batch;
    if (b >= 0) us.push_back(t);
  }
  return median(us);
}

// GPU time between events recorded around one call, in microseconds.
double time_events(const std::function<void()>& call, int calls, cudaStream_t stream) {
  cudaEvent_t a, b;
  CK(cudaEventCreate(&a));
  CK(cudaEventCreate(&b));
  std::vector<double> us;
  for (int i = -50; i < calls; ++i) {
    CK(cudaEventRecord(a, stream));
    call();
    CK(cudaEventRecord(b, stream));
    CK(cudaEventSynchronize(b));
    float ms = 0;
    CK(cudaEventElapsedTime(&ms, a, b));
    if (i >= 0) us.push_back(ms * 1000.0);
  }
  CK(cudaEventDestroy(a));
  CK(cudaEventDestroy(b));
  return median(us);
}

cudaGraphExec_t capture(const std::function<void()>& call, cudaStream_t stream) {
  cudaGraph_t graph;
  cudaGraphExec_t exec;
  CK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
  call();
  CK(cudaStreamEndCapture(stream, &graph));
  CK(cudaGraphInstantiate(&exec, graph, 0));
  CK(cudaGraphDestroy(graph));
  return exec;
}

struct Device {
  explicit Device(std::size_t n) { CK(cudaMalloc(&ptr, std::max<std::size_t>(n, 1) * sizeof(int))); }
  ~Device() { cudaFree(ptr); }
  int* ptr = nullptr;
};

struct Case {
  int bs;
  std::vector<int> ext, seq, expanded, cache;
  int total = 0;
};

Case make_case(int bs, std::mt19937& rng) {
  Case c{bs, {}, {}, {}, {}, 0};
  for (int b = 0; b < bs; ++b) {
    c.ext.push_back(std::uniform_int_distribution<int>(1, 4)(rng));
    c.seq.push_back(c.ext.back() + std::uniform_int_distribution<int>(0, 8000)(rng));
    for (int l = 0; l < c.ext.back(); ++l) {
      c.expanded.push_back(c.seq.back() - c.ext.back() + 1 + l);
      c.cache.push_back(std::min(c.expanded.back(), 2048));
    }
    c.total += c.ext.back();
  }
  return c;
}

std::vector<int> parse_list(const std::string& text) {
  std::vector<int> out;
  std::size_t at = 0;
  while (at <= text.size()) {
    const std::size_t comma = text.find(',', at);
    out.push_back(std::stoi(text.substr(at, comma - at)));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return out;
}

struct Variant {
  std::string name;
  draftjit::Tuning tuning;
};

std::vector<Variant> sweep_variants() {
  std::vector<Variant> variants;
  for (int unroll : {0, 16, 32, 64, 128}) {
    draftjit::Tuning t;
    t.unroll_max_bs = unroll;
    variants.push_back({fmt::format("unroll<={}", unroll), t});
  }
  for (int threads : {128, 256, 512, 1024}) {
    draftjit::Tuning t;
    t.fused_blelloch_max_threads = threads;
    variants.push_back({fmt::format("blelloch<={}t", threads), t});
  }
  return variants;
}

int run_sweep(const std::vector<int>& sizes, int calls, cudaStream_t stream, std::mt19937& rng) {
  const std::vector<Variant> variants = sweep_variants();
  const CUstream cu_stream = reinterpret_cast<CUstream>(stream);
  Device words(2);
  fmt::print("graph replay + sync / GPU events of the async call, us (medians of {} calls)\n{:>6}", calls, "bs");
  for (const Variant& v : variants) fmt::print(" {:>18}", v.name);
  fmt::print("\n");
  for (int bs : sizes) {
    const Case c = make_case(bs, rng);
    Device ext(bs), seq(bs), expanded(4 * bs), cache(4 * bs);
    CK(cudaMemcpy(ext.ptr, c.ext.data(), bs * sizeof(int), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(seq.ptr, c.seq.data(), bs * sizeof(int), cudaMemcpyHostToDevice));
    const draftjit::DraftExtendArgs args{ext.ptr, seq.ptr, bs, 2048, expanded.ptr, cache.ptr, 4 * bs};
    fmt::print("{:>6}", bs);
    for (const Variant& v : variants) {
      if (draftjit::fill_draft_extend_metadata(args, cu_stream, v.tuning) != c.total) {
        throw std::runtime_error(fmt::format("{} is wrong at bs = {}", v.name, bs));
      }
      auto call = [&] { draftjit::fill_draft_extend_metadata_async(args, cu_stream, words.ptr, words.ptr + 1, nullptr, v.tuning); };
      const cudaGraphExec_t graph = capture(call, stream);
      const double replay = time_calls([&] {
        CK(cudaGraphLaunch(graph, stream));
        CK(cudaStreamSynchronize(stream));
      }, calls);
      CK(cudaGraphExecDestroy(graph));
      fmt::print(" {:>9.2f} /{:>7.2f}", replay, time_events(call, std::min(calls, 2000), stream));
    }
    fmt::print("\n");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  int calls = 5000;
  std::string json_path;
  std::vector<int> sizes = {1, 8, 32, 64, 128, 256, 512, 1024, 4096};
  bool sweep = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--sweep") {
      sweep = true;
      continue;
    }
    if (i + 1 == argc) throw std::invalid_argument(std::string("missing value for ") + argv[i]);
    const std::string arg = argv[i++];
    if (arg == "--calls") calls = std::stoi(argv[i]);
    else if (arg == "--json") json_path = argv[i];
    else if (arg == "--bs") sizes = parse_list(argv[i]);
    else throw std::invalid_argument("unknown argument " + arg);
  }
  CK(cudaSetDevice(0));
  cudaDeviceProp prop{};
  CK(cudaGetDeviceProperties(&prop, 0));
  cudaStream_t stream;
  CK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  const CUstream cu_stream = reinterpret_cast<CUstream>(stream);
  int* h_words = nullptr;
  CK(cudaMallocHost(&h_words, 2 * sizeof(int)));
  Device d_words(2);
  Device d_empty_out(1);

  std::mt19937 rng(12345);
  if (sweep) return run_sweep(sizes, calls, stream, rng);
  std::vector<std::map<std::string, double>> rows;
  std::vector<std::string> columns = {"floor_sync", "floor_async", "floor_graph"};
  if (bench::aten_available()) columns.push_back("aten");
  for (const char* c : {"note", "cub", "ours_sync", "ours_async", "ours_graph", "ours_gpu_events", "empty_gpu_events",
                        "exp_async_copy_sync"}) {
    columns.push_back(c);
  }

  for (int bs : sizes) {
    const Case c = make_case(bs, rng);
    const int capacity = 4 * bs;
    Device ext(bs), seq(bs), lens_padded(bs + 1), offsets(bs + 1), expanded(capacity), cache(capacity);
    CK(cudaMemcpy(ext.ptr, c.ext.data(), bs * sizeof(int), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(seq.ptr, c.seq.data(), bs * sizeof(int), cudaMemcpyHostToDevice));
    CK(cudaMemset(lens_padded.ptr, 0, (bs + 1) * sizeof(int)));
    CK(cudaMemcpy(lens_padded.ptr, c.ext.data(), bs * sizeof(int), cudaMemcpyHostToDevice));
    const bench::Problem problem{ext.ptr, seq.ptr, bs, 2048, expanded.ptr, cache.ptr};
    const draftjit::DraftExtendArgs args{ext.ptr, seq.ptr, bs, 2048, expanded.ptr, cache.ptr, capacity};
    const std::size_t temp_bytes = bench::cub_temp_bytes(bs);
    Device temp(temp_bytes / sizeof(int) + 1);

    std::map<std::string, std::function<int()>> paths = {
        {"note", [&] { return bench::note_path(problem, offsets.ptr, h_words, stream); }},
        {"cub", [&] { return bench::cub_path(problem, lens_padded.ptr, offsets.ptr, temp.ptr, temp_bytes, h_words, stream); }},
        {"ours_sync", [&] { return draftjit::fill_draft_extend_metadata(args, cu_stream); }},
    };
    if (bench::aten_available()) paths["aten"] = [&] { return bench::aten_path(problem, stream); };

    // Every path must produce the reference before it is timed.
    for (auto& [name, run] : paths) {
      CK(cudaMemset(expanded.ptr, 0xA5, capacity * sizeof(int)));
      CK(cudaMemset(cache.ptr, 0xA5, capacity * sizeof(int)));
      const int total = run();
      CK(cudaStreamSynchronize(stream));
      std::vector<int> got_expanded(c.total), got_cache(c.total);
      CK(cudaMemcpy(got_expanded.data(), expanded.ptr, c.total * sizeof(int), cudaMemcpyDeviceToHost));
      CK(cudaMemcpy(got_cache.data(), cache.ptr, c.total * sizeof(int), cudaMemcpyDeviceToHost));
      if (total != c.total || got_expanded != c.expanded || got_cache != c.cache) {
        throw std::runtime_error(fmt::format("{} is wrong at bs = {} (total {} vs {})", name, bs, total, c.total));
      }
    }

    std::map<std::string, double> row;
    row["bs"] = bs;
    row["floor_sync"] = time_calls([&] {
      bench::launch_empty(stream);
      CK(cudaMemcpyAsync(h_words, d_words.ptr, sizeof(int), cudaMemcpyDeviceToHost, stream));
      CK(cudaStreamSynchronize(stream));
    }, calls);
    row["floor_async"] = time_batches([&] { bench::launch_empty(stream); }, calls, stream);
    const cudaGraphExec_t empty_graph = capture([&] { bench::launch_empty(stream); }, stream);
    row["floor_graph"] = time_calls([&] {
      CK(cudaGraphLaunch(empty_graph, stream));
      CK(cudaStreamSynchronize(stream));
    }, calls);
    for (auto& [name, run] : paths) {
      row[name] = time_calls([&] { run(); }, calls);
    }
    auto async_call = [&] { draftjit::fill_draft_extend_metadata_async(args, cu_stream, d_words.ptr, d_words.ptr + 1); };
    row["ours_async"] = time_batches(async_call, calls, stream);
    const cudaGraphExec_t ours_graph = capture(async_call, stream);
    row["ours_graph"] = time_calls([&] {
      CK(cudaGraphLaunch(ours_graph, stream));
      CK(cudaStreamSynchronize(stream));
    }, calls);
    row["ours_gpu_events"] = time_events(async_call, std::min(calls, 2000), stream);
    row["empty_gpu_events"] = time_events([&] { bench::launch_empty(stream); }, std::min(calls, 2000), stream);
    // Experiment (docs/PERF.md): the blocking read through a copy-engine transfer instead of mapped memory.
    row["exp_async_copy_sync"] = time_calls([&] {
      async_call();
      CK(cudaMemcpyAsync(h_words, d_words.ptr, 2 * sizeof(int), cudaMemcpyDeviceToHost, stream));
      CK(cudaStreamSynchronize(stream));
    }, calls);
    CK(cudaGraphExecDestroy(empty_graph));
    CK(cudaGraphExecDestroy(ours_graph));
    rows.push_back(row);
    std::fprintf(stderr, "bs %d done\n", bs);
  }

  fmt::print("device: {} ({} SMs), {} calls per median\n\n", prop.name, prop.multiProcessorCount, calls);
  fmt::print("{:>6}", "bs");
  for (const std::string& c : columns) fmt::print(" {:>16}", c);
  fmt::print("\n");
  for (auto& row : rows) {
    fmt::print("{:>6}", row["bs"]);
    for (const std::string& c : columns) fmt::print(" {:>16.2f}", row[c]);
    fmt::print("\n");
  }
  fmt::print("\nratios (lower is better for ours/floor; higher is better for baseline/ours):\n");
  fmt::print("{:>6} {:>16} {:>16} {:>16} {:>16} {:>16} {:>16}\n", "bs", "sync/floor_sync", "aten/ours_sync",
             "note/ours_sync", "cub/ours_sync", "async/floor_async", "graph/floor_graph");
  for (auto& row : rows) {
    fmt::print("{:>6} {:>16.2f} {:>16.2f} {:>16.2f} {:>16.2f} {:>16.2f} {:>16.2f}\n", row["bs"],
               row["ours_sync"] / row["floor_sync"], row.count("aten") ? row["aten"] / row["ours_sync"] : 0.0,
               row["note"] / row["ours_sync"], row["cub"] / row["ours_sync"], row["ours_async"] / row["floor_async"],
               row["ours_graph"] / row["floor_graph"]);
  }
  if (!json_path.empty()) {
    std::FILE* f = std::fopen(json_path.c_str(), "w");
    if (f == nullptr) throw std::runtime_error("cannot write " + json_path);
    fmt::print(f, "{{\"device\": \"{}\", \"calls\": {}, \"unit\": \"us\", \"rows\": [\n", prop.name, calls);
    for (std::size_t r = 0; r < rows.size(); ++r) {
      fmt::print(f, "  {{");
      bool first = true;
      for (auto& [k, v] : rows[r]) {
        fmt::print(f, "{}\"{}\": {:.3f}", first ? "" : ", ", k, v);
        first = false;
      }
      fmt::print(f, "}}{}\n", r + 1 < rows.size() ? "," : "");
    }
    fmt::print(f, "]}}\n");
    std::fclose(f);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "draftjit_bench: %s\n", e.what());
  return 1;
}
