#pragma once
// The checked path into the DSA calls (include/draftjit/dsa.hpp), reached through op_call.hpp's check_op: bs first,
// then every array checked once by its op description (ops/dsa/ops.cpp: dtype, rank, device, contiguity or strides,
// writability, and the entries its size rule asks for; errors name the argument), then the call runs in the arrays'
// device's primary context on the given stream. Beyond the descriptions: real_page_table is required when
// real_page_size > 1 and ignored otherwise (upstream passes page_table_1 there when real_page_size is 1),
// page_table_1 may be None only when real_page_size > 1 (the library says so), and in
// draft extend the rows come from the data, so the smallest of what the per-row outputs hold is the capacity the
// kernel checks total_len against (a status bit, not an error). What the library sees itself (scalar ranges, the
// page tables' shapes against the rows and the column bound) it checks, with messages naming the same arguments.
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
  std::optional<ArrayArg> page_table_1;
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
  std::int64_t index_kpool = 1;
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
                                          std::int64_t total_len, std::int64_t max_seqlen_k,
                                          std::int64_t static_extend_len);

// Run a checked call on device (the call's own, or the front end's choice when it has none) and stream, after
// making the stream wait for the arrays' producers. Asynchronous: one launch, no host synchronisation.
void run(const DsaDecodeCall& call, int device, CUstream stream);
void run(const DsaTargetVerifyCall& call, int device, CUstream stream);
void run(const DsaDraftExtendCall& call, int device, CUstream stream);

}  // namespace draftjit::bindings
