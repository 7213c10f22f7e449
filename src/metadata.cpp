// The public draft-extend calls: check arguments, pick the kernels (ops::draft_extend::call_plan), launch them with
// typed parameters, and for the blocking call read the total back.
#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "call_kernel.hpp"
#include "capture_mode.hpp"
#include "context_registry.hpp"
#include "draftjit/draftjit.hpp"
#include "jit/cache/manifest.hpp"
#include "jit/version.hpp"
#include "launch.hpp"
#include "prepare_kernels.hpp"
#include "ops/draft_extend/family.hpp"

namespace draftjit {
namespace {

namespace k = draftjit_kernels;
namespace draft_extend = ops::draft_extend;

// Enough blocks to give each output slot a thread, capped (the kernels stride over the rest). Rounded up without
// capacity + threads - 1, which overflows near INT64_MAX.
unsigned fill_blocks(std::int64_t capacity, int threads, int max_blocks) {
  const std::int64_t wanted = capacity / threads + (capacity % threads != 0);
  return static_cast<unsigned>(std::clamp<std::int64_t>(wanted, 1, max_blocks));
}

void check_args(const DraftExtendArgs& a, const char* call) {
  draft_extend::check_bs(a.bs, call);
  if (a.bs > 0 && (a.extend_seq_lens == nullptr || a.seq_lens == nullptr)) {
    throw std::invalid_argument(
        fmt::format("{}: extend_seq_lens and seq_lens must be non-null for bs = {}", call, a.bs));
  }
  if (a.capacity < 0) throw std::invalid_argument(fmt::format("{}: capacity = {} is negative", call, a.capacity));
  if (a.capacity > 0 && (a.out_seqlens_expanded == nullptr || a.out_nsa_cache_seqlens == nullptr)) {
    throw std::invalid_argument(
        fmt::format("{}: out_seqlens_expanded and out_nsa_cache_seqlens must be non-null for capacity = {}", call,
                    a.capacity));
  }
}

// The kernels of one call, loaded in the current context, and where the blocking call's results live: decided once
// per call, here, and read by every path below.
struct LoadedPlan {
  draft_extend::CallPlan specs;
  Context& context;
  const LoadedKernel& main;  // the fused kernel, or the scan
  const LoadedKernel* fill;  // null when main is the only launch

