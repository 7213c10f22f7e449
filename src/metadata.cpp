#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "context_kernels.hpp"
#include "draftjit.hpp"
#include "driver_api.hpp"

namespace draftjit {
namespace {

struct Launch {
  const LoadedKernel& kernel;
  unsigned blocks;
  unsigned threads;
};

void launch(const Launch& l, CUstream stream, void** params) {
  check_cu(driver().cuLaunchKernel(l.kernel.function, l.blocks, 1, 1, l.threads, 1, 1, 0, stream, params, nullptr),
           "cuLaunchKernel", l.kernel.key);
}

// Enough blocks to give each output slot a thread, capped (the kernels stride over the rest).
unsigned fill_blocks(std::int64_t capacity, int threads, int max_blocks) {
  const std::int64_t wanted = (capacity + threads - 1) / threads;
  return static_cast<unsigned>(std::clamp<std::int64_t>(wanted, 1, max_blocks));
}

void check_args(const DraftExtendArgs& a, const char* call) {
  jit::check_bs(a.bs, call);
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

// The kernels of one call, loaded in the current context.
struct LoadedPlan {
  jit::CallPlan specs;
  const LoadedKernel* first;
  const LoadedKernel* fill;  // null on the fused path
  ContextState& context() const { return *first->context; }
};

LoadedPlan load_plan(std::int64_t bs, const Tuning& tuning) {
  LoadedPlan plan{jit::call_plan(static_cast<int>(bs), tuning), nullptr, nullptr};
  plan.first = &kernel_for_current_context(plan.specs.first);
  if (plan.specs.fill) plan.fill = &kernel_for_current_context(*plan.specs.fill);
  return plan;
}

// Launches the fused kernel, or the scan then the fill, writing total and status to the given device words.
void enqueue(const LoadedPlan& plan, const DraftExtendArgs& a, CUstream stream, CUdeviceptr d_total,
             CUdeviceptr d_status, CUdeviceptr d_offsets) {
  // cuLaunchKernel takes the address of each argument, so each lives in a local of the kernel's parameter type.
  int bs = static_cast<int>(a.bs);
  int topk = a.nsa_index_topk;
  long long capacity = a.capacity;
  CUdeviceptr ext = reinterpret_cast<CUdeviceptr>(a.extend_seq_lens);
  CUdeviceptr seq = reinterpret_cast<CUdeviceptr>(a.seq_lens);
  CUdeviceptr out_expanded = reinterpret_cast<CUdeviceptr>(a.out_seqlens_expanded);
  CUdeviceptr out_cache = reinterpret_cast<CUdeviceptr>(a.out_nsa_cache_seqlens);
  const int threads = plan.specs.first.threads;
  const int sm_count = plan.context().sm_count;

  if (plan.specs.fused()) {
    void* params[] = {&ext, &seq, &bs, &topk, &out_expanded, &out_cache, &capacity, &d_total, &d_status, &d_offsets};
    launch({*plan.first, fill_blocks(a.capacity, threads, sm_count), static_cast<unsigned>(threads)}, stream, params);
    return;
  }
  void* scan_params[] = {&ext, &seq, &bs, &capacity, &d_offsets, &d_total, &d_status};
  launch({*plan.first, 1, static_cast<unsigned>(threads)}, stream, scan_params);
  const int fill_threads = plan.specs.fill->threads;
  void* fill_params[] = {&ext, &seq, &bs, &topk, &out_expanded, &out_cache, &d_offsets, &d_status};
  launch({*plan.fill, fill_blocks(a.capacity, fill_threads, 4 * sm_count), static_cast<unsigned>(fill_threads)},
         stream, fill_params);
}

}  // namespace

bool async_requires_offsets(std::int64_t bs, const Tuning& tuning) {
  jit::check_bs(bs, "async_requires_offsets");
  return !jit::fits_fused(static_cast<int>(bs), tuning);
}

std::int32_t fill_draft_extend_metadata(const DraftExtendArgs& args, CUstream stream, const Tuning& tuning) {
  constexpr const char* kCall = "fill_draft_extend_metadata";
  check_args(args, kCall);
  jit::validate(tuning);
  const LoadedPlan plan = load_plan(args.bs, tuning);
  const bool split = !plan.specs.fused();
  WorkspacePool::Lease workspace =
      plan.context().workspace.acquire(split ? static_cast<std::size_t>(args.bs) + 1 : 0);
  const DriverApi& cu = driver();
  if (split) {
    const CUdeviceptr words = workspace.device_words();
    enqueue(plan, args, stream, words, words + sizeof(std::int32_t), workspace.device_offsets());
    check_cu(cu.cuMemcpyDtoHAsync(workspace.host_words(), words, 2 * sizeof(std::int32_t), stream),
             "cuMemcpyDtoHAsync", kCall);
  } else {
    const CUdeviceptr words = workspace.mapped_words();
    enqueue(plan, args, stream, words, words + sizeof(std::int32_t), 0);
  }
  check_cu(cu.cuStreamSynchronize(stream), "cuStreamSynchronize", kCall);
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
  jit::validate(tuning);
  if (d_total == nullptr || d_status == nullptr) {
    throw std::invalid_argument(fmt::format("{}: d_total and d_status must be non-null", kCall));
  }
  if (d_offsets == nullptr && async_requires_offsets(args.bs, tuning)) {
    throw std::invalid_argument(fmt::format(
        "{}: bs = {} exceeds fused_max_bs = {}, so d_offsets ({} entries) is required", kCall, args.bs,
        tuning.fused_max_bs, args.bs + 1));
  }
  enqueue(load_plan(args.bs, tuning), args, stream, reinterpret_cast<CUdeviceptr>(d_total),
          reinterpret_cast<CUdeviceptr>(d_status), reinterpret_cast<CUdeviceptr>(d_offsets));
}

void exclusive_offsets(const std::int32_t* lens, std::int64_t bs, std::int32_t* offsets, CUstream stream,
                       std::int32_t* d_status, const Tuning& tuning) {
  constexpr const char* kCall = "exclusive_offsets";
  jit::check_bs(bs, kCall);
  jit::validate(tuning);
  if ((lens == nullptr && bs > 0) || offsets == nullptr) {
    throw std::invalid_argument(fmt::format("{}: lens (for bs > 0) and offsets must be non-null", kCall));
  }
  const int n = static_cast<int>(bs);
  const jit::KernelSpec spec = jit::scan_spec(n, tuning);
  const LoadedKernel& k = kernel_for_current_context(spec);
  // seq_lens := lens makes the seq_len check vacuous; the capacity check is off.
  CUdeviceptr lens_arg = reinterpret_cast<CUdeviceptr>(lens);
  CUdeviceptr seq_arg = lens_arg;
  CUdeviceptr offsets_arg = reinterpret_cast<CUdeviceptr>(offsets);
  CUdeviceptr total_arg = 0;
  CUdeviceptr status_arg = reinterpret_cast<CUdeviceptr>(d_status);
  long long capacity = std::numeric_limits<long long>::max();
  int n_arg = n;
  void* params[] = {&lens_arg, &seq_arg, &n_arg, &capacity, &offsets_arg, &total_arg, &status_arg};
  launch({k, 1, static_cast<unsigned>(spec.threads)}, stream, params);
}

void prepare(std::int64_t bs, const Tuning& tuning) {
  jit::check_bs(bs, "prepare");
  jit::validate(tuning);
  load_plan(bs, tuning);
}

bool cuda_available() { return cuda_device_available(); }

}  // namespace draftjit
