// GPU time and launch cost of the three DSA metadata calls (include/draftjit/dsa.hpp), against two floors measured
// in the same run: an empty kernel launched the same way, and a device-to-device cudaMemcpyAsync of half the bytes
// the call must read and write (a copy reads and writes its size, so it moves exactly the call's bytes).
// usage: draftjit_dsa_bench [--calls N] [--rounds R] [--bs 1,8,32,64,128,256] [--ctx 4096,32768]
//                           [--modes decode,verify,extend] [--threads N] [--unroll-max N]
// (--threads and --unroll-max set Tuning::dsa_threads and unroll_max_bs, to compare variants in one run.)
// Prints a markdown table (docs/PERF.md takes it as printed), progress on stderr.
//
// Per (mode, bs, context): req_to_token int32 [2 * bs, context], req_pool_indices int64 (distinct rows of it),
// seq_lens int32 in [context / 2, context - 4], dsa_index_topk 2048, real_page_size 64; the bound (max_len,
// max_seqlen_k) is the context. Target verify: next_n = 2. Draft extend: 1-4 tokens per request, outputs of
// 4 x bs rows. Bytes: req_to_token read over each row's live prefix (its request's KV length rounded up to 128,
// within the bound), page_table_1 written the same, real_page_table one entry per 64 of those columns, and every
// small array read or written once.
//
// GPU us: N calls queued behind a kernel that holds the stream until the host has queued them all (batches of at
// most 256, so the launch queue never fills), CUDA events around each batch, summed over the batches / N; median
// of R rounds. The empty kernel and the copy are timed the same way. Launch us: host time of N calls with no
// synchronisation (same batches, a sync between them, not timed) / N. Before and after timing, one call's outputs
// are checked against the definitions (every per-request and per-row array, the first and last rows of both page
// tables), so a broken kernel cannot produce a fast number.
#include <cuda.h>
#include <cuda_runtime.h>
#include <draftjit/dsa.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <numeric>
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
constexpr int kTopk = 2048;
constexpr int kPage = 64;
constexpr int kNextN = 2;
constexpr int kBatch = 256;                      // calls queued behind one hold
constexpr long long kHoldTimeoutNs = 1000000000;  // a hold that outlives this is counted and reported

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

template <class T>
struct Buf {
  explicit Buf(std::size_t n) { CK(cudaMalloc(&ptr, std::max<std::size_t>(n, 1) * sizeof(T))); }
  ~Buf() { cudaFree(ptr); }
  Buf(const Buf&) = delete;
  Buf& operator=(const Buf&) = delete;
  void upload(const std::vector<T>& v) { CK(cudaMemcpy(ptr, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice)); }
  std::vector<T> download(std::size_t n, std::size_t at = 0) const {
    std::vector<T> v(n);
    CK(cudaMemcpy(v.data(), ptr + at, n * sizeof(T), cudaMemcpyDeviceToHost));
    return v;
  }
  T* ptr = nullptr;
};

struct Timer {
  cudaStream_t stream;
  int* words;  // mapped pinned: [0] releases the hold, [1] set by a hold that timed out
  cudaEvent_t a, b;
  int timeouts = 0;

  // GPU time per call, us.
  double gpu(const std::function<void()>& call, int calls) {
    double ms = 0;
    for (int done = 0; done < calls; done += kBatch) {
      const int n = std::min(kBatch, calls - done);
      words[0] = words[1] = 0;
      std::atomic_thread_fence(std::memory_order_seq_cst);
      bench::launch_hold(words, kHoldTimeoutNs, stream);
      CK(cudaEventRecord(a, stream));
      for (int i = 0; i < n; ++i) call();
      CK(cudaEventRecord(b, stream));
      std::atomic_thread_fence(std::memory_order_seq_cst);
      static_cast<volatile int*>(words)[0] = 1;
      CK(cudaEventSynchronize(b));
      timeouts += static_cast<volatile int*>(words)[1];
      float batch = 0;
      CK(cudaEventElapsedTime(&batch, a, b));
      ms += batch;
    }
    return ms * 1000.0 / calls;
  }