  // A single launch writes total and status straight into the workspace's mapped pinned words, so the blocking call
  // only syncs; with a fill after it they stay in device words, which the fill reads, and are copied back.
  bool words_mapped() const { return specs.single_launch(); }
  // The offsets the blocking call keeps in its workspace: only the fill reads them there.
  std::size_t workspace_offsets(std::int64_t bs) const {
    return specs.single_launch() ? 0 : static_cast<std::size_t>(bs) + 1;
  }
};

// What loads a call's kernels ahead of a capture: prepare() loads the draft-extend kernels; the scan that
// exclusive_offsets runs alone is loaded only by running it once.
enum class LoadAhead { Prepare, CallOnce };

std::string load_ahead_advice(LoadAhead how, const char* call, std::int64_t bs) {
  if (how == LoadAhead::CallOnce) return fmt::format("Call {} once with bs = {} before capturing", call, bs);
  return fmt::format("Call draftjit::prepare({}) (Python: draftjit.prepare([{}])) before capturing", bs, bs);
}

const LoadedKernel& kernel_for_call(Context& context, const jit::KernelSpec& spec, std::int64_t bs, CUstream stream,
                                    const char* call, LoadAhead how) {
  return kernel_for_call(context, spec, bs, stream, call, [&] { return load_ahead_advice(how, call, bs); });
}

LoadedPlan load_plan(const draft_extend::CallPlan& specs, std::int64_t bs, CUstream stream, const char* call, LoadAhead how) {
  Context& context = current_context();
  const LoadedKernel& main = kernel_for_call(context, specs.main, bs, stream, call, how);
  const LoadedKernel* fill = specs.fill ? &kernel_for_call(context, *specs.fill, bs, stream, call, how) : nullptr;
  return {specs, context, main, fill};
}

LoadedPlan draft_extend_plan(std::int64_t bs, const Tuning& tuning, CUstream stream, const char* call) {
  return load_plan(draft_extend::call_plan(static_cast<int>(bs), tuning), bs, stream, call, LoadAhead::Prepare);
}

// Where the kernels put total, status and offsets.
struct Results {
  int* total;
  int* status;
  int* offsets;
};

// Launches the fused kernel, or the scan then the fill.
void enqueue(const LoadedPlan& plan, const DraftExtendArgs& a, CUstream stream, Results out) {
  const int bs = static_cast<int>(a.bs);
  const int sm_count = plan.context.sm_count();
  if (plan.specs.single_launch()) {
    const int threads = plan.specs.main.threads;
    launch(plan.main, {fill_blocks(a.capacity, threads, sm_count), static_cast<unsigned>(threads)}, stream,
           k::FusedParams{a.extend_seq_lens, a.seq_lens, bs, a.nsa_index_topk, a.out_seqlens_expanded,
                          a.out_nsa_cache_seqlens, a.capacity, out.total, out.status, out.offsets});
    return;
  }
  launch(plan.main, {1, static_cast<unsigned>(plan.specs.main.threads)}, stream,
         k::ScanParams{a.extend_seq_lens, a.seq_lens, bs, a.capacity, out.offsets, out.total, out.status});
  const int fill_threads = plan.specs.fill->threads;
  launch(*plan.fill, {fill_blocks(a.capacity, fill_threads, 4 * sm_count), static_cast<unsigned>(fill_threads)},
         stream,
         k::FillParams{a.extend_seq_lens, a.seq_lens, bs, a.nsa_index_topk, a.out_seqlens_expanded,
                       a.out_nsa_cache_seqlens, out.offsets, out.status});
}

}  // namespace

bool async_requires_offsets(std::int64_t bs, const Tuning& tuning) {
  draft_extend::check_bs(bs, "async_requires_offsets");
  return !draft_extend::call_plan(static_cast<int>(bs), tuning).single_launch();
}

std::int32_t fill_draft_extend_metadata(const DraftExtendArgs& args, CUstream stream, const Tuning& tuning) {
  constexpr const char* kCall = "fill_draft_extend_metadata";
  check_args(args, kCall);
  validate(tuning);
  // A first call allocates, and every call synchronises its stream: neither may fail or invalidate another
  // thread's global-mode capture.
  const RelaxedCaptureMode relaxed;
  const LoadedPlan plan = draft_extend_plan(args.bs, tuning, stream, kCall);
  WorkspacePool::Lease workspace = plan.context.workspace().acquire(plan.workspace_offsets(args.bs));
  const DriverApi& cu = driver();
  if (plan.words_mapped()) {
    int* words = device_ints(workspace.mapped_words());
    enqueue(plan, args, stream, {words, words + 1, nullptr});
  } else {
    int* words = device_ints(workspace.device_words());
    enqueue(plan, args, stream, {words, words + 1, device_ints(workspace.device_offsets())});
    check_cu(cu.cuMemcpyDtoHAsync(workspace.host_words(), workspace.device_words(), 2 * sizeof(std::int32_t), stream),
             "cuMemcpyDtoHAsync", kCall);
  }
  check_cu(cu.cuStreamSynchronize(stream), "cuStreamSynchronize", kCall);
  workspace.complete();
  const std::int32_t total = workspace.host_words()[0];
  const std::int32_t status = workspace.host_words()[1];
  if (status != kStatusOk) {
    throw StatusError(fmt::format("{}: {} (bs = {}, total_tokens = {}, capacity = {}); outputs were not written",
                                  kCall, describe_status(status), args.bs, total, args.capacity),
                      status, total, args.capacity);
  }
  return total;
}

void fill_draft_extend_metadata_async(const DraftExtendArgs& args, CUstream stream, std::int32_t* d_total,
                                      std::int32_t* d_status, std::int32_t* d_offsets, const Tuning& tuning) {
  constexpr const char* kCall = "fill_draft_extend_metadata_async";
  check_args(args, kCall);
  validate(tuning);
  if (d_total == nullptr || d_status == nullptr) {
    throw std::invalid_argument(fmt::format("{}: d_total and d_status must be non-null", kCall));
  }
  if (d_offsets == nullptr && async_requires_offsets(args.bs, tuning)) {
    throw std::invalid_argument(fmt::format(
        "{}: bs = {} exceeds fused_max_bs = {}, so d_offsets ({} entries) is required", kCall, args.bs,
        tuning.fused_max_bs, args.bs + 1));
  }
  enqueue(draft_extend_plan(args.bs, tuning, stream, kCall), args, stream, {d_total, d_status, d_offsets});
}

void exclusive_offsets(const std::int32_t* lens, std::int64_t bs, std::int32_t* offsets, CUstream stream,
                       std::int32_t* d_status, const Tuning& tuning) {
  constexpr const char* kCall = "exclusive_offsets";
  draft_extend::check_bs(bs, kCall);
  validate(tuning);
  if ((lens == nullptr && bs > 0) || offsets == nullptr) {
    throw std::invalid_argument(fmt::format("{}: lens (for bs > 0) and offsets must be non-null", kCall));
  }
  const LoadedPlan plan =
      load_plan(draft_extend::offsets_plan(static_cast<int>(bs), tuning), bs, stream, kCall, LoadAhead::CallOnce);
  // No seq: lengths alone, with no fill behind them (no seq check, no capacity).
  launch(plan.main, {1, static_cast<unsigned>(plan.specs.main.threads)}, stream,
         k::ScanParams{lens, nullptr, static_cast<int>(bs), 0, offsets, nullptr, d_status});
}

void prepare(std::int64_t bs, const Tuning& tuning) {
  constexpr const char* kCall = "prepare";
  draft_extend::check_bs(bs, kCall);
  validate(tuning);
  const RelaxedCaptureMode relaxed;  // the workspace allocation below, beside another thread's capture
  const LoadedPlan plan = draft_extend_plan(bs, tuning, nullptr, kCall);
  // One workspace slot big enough for this bs, so that a blocking call beside another thread's capture allocates
  // nothing. Nothing was queued on it, so it goes straight back to the pool.
  plan.context.workspace().acquire(plan.workspace_offsets(bs)).complete();
}

std::size_t prepare_manifest(const char* path) {
  // Archs are only checked for their shape: a fleet's manifest may name archs this NVRTC does not compile for.
  const std::vector<jit::ManifestEntry> entries = jit::read_manifest(path, /*check_archs=*/false);
  std::vector<jit::KernelSpec> specs;
  const std::string& arch = current_context().toolchain().arch;
  for (const jit::ManifestEntry& entry : entries) {
    if (entry.arch == arch) specs.push_back(entry.spec);
  }
  prepare_kernels(specs);
  return specs.size();
}

bool cuda_available() noexcept { return cuda_device_available(); }

const char* version() { return jit::kVersion; }

}  // namespace draftjit
