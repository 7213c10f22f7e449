// One launch of a DSA step, for a mode of dsa_modes.cuh over a scan type of unrolled_scan.cuh or blelloch_scan.cuh
// (a prefix over the bs requests), composed of three parts: the checks every block runs over all requests (and, in
// draft extend, its own scan of the extend lengths, so that each row finds its request in shared memory), block 0's
// per-request and per-row outputs from two more prefixes over the requests, and the other blocks' shares of the row
// gather (row_gather.cuh). With bad data only block 0 writes, and only the status word.
#ifndef DRAFTJIT_DSA_KERNEL_CUH
#define DRAFTJIT_DSA_KERNEL_CUH

#include "dsa_modes.cuh"
#include "row_gather.cuh"

namespace draftjit_kernels {

// scan_computed's shared memory (CUB's TempStorage): a sequential scan's values, computed by the whole block for
// thread 0 to add. The caller declares one and passes it to every call, so that the calls share it instead of each
// instantiation declaring its own array; block scans read their values in place and take none (nullptr).
template <class Scan>
struct ScanComputedStorage {
  int values[Scan::kSlots];
};

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

// The exclusive prefix of request b from a scan's slots over values: its slot's prefix plus the values of the slot's
// requests before it (none with one request per slot).
template <class Scan, class Values>
__device__ __forceinline__ unsigned request_prefix(const unsigned* prefix, Values values, int b) {
  unsigned sum = prefix[Scan::slot(b / Scan::kChunk)];
  for (int i = b - b % Scan::kChunk; i < b; ++i) sum += static_cast<unsigned>(values(i));
  return sum;
}

// Block 0's outputs: cache_seqlens and cu_seqlens_k per request, then seqlens_expanded, dsa_cache_seqlens and
// dsa_cu_seqlens_k per row, where a row's dsa prefix is its request's (the scan of each request's rows' sum) plus
// its own rows' sum before it, in closed form. prefix holds Scan::kSlots words; offsets are draft extend's.
template <class Mode, class Scan, int FLAGS>
__device__ __forceinline__ void write_step_outputs(const typename Mode::Params& p, unsigned* prefix,
                                                   const unsigned* offsets, unsigned* total) {
  const DsaCommonParams& c = p.c;
  const DsaRequests<FLAGS> requests{c};
  const DsaLengths<FLAGS> lengths(c.topk, c.kpool);
  const auto cache_len = [&](int b) { return static_cast<int>(Mode::cache_len(p, requests.seq_len(b))); };
  ScanComputedStorage<Scan>* scratch = nullptr;  // one for both scans below
  if constexpr (Scan::kSequential) {
    __shared__ ScanComputedStorage<Scan> s_scan_computed;
    scratch = &s_scan_computed;
  }

  scan_computed<Scan>(cache_len, c.bs, prefix, total, scratch);
  __syncthreads();
  for (int b = threadIdx.x; b <= c.bs; b += Scan::kThreads) {
    if (b < c.bs) c.cache_seqlens[b] = cache_len(b);
    c.cu_seqlens_k[b] = static_cast<int>(b < c.bs ? request_prefix<Scan>(prefix, cache_len, b) : *total);
  }
  if constexpr ((FLAGS & kDsaCtxLens2d) != 0) {
    for (long long row = threadIdx.x; row < c.rows; row += Scan::kThreads) {
      const RowOwner o = Mode::template owner<Scan>(p, offsets, row);
      p.ctx_lens_2d.data[o.request * p.ctx_lens_2d.row_stride + o.local * p.ctx_lens_2d.col_stride] =
          cache_len(o.request);
    }
  }
  __syncthreads();  // prefix is read above and rewritten below

  const auto rows_of = [&](int b) { return Mode::rows_of(p, b, requests.seq_len(b)); };
  const auto dsa_sum = [&](int b) {
    const RequestRows rows = rows_of(b);
    return static_cast<int>(lengths.rows_sum(rows.base, rows.count));
  };
  scan_computed<Scan>(dsa_sum, c.bs, prefix, total, scratch);
  __syncthreads();
  if (threadIdx.x == 0) {
    c.dsa_cu_seqlens_k[0] = 0;
    if (c.status != nullptr) *c.status = 0;
  }
  for (long long row = threadIdx.x; row < c.rows; row += Scan::kThreads) {
    const RowOwner o = Mode::template owner<Scan>(p, offsets, row);
    const RequestRows rows = rows_of(o.request);
    const long long length = max(rows.base + o.local, 0LL);
    if constexpr (Mode::kExpanded) p.seqlens_expanded[row] = static_cast<int>(length);
    c.dsa_cache_seqlens[row] = static_cast<int>(lengths.of(length));
    c.dsa_cu_seqlens_k[row + 1] =
        static_cast<int>(request_prefix<Scan>(prefix, dsa_sum, o.request) + lengths.rows_sum(rows.base, o.local + 1));
  }
}

template <class Mode, class Scan, int FLAGS>
__device__ __forceinline__ void dsa_kernel(const typename Mode::Params& p) {
  static_assert(FLAGS >= 0 && FLAGS < kDsaFlagsEnd, "FLAGS: kDsa* switches");
  constexpr bool kSearch = Mode::kExtend && (FLAGS & kDsaStaticExtend) == 0;  // rows find requests in offsets
  extern __shared__ unsigned s_dsa[];  // Mode::kSharedArrays x Scan::kSlots words, sized by the launch
  __shared__ DsaWarpChecks s_checks[Scan::kThreads / kWarpThreads];
  __shared__ unsigned s_total;
  unsigned* offsets = s_dsa;  // draft extend's; the other modes have one array, prefix
  unsigned* prefix = s_dsa + (Mode::kSharedArrays - 1) * Scan::kSlots;
  const DsaCommonParams& c = p.c;
  const DsaRequests<FLAGS> requests{c};
  const DsaLengths<FLAGS> lengths(c.topk, c.kpool);

  DsaChecks mine;
  const auto check = [&](int b, int extend) {
    const long long seq_len = check_request<FLAGS>(c, requests.seq_len(b), requests.pool_index(b), mine);
    const RequestRows rows = Mode::rows_of(p, b, seq_len);
    if constexpr (Mode::kExtend) {
      // The scans take extend clamped to int32; the sum is of the values themselves, as total_len is.
      const long long wide = (FLAGS & kDsaExtend64) != 0 ? Mode::extend_wide(p, b) : extend;
      if (wide < 0) mine.negative_extend = 1;
      if (wide != extend) mine.extend_bits |= kDsaInt32Overflow;
      if ((FLAGS & kDsaStaticExtend) != 0 && extend != Mode::extend(p, 0)) mine.extend_bits |= kDsaExtendNotStatic;
      mine.extend_sum += wide;
    }
    mine.cache_sum += Mode::cache_len(p, seq_len);
    mine.dsa_sum += lengths.rows_sum(rows.base, rows.count);
  };
  if constexpr (kSearch) {
    Scan::block_exclusive([&](int b) { return Mode::extend(p, b); }, c.bs, offsets, &s_total, check);
  } else {
    for (int b = threadIdx.x; b < c.bs; b += Scan::kThreads) {
      if constexpr (Mode::kExtend) {
        check(b, Mode::extend(p, b));
      } else {
        check(b, 0);
      }
    }
  }
  store_warp_checks(mine, s_checks);
  __syncthreads();
  long long total_len = 0;
  long long capacity = 0;
  if constexpr (Mode::kExtend) {
    total_len = c.rows;
    capacity = p.capacity;
  }
  const int status = dsa_status(block_checks<Scan::kThreads / kWarpThreads>(s_checks), Mode::kExtend, total_len,
                                capacity);
  if (status != 0) {
    if (blockIdx.x == 0 && threadIdx.x == 0 && c.status != nullptr) *c.status = status;
    return;
  }
  // Block 0 writes the per-request and per-row outputs; the others gather, so that its chain runs beside theirs.
  if (blockIdx.x == 0) {
    write_step_outputs<Mode, Scan, FLAGS>(p, prefix, offsets, &s_total);
    if (gridDim.x > 1) return;
  }
  const unsigned workers = gridDim.x > 1 ? gridDim.x - 1 : 1;
  const unsigned worker = gridDim.x > 1 ? blockIdx.x - 1 : 0;
  gather_rows<Scan::kThreads, FLAGS>(c, worker, workers, [&](long long row) {
    const int request = Mode::template owner<Scan>(p, offsets, row).request;
    const long long kv = Mode::cache_len(p, requests.seq_len(request));
    return GatherRow{requests.pool_index(request), live_columns(kv, c.bound)};
  });
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