  // Host time per call with no synchronisation, us.
  double launch(const std::function<void()>& call, int calls) {
    double us = 0;
    for (int done = 0; done < calls; done += kBatch) {
      const int n = std::min(kBatch, calls - done);
      const auto start = Clock::now();
      for (int i = 0; i < n; ++i) call();
      us += std::chrono::duration<double, std::micro>(Clock::now() - start).count();
      CK(cudaStreamSynchronize(stream));
    }
    return us / calls;
  }
};

enum class Mode { Decode, Verify, Extend };
const char* mode_name(Mode m) {
  return m == Mode::Decode ? "decode" : m == Mode::Verify ? "target verify" : "draft extend";
}

// req_to_token[p, j]: distinct per row, so that a gather of the wrong row shows.
std::int32_t token(std::int64_t pool_row, std::int64_t col, int ctx) {
  return static_cast<std::int32_t>(pool_row * ctx + col);
}

// The inputs and, per output row, its request and its length (what seqlens_expanded, or cache_seqlens in decode,
// holds); everything the check needs.
struct Case {
  Mode mode;
  int bs, ctx;
  std::vector<std::int32_t> seq, ext, row_req, row_len;
  std::vector<std::int64_t> pool;
  std::int64_t rows = 0, capacity = 0;
};

Case make_case(Mode mode, int bs, int ctx, std::mt19937& rng) {
  Case c{mode, bs, ctx, {}, {}, {}, {}, {}, 0, 0};
  std::vector<std::int64_t> perm(2 * static_cast<std::size_t>(bs));
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  c.pool.assign(perm.begin(), perm.begin() + bs);
  for (int b = 0; b < bs; ++b) {
    c.seq.push_back(std::uniform_int_distribution<int>(std::max(ctx / 2, 4), std::max(ctx - 4, 4))(rng));
    if (mode == Mode::Decode) {
      c.row_req.push_back(b);
      c.row_len.push_back(c.seq[b]);
    } else if (mode == Mode::Verify) {
      for (int d = 0; d < kNextN; ++d) {
        c.row_req.push_back(b);
        c.row_len.push_back(c.seq[b] + d + 1);
      }
    } else {
      c.ext.push_back(std::uniform_int_distribution<int>(1, 4)(rng));
      for (int l = 0; l < c.ext[b]; ++l) {
        c.row_req.push_back(b);
        c.row_len.push_back(std::max(c.seq[b] - c.ext[b] + 1 + l, 0));
      }
    }
  }
  c.rows = static_cast<std::int64_t>(c.row_req.size());
  c.capacity = mode == Mode::Extend ? 4 * static_cast<std::int64_t>(bs) : c.rows;
  return c;
}

// The columns the call writes of a row whose request has KV length kv (include/draftjit/dsa.hpp).
std::int64_t live_columns(std::int64_t kv, std::int64_t ctx) {
  const std::int64_t blocks = kv > 0 ? (kv + draftjit::kDsaLiveColumns - 1) / draftjit::kDsaLiveColumns : 0;
  return std::min(blocks * draftjit::kDsaLiveColumns, ctx);
}

std::vector<std::int32_t> prefix(const std::vector<std::int32_t>& v) {
  std::vector<std::int32_t> out(v.size() + 1, 0);
  for (std::size_t i = 0; i < v.size(); ++i) out[i + 1] = out[i] + v[i];
  return out;
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at <= text.size();) {
    const std::size_t comma = text.find(',', at);
    out.push_back(text.substr(at, comma - at));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return out;
}

std::vector<int> parse_list(const std::string& text) {
  std::vector<int> out;
  for (const std::string& part : split(text)) out.push_back(std::stoi(part));
  return out;
}

struct Row {
  Mode mode;
  int bs, ctx;
  std::int64_t rows;
  double mb, gpu, empty, copy, launch, empty_launch;
};

