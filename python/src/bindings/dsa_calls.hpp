#pragma once
// The front ends' checked path into the DSA calls (include/draftjit/dsa.hpp), like checked_calls.hpp for the
// draft-extend ones: every array checked once (dtype, dimensions, device, the 1-D lengths the library cannot see;
// errors name the argument), then the call runs in the arrays' device's primary context on the given stream. What
// the library sees itself (scalar ranges, the page tables' shapes against the rows and the column bound, bs) it
// checks, with messages naming the same arguments.
//
// Rules: seq_lens and req_pool_indices 1-D int32 or int64, contiguous, >= bs entries; extend_seq_lens 1-D int32,
// >= bs entries; req_to_token, page_table_1, real_page_table and paged_mqa_ctx_lens_2d 2-D int32 with any
// non-negative strides (a written one with no stride 0 along a dimension of more than one element); every other
// output 1-D int32 contiguous: cache_seqlens >= bs, cu_seqlens_k >= bs + 1 entries, and in decode and target verify
// the per-row outputs hold the mode's rows (bs, bs * next_n; dsa_cu_seqlens_k one more); in draft extend their rows
// are the data's, so the smallest of seqlens_expanded, dsa_cache_seqlens and dsa_cu_seqlens_k less one is the
// capacity the kernel checks total_len against (a status bit, not an error). real_page_table is required when
// real_page_size > 1 and ignored otherwise (upstream passes page_table_1 there when real_page_size is 1); status,
// when given, is a 1-D int32 array of at least one entry. All on one CUDA device.
#include <cuda.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "bindings/array_arg.hpp"
#include "draftjit/dsa.hpp"

namespace draftjit::bindings {

// The arrays every mode takes, in upstream SGLang's order.
struct DsaArrays {
  ArrayArg seq_lens;
  ArrayArg req_pool_indices;
  ArrayArg req_to_token;
  ArrayArg cache_seqlens;
  ArrayArg cu_seqlens_k;
  ArrayArg page_table_1;
  ArrayArg dsa_cache_seqlens;
  ArrayArg dsa_cu_seqlens_k;
  std::optional<ArrayArg> real_page_table;
  std::optional<ArrayArg> status;
};

// The scalars every mode takes, as the front end got them (int64; checked to fit the API's int32 fields).
struct DsaScalars {
  std::int64_t bs = 0;
  std::int64_t dsa_index_topk = 0;
  std::int64_t real_page_size = 1;
  std::int64_t index_kpool = 0;
};

// A DSA call whose arguments passed every check; device as in FillCall.
template <class Args>
struct DsaCall {
  Args args;
  int device = -1;
  std::vector<CUstream> producers;  // distinct producer streams of the arrays, see ArrayArg::producer
};
using DsaDecodeCall = DsaCall<DsaDecodeArgs>;
using DsaTargetVerifyCall = DsaCall<DsaTargetVerifyArgs>;
using DsaDraftExtendCall = DsaCall<DsaDraftExtendArgs>;


DsaDecodeCall check_dsa_decode(const DsaArrays& arrays, const DsaScalars& scalars, std::int64_t max_len);
DsaTargetVerifyCall check_dsa_target_verify(const DsaArrays& arrays, const ArrayArg& seqlens_expanded,
                                            const std::optional<ArrayArg>& paged_mqa_ctx_lens_2d,
                                            const DsaScalars& scalars, std::int64_t max_seqlen_k,
                                            std::int64_t next_n);
DsaDraftExtendCall check_dsa_draft_extend(const DsaArrays& arrays, const ArrayArg& extend_seq_lens,
                                          const ArrayArg& seqlens_expanded, const DsaScalars& scalars,
                                          std::int64_t total_len, std::int64_t max_seqlen_k);

// Run a checked call on device (the call's own, or the front end's choice when it has none) and stream, after
// making the stream wait for the arrays' producers. Asynchronous: one launch, no host synchronisation.
void run(const DsaDecodeCall& call, int device, CUstream stream);
void run(const DsaTargetVerifyCall& call, int device, CUstream stream);
void run(const DsaDraftExtendCall& call, int device, CUstream stream);

}  // namespace draftjit::bindings
