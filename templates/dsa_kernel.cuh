// One launch of a DSA step, for a mode of dsa_modes.cuh over a scan type of unrolled_scan.cuh or blelloch_scan.cuh
// (a prefix over the bs requests). For bs <= kDsaWarpRequests on the unrolled scan it is dsa_warp_kernel.cuh's, in
// which each warp works alone. Otherwise it is composed of three parts: the checks every block runs over all requests
// (and, in draft extend, its own scan of the extend lengths, so that each row finds its request in shared memory),
// the per-request and per-row outputs from two more prefixes over the requests (block 0 and block 1, side by side),
// and the other blocks' shares of the row gather by request (row_gather.cuh; in a grid of two blocks, theirs). With
// bad data only block 0 writes, and only the status word.
#ifndef DRAFTJIT_DSA_KERNEL_CUH
#define DRAFTJIT_DSA_KERNEL_CUH

#include "dsa_modes.cuh"
#include "dsa_warp_kernel.cuh"
#include "row_gather.cuh"

namespace draftjit_kernels {

// scan_computed's shared memory (CUB's TempStorage): a sequential scan's values, computed by the whole block for
// thread 0 to add. scan_computed_storage() holds the block's one, which every call takes, so that the calls share it
// instead of each instantiation declaring its own array; block scans read their values in place and take none
// (nullptr).
template <class Scan>
struct ScanComputedStorage {
  int values[Scan::kSlots];
};

// The block's one ScanComputedStorage for Scan, or nullptr for a block scan.
template <class Scan>
__device__ __forceinline__ ScanComputedStorage<Scan>* scan_computed_storage() {
  if constexpr (Scan::kSequential) {
    __shared__ ScanComputedStorage<Scan> s_scan_computed;
    return &s_scan_computed;
  } else {
    return nullptr;
  }
}

// Scan::block_exclusive over values(b), b < bs, with every value computed by the whole block: the unrolled scan runs
// its chain in thread 0, which must then only add (per-request arithmetic riding on it made the chain several times
// longer), so its values go through scratch first. prefix and *total are ready, and scratch free again, after the
// caller's next __syncthreads().
template <class Scan, class Values>
__device__ __forceinline__ void scan_computed(Values values, int bs, unsigned* prefix, unsigned* total,
                                              ScanComputedStorage<Scan>* scratch) {
  const auto no_visit = [](int, int) {};
  if constexpr (Scan::kSequential) {
    for (int b = threadIdx.x; b < bs; b += Scan::kThreads) scratch->values[b] = values(b);
    __syncthreads();
    Scan::block_exclusive([&](int b) { return scratch->values[b]; }, bs, prefix, total, no_visit);
  } else {
    Scan::block_exclusive(values, bs, prefix, total, no_visit);
  }
}

// A request's KV length and the sum of its rows' dsa lengths, the two values the output blocks scan, and the rows
// themselves.
template <class Mode, int FLAGS>
struct StepValues {
  const typename Mode::Params& p;
  DsaRequests<FLAGS> requests;
  DsaLengths<FLAGS> lengths;