Row run_case(const Case& c, int calls, int rounds, Timer& timer, const draftjit::Tuning& tuning) {
  const int bs = c.bs, ctx = c.ctx;
  const std::int64_t pages = (ctx + kPage - 1) / kPage, cap = c.capacity, rows = c.rows;
  std::vector<std::int32_t> r2t_host(2 * static_cast<std::size_t>(bs) * ctx);
  for (std::size_t i = 0; i < r2t_host.size(); ++i) {
    r2t_host[i] = token(static_cast<std::int64_t>(i / ctx), static_cast<std::int64_t>(i % ctx), ctx);
  }
  Buf<std::int32_t> seq(bs), ext(bs), r2t(r2t_host.size()), cache(bs), cu(bs + 1), dsa(cap), dsa_cu(cap + 1),
      expanded(cap), pt(cap * ctx), rpt(cap * pages), status(1);
  Buf<std::int64_t> pool(bs);
  seq.upload(c.seq);
  pool.upload(c.pool);
  r2t.upload(r2t_host);
  if (c.mode == Mode::Extend) ext.upload(c.ext);

  draftjit::DsaCommonArgs common;
  common.seq_lens = {seq.ptr, draftjit::IndexType::Int32};
  common.req_pool_indices = {pool.ptr, draftjit::IndexType::Int64};
  common.bs = bs;
  common.req_to_token = {r2t.ptr, 2 * static_cast<std::int64_t>(bs), ctx, ctx, 1};
  common.dsa_index_topk = kTopk;
  common.real_page_size = kPage;
  common.cache_seqlens = cache.ptr;
  common.cu_seqlens_k = cu.ptr;
  common.dsa_cache_seqlens = dsa.ptr;
  common.dsa_cu_seqlens_k = dsa_cu.ptr;
  common.row_capacity = cap;
  common.page_table_1 = {pt.ptr, cap, ctx, ctx, 1};
  common.real_page_table = {rpt.ptr, cap, pages, pages, 1};
  draftjit::DsaDecodeArgs decode{common, ctx};
  draftjit::DsaTargetVerifyArgs verify{common, kNextN, ctx, expanded.ptr, {}};
  draftjit::DsaDraftExtendArgs extend{common, {ext.ptr, draftjit::IndexType::Int32}, rows, ctx, expanded.ptr};
  const CUstream cu_stream = reinterpret_cast<CUstream>(timer.stream);
  auto call = [&] {
    if (c.mode == Mode::Decode) draftjit::dsa_decode_metadata(decode, cu_stream, tuning);
    else if (c.mode == Mode::Verify) draftjit::dsa_target_verify_metadata(verify, cu_stream, tuning);
    else draftjit::dsa_draft_extend_metadata(extend, cu_stream, tuning);
  };
  const draftjit::DsaMode mode = c.mode == Mode::Decode   ? draftjit::DsaMode::Decode
                                 : c.mode == Mode::Verify ? draftjit::DsaMode::TargetVerify
                                                          : draftjit::DsaMode::DraftExtend;
  draftjit::DsaSwitches switches;
  switches.paged = true;
  draftjit::prepare_dsa(mode, bs, switches, tuning);

  // One call with the status word, into outputs set to 0xA5A5A5A5, checked against the definitions.
  auto verify_outputs = [&](const char* when) {
    auto poison = [&](std::int32_t* p, std::int64_t n) {
      CK(cudaMemsetAsync(p, 0xA5, n * sizeof(std::int32_t), timer.stream));
    };
    poison(cache.ptr, bs), poison(cu.ptr, bs + 1), poison(dsa.ptr, cap), poison(dsa_cu.ptr, cap + 1);
    poison(expanded.ptr, cap), poison(pt.ptr, rows * ctx), poison(rpt.ptr, rows * pages), poison(status.ptr, 1);
    decode.common.status = verify.common.status = extend.common.status = status.ptr;
    call();
    decode.common.status = verify.common.status = extend.common.status = nullptr;
    CK(cudaStreamSynchronize(timer.stream));
    std::vector<std::int32_t> want_cache = c.seq, want_dsa;
    if (c.mode == Mode::Verify) for (auto& s : want_cache) s += kNextN;
    for (std::int32_t len : c.row_len) want_dsa.push_back(std::min(len, kTopk));
    auto fail = [&](const char* what) {
      throw std::runtime_error(fmt::format("{} bs {} context {}: {} wrong {} timing", mode_name(c.mode), bs, ctx,
                                           what, when));
    };
    if (status.download(1)[0] != 0) fail(fmt::format("status {:#x}", status.download(1)[0]).c_str());
    if (cache.download(bs) != want_cache) fail("cache_seqlens");
    if (cu.download(bs + 1) != prefix(want_cache)) fail("cu_seqlens_k");
    if (dsa.download(rows) != want_dsa) fail("dsa_cache_seqlens");
    if (dsa_cu.download(rows + 1) != prefix(want_dsa)) fail("dsa_cu_seqlens_k");
    if (c.mode != Mode::Decode && expanded.download(rows) != c.row_len) fail("seqlens_expanded");
    constexpr std::int32_t kPoison = static_cast<std::int32_t>(0xA5A5A5A5u);
    for (std::int64_t r : {std::int64_t{0}, rows - 1}) {
      const std::int64_t p = c.pool[c.row_req[r]];
      const std::int64_t live = live_columns(want_cache[c.row_req[r]], ctx);
      std::vector<std::int32_t> want_pt(ctx, kPoison), want_rpt(pages, kPoison);
      for (int j = 0; j < live; ++j) want_pt[j] = token(p, j, ctx);
      for (std::int64_t i = 0; i * kPage < live; ++i) want_rpt[i] = token(p, i * kPage, ctx) / kPage;
      if (pt.download(ctx, r * ctx) != want_pt) fail(fmt::format("page_table_1 row {}", r).c_str());
      if (rpt.download(pages, r * pages) != want_rpt) fail(fmt::format("real_page_table row {}", r).c_str());
    }
  };
  verify_outputs("before");

  // Reads: req_to_token's live prefixes, seq_lens, req_pool_indices (int64), extend_seq_lens. Writes: page_table_1
  // and real_page_table over the live prefixes, cache_seqlens, cu_seqlens_k, dsa_cache_seqlens, dsa_cu_seqlens_k,
  // seqlens_expanded.
  std::int64_t live_cells = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    const int kv = c.seq[c.row_req[r]] + (c.mode == Mode::Verify ? kNextN : 0);
    live_cells += live_columns(kv, ctx);
  }
  const std::int64_t table = live_cells * 4;
  const std::int64_t reads = table + bs * (4 + 8 + (c.mode == Mode::Extend ? 4 : 0));
  const std::int64_t writes = table + (live_cells + kPage - 1) / kPage * 4 +
                              (bs + (bs + 1) + rows + (rows + 1) + (c.mode != Mode::Decode ? rows : 0)) * 4;
  const std::int64_t bytes = reads + writes;
  const std::size_t copy_bytes = static_cast<std::size_t>((bytes + 1) / 2);
  Buf<char> src(copy_bytes), dst(copy_bytes);
  CK(cudaMemset(src.ptr, 1, copy_bytes));
  auto empty = [&] { bench::launch_empty(timer.stream); };
  auto copy = [&] { CK(cudaMemcpyAsync(dst.ptr, src.ptr, copy_bytes, cudaMemcpyDeviceToDevice, timer.stream)); };

  std::vector<double> gpu, empty_gpu, copy_gpu, launch, empty_launch;
  for (int round = -1; round < rounds; ++round) {  // round -1 warms everything up
    const double g = timer.gpu(call, calls), e = timer.gpu(empty, calls), k = timer.gpu(copy, calls);
    const double l = timer.launch(call, calls), el = timer.launch(empty, calls);
    if (round < 0) continue;
    gpu.push_back(g), empty_gpu.push_back(e), copy_gpu.push_back(k), launch.push_back(l), empty_launch.push_back(el);
  }
  verify_outputs("after");
  return {c.mode, bs, ctx, rows, bytes / 1e6, median(gpu), median(empty_gpu), median(copy_gpu), median(launch),
          median(empty_launch)};
}

}  // namespace

int main(int argc, char** argv) try {
  int calls = 1000, rounds = 5;
  draftjit::Tuning tuning;
  std::vector<int> sizes = {1, 8, 32, 64, 128, 256}, contexts = {4096, 32768};
  std::vector<Mode> modes = {Mode::Decode, Mode::Verify, Mode::Extend};
  std::string command = argv[0];
  for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
  for (int i = 1; i < argc; ++i) {
    if (i + 1 == argc) throw std::invalid_argument(std::string("missing value for ") + argv[i]);
    const std::string arg = argv[i++];
    if (arg == "--calls") calls = std::stoi(argv[i]);
    else if (arg == "--rounds") rounds = std::stoi(argv[i]);
    else if (arg == "--bs") sizes = parse_list(argv[i]);
    else if (arg == "--ctx") contexts = parse_list(argv[i]);
    else if (arg == "--threads") tuning.dsa_threads = std::stoi(argv[i]);
    else if (arg == "--unroll-max") tuning.unroll_max_bs = std::stoi(argv[i]);
    else if (arg == "--modes") {
      modes.clear();
      for (const std::string& m : split(argv[i])) {
        if (m == "decode") modes.push_back(Mode::Decode);
        else if (m == "verify") modes.push_back(Mode::Verify);
        else if (m == "extend") modes.push_back(Mode::Extend);
        else throw std::invalid_argument("--modes takes decode,verify,extend, not " + m);
      }
    } else throw std::invalid_argument("unknown argument " + arg);
  }
  if (calls < 1 || rounds < 1) throw std::invalid_argument("--calls and --rounds must be at least 1");
  draftjit::validate(tuning);
  for (int bs : sizes) if (bs < 1 || bs > draftjit::kMaxDsaBs) throw std::invalid_argument("--bs out of range");
  for (int ctx : contexts) if (ctx < 1) throw std::invalid_argument("--ctx must be at least 1");

  CK(cudaSetDevice(0));
  cudaDeviceProp prop{};
  CK(cudaGetDeviceProperties(&prop, 0));
  int driver = 0;
  CK(cudaDriverGetVersion(&driver));
  Timer timer{};
  CK(cudaStreamCreateWithFlags(&timer.stream, cudaStreamNonBlocking));
  CK(cudaHostAlloc(&timer.words, 2 * sizeof(int), cudaHostAllocMapped));
  CK(cudaEventCreate(&timer.a));
  CK(cudaEventCreate(&timer.b));

  std::mt19937 rng(12345);
  std::vector<Row> rows;
  for (Mode mode : modes) {
    for (int ctx : contexts) {
      for (int bs : sizes) {
        rows.push_back(run_case(make_case(mode, bs, ctx, rng), calls, rounds, timer, tuning));
        std::fprintf(stderr, "%s bs %d context %d done\n", mode_name(mode), bs, ctx);
      }
    }
  }

  fmt::print("`{}` on {} ({} SMs, driver CUDA {}.{}): {} calls per figure, median of {} rounds; seq_lens int32, "
             "req_pool_indices int64, real_page_size {}, topk {}, next_n {}, 1-4 extend tokens per request.\n\n",
             command, prop.name, prop.multiProcessorCount, driver / 1000, driver % 1000 / 10, calls, rounds, kPage,
             kTopk, kNextN);
  fmt::print("| mode | bs | context | rows | MB moved | GPU us | empty us | copy us | GPU / (1.25 copy + 1) | "
             "GPU - empty us | launch us | empty launch us |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const Row& r : rows) {
    fmt::print("| {} | {} | {} | {} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {:.2f} |\n",
               mode_name(r.mode), r.bs, r.ctx, r.rows, r.mb, r.gpu, r.empty, r.copy, r.gpu / (1.25 * r.copy + 1.0),
               r.gpu - r.empty, r.launch, r.empty_launch);
  }
  fmt::print("\nGPU, empty, copy: GPU time per call of back-to-back calls queued behind a held stream (CUDA events); "
             "copy: cudaMemcpyAsync device to device of MB moved / 2; launch: host time per call, no sync.\n");
  if (timer.timeouts > 0) {
    fmt::print("\nWARNING: {} holds timed out before the host had queued its batch; those batches' GPU figures "
               "include host launch time.\n", timer.timeouts);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "draftjit_dsa_bench: %s\n", e.what());
  return 1;
}