  __device__ StepValues(const typename Mode::Params& params)
      : p(params), requests{params.c}, lengths(params.c.topk, params.c.kpool) {}
  __device__ int cache_len(int b) const { return static_cast<int>(Mode::cache_len(p, requests.seq_len(b))); }
  __device__ RequestRows rows_of(int b) const { return Mode::rows_of(p, b, requests.seq_len(b)); }
  __device__ int dsa_sum(int b) const {
    const RequestRows rows = rows_of(b);
    return static_cast<int>(lengths.rows_sum(rows.base, rows.count));
  }
};

// Side 0's per-request outputs: cache_seqlens, cu_seqlens_k (cache_prefix(b) for b <= bs, the total at bs) and the
// 2-D context lengths.
template <class Mode, class Scan, int FLAGS, class CachePrefix>
__device__ __forceinline__ void write_request_outputs(const StepValues<Mode, FLAGS>& v, const unsigned* offsets,
                                                      CachePrefix cache_prefix) {
  const DsaCommonParams& c = v.p.c;
  for (int b = threadIdx.x; b <= c.bs; b += Scan::kThreads) {
    if (b < c.bs) c.cache_seqlens[b] = v.cache_len(b);
    c.cu_seqlens_k[b] = static_cast<int>(cache_prefix(b));
  }
  if constexpr ((FLAGS & kDsaCtxLens2d) != 0) {
    const Matrix& ctx = v.p.ctx_lens_2d;
    for (long long row = threadIdx.x; row < c.rows; row += Scan::kThreads) {
      const RowOwner o = Mode::template owner<Scan>(v.p, offsets, row);
      ctx.data[o.request * ctx.row_stride + o.local * ctx.col_stride] = v.cache_len(o.request);
    }
  }
}

// Side 1's per-row outputs: seqlens_expanded, dsa_cache_seqlens and dsa_cu_seqlens_k, where a row's dsa prefix is
// its request's (dsa_prefix(request), the scan of each request's rows' sum) plus its own rows' sum before it, in
// closed form; and the status word's 0.
template <class Mode, class Scan, int FLAGS, class DsaPrefix>
__device__ __forceinline__ void write_row_outputs(const StepValues<Mode, FLAGS>& v, const unsigned* offsets,
                                                  DsaPrefix dsa_prefix) {
  const DsaCommonParams& c = v.p.c;
  if (threadIdx.x == 0) {
    c.dsa_cu_seqlens_k[0] = 0;
    if (c.status != nullptr) *c.status = 0;
  }
  for (long long row = threadIdx.x; row < c.rows; row += Scan::kThreads) {
    const RowOwner o = Mode::template owner<Scan>(v.p, offsets, row);
    const RequestRows rows = v.rows_of(o.request);
    const long long length = max(rows.base + o.local, 0LL);
    if constexpr (Mode::kExpanded) v.p.seqlens_expanded[row] = static_cast<int>(length);
    c.dsa_cache_seqlens[row] = static_cast<int>(v.lengths.of(length));
    c.dsa_cu_seqlens_k[row + 1] =
        static_cast<int>(dsa_prefix(o.request) + v.lengths.rows_sum(rows.base, o.local + 1));
  }
}

// Side SIDE of the step's outputs (kDsaOutputBlocks of them) after the checks, from a scan through prefix
// (Scan::kSlots words): side 0 the per-request outputs from the KV lengths' scan, side 1 the per-row outputs from
// the dsa sums'; offsets are draft extend's. SIDE is a template argument: chosen at run time, both sides' code shared
// its registers (decode bs 1024: 46 registers, 34 with the sides apart).
template <int SIDE, class Mode, class Scan, int FLAGS>
__device__ __forceinline__ void write_side_outputs(const typename Mode::Params& p, unsigned* prefix,
                                                   const unsigned* offsets, unsigned* total) {
  const StepValues<Mode, FLAGS> v(p);
  const int bs = p.c.bs;
  ScanComputedStorage<Scan>* scratch = scan_computed_storage<Scan>();
  if constexpr (SIDE == 0) {
    const auto cache_len = [&](int b) { return v.cache_len(b); };
    scan_computed<Scan>(cache_len, bs, prefix, total, scratch);
    __syncthreads();
    write_request_outputs<Mode, Scan>(
        v, offsets, [&](int b) { return b < bs ? request_prefix<Scan>(prefix, cache_len, b) : *total; });
  } else {
    const auto dsa_sum = [&](int b) { return v.dsa_sum(b); };
    scan_computed<Scan>(dsa_sum, bs, prefix, total, scratch);
    __syncthreads();
    write_row_outputs<Mode, Scan>(v, offsets, [&](int b) { return request_prefix<Scan>(prefix, dsa_sum, b); });
  }
}

// Whether Scan's kernels take the warp path (dsa_warp_kernel.cuh).
template <class Scan>
struct WarpPath {
  enum : bool { value = Scan::kSequential && Scan::kSlots <= kDsaWarpRequests };
};

template <class Mode, class Scan, int FLAGS>
__device__ __forceinline__ void dsa_kernel(const typename Mode::Params& p) {
  static_assert(FLAGS >= 0 && FLAGS < kDsaFlagsEnd, "FLAGS: kDsa* switches");
  if constexpr (WarpPath<Scan>::value) {
    dsa_warp_kernel<Mode, Scan::kBs, FLAGS>(p);
  } else {
    constexpr bool kSearch = Mode::kExtend && (FLAGS & kDsaStaticExtend) == 0;  // rows find requests in offsets
    extern __shared__ unsigned s_dsa[];  // Mode::kSharedArrays x Scan::kSlots words, sized by the launch
    __shared__ DsaWarpChecks s_checks[Scan::kThreads / kWarpThreads];
    __shared__ unsigned s_total;
    unsigned* offsets = s_dsa;  // draft extend's; the other modes have one array, prefix
    unsigned* prefix = s_dsa + (Mode::kSharedArrays - 1) * Scan::kSlots;
    const DsaCommonParams& c = p.c;
    const DsaRequests<FLAGS> requests{c};

    DsaChecks mine;
    if constexpr (kSearch) {
      Scan::block_exclusive([&](int b) { return Mode::extend(p, b); }, c.bs, offsets, &s_total,
                            [&](int b, int extend) { check_step_request<Mode, FLAGS>(p, b, extend, mine); });
    } else {
      for (int b = threadIdx.x; b < c.bs; b += Scan::kThreads) check_step_request<Mode, FLAGS>(p, b, mine);
    }
    store_warp_checks<Mode::kExtend>(mine, s_checks);
    __syncthreads();
    const int status = step_status<Mode>(p, block_checks<Scan::kThreads / kWarpThreads>(s_checks));
    if (status != 0) {
      if (blockIdx.x == 0 && threadIdx.x == 0 && c.status != nullptr) *c.status = status;
      return;
    }
    // Blocks 0 and 1 write one side of the outputs each (a grid of one block writes both in turn), beside the
    // gather workers after them; a grid of no more blocks than that gathers in them too.
    static_assert(kDsaOutputBlocks == 2, "a side per output block");
    if (blockIdx.x < kDsaOutputBlocks) {
      if (blockIdx.x == 0) write_side_outputs<0, Mode, Scan, FLAGS>(p, prefix, offsets, &s_total);
      if (gridDim.x == 1) __syncthreads();  // prefix is read above and rewritten below
      if (blockIdx.x == 1 || gridDim.x == 1) write_side_outputs<1, Mode, Scan, FLAGS>(p, prefix, offsets, &s_total);
      if (gridDim.x > kDsaOutputBlocks) return;
    }
    if (c.rows == 0) return;
    const unsigned first_worker = gridDim.x > kDsaOutputBlocks ? kDsaOutputBlocks : 0;
    // A request's rows all copy the same source row: each tile is loaded once and stored into each of them.
    gather_groups<Scan::kThreads, FLAGS>(c, c.bs, blockIdx.x - first_worker, gridDim.x - first_worker, [&](int b) {
      const RowSpan rows = Mode::template rows_span<Scan>(p, offsets, b);
      const long long kv = Mode::cache_len(p, requests.seq_len(b));
      return GatherGroup{requests.pool_index(b), static_cast<int>(live_columns(kv, c.bound)), rows.first,
                         static_cast<int>(rows.count)};
    });
  }
}

// The kernel templates the rendered entries instantiate (jit/nvrtc/codegen.cpp), one per mode's params struct.
template <class Scan, int FLAGS>
__device__ __forceinline__ void dsa_decode_kernel(const DsaDecodeParams& p) {
  dsa_kernel<DecodeMode, Scan, FLAGS>(p);
}
template <class Scan, int FLAGS>
__device__ __forceinline__ void dsa_target_verify_kernel(const DsaTargetVerifyParams& p) {
  dsa_kernel<TargetVerifyMode, Scan, FLAGS>(p);
}
template <class Scan, int FLAGS>
__device__ __forceinline__ void dsa_draft_extend_kernel(const DsaDraftExtendParams& p) {
  dsa_kernel<DraftExtendMode<FLAGS>, Scan, FLAGS>(p);
}

}  // namespace draftjit_kernels

#endif  // DRAFTJIT_DSA_KERNEL_CUH
