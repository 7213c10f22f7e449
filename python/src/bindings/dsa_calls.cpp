#include "bindings/dsa_calls.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "bindings/array_rules.hpp"
#include "ops/dsa/family.hpp"
#include "ops/dsa/ops.hpp"

namespace draftjit::bindings {
namespace {

DeviceIndices indices(const ArrayArg& a) {
  return {reinterpret_cast<const void*>(a.ptr), a.int64 ? IndexType::Int64 : IndexType::Int32, a.stride};
}

ConstDeviceMatrix const_matrix(const ArrayArg& a) {
  return {as<const std::int32_t>(a), a.rows, a.cols, a.row_stride, a.col_stride};
}

DeviceMatrix matrix(const ArrayArg& a) { return {as<std::int32_t>(a), a.rows, a.cols, a.row_stride, a.col_stride}; }

// real_page_table counts only when the call writes it.
const ArrayArg* real_table(const DsaArrays& a, const DsaCommonArgs& c) {
  return c.real_page_size > 1 && a.real_page_table ? &*a.real_page_table : nullptr;
}

// bs first, then the scalars every mode shares; the arguments they make.
DsaCommonArgs checked_scalars(const DsaScalars& s, const char* call) {
  ops::dsa::check_bs(s.bs, call);  // before the arrays are checked to hold bs entries
  DsaCommonArgs c;
  c.bs = s.bs;
  c.dsa_index_topk = int32_scalar(s.dsa_index_topk, "dsa_index_topk");
  c.real_page_size = int32_scalar(s.real_page_size, "real_page_size");
  c.index_kpool = int32_scalar(s.index_kpool, "index_kpool");
  return c;
}

// The arrays every mode shares, each checked by the op's description of it, into c.
void check_common_arrays(const ops::OpDescription& op, const DsaArrays& a, const Counts& counts, DsaCommonArgs& c) {
  for (const ArrayArg* array : {&a.seq_lens, &a.req_pool_indices, &a.req_to_token, &a.cache_seqlens,
                                &a.cu_seqlens_k, &a.dsa_cache_seqlens, &a.dsa_cu_seqlens_k}) {
    check_described(op, *array, counts);
  }
  if (a.page_table_1) {
    check_described(op, *a.page_table_1, counts);
    c.page_table_1 = matrix(*a.page_table_1);
  }
  if (c.real_page_size > 1) {
    if (!a.real_page_table) {
      throw std::invalid_argument(
          fmt::format("real_page_table is required when real_page_size = {} > 1", c.real_page_size));
    }
    check_described(op, *a.real_page_table, counts);
    c.real_page_table = matrix(*a.real_page_table);
  }
  if (a.status) {
    check_described(op, *a.status, counts);
    c.status = as<std::int32_t>(*a.status);
  }
  c.seq_lens = indices(a.seq_lens);
  c.req_pool_indices = indices(a.req_pool_indices);
  c.req_to_token = const_matrix(a.req_to_token);
  c.cache_seqlens = as<std::int32_t>(a.cache_seqlens);
  c.cu_seqlens_k = as<std::int32_t>(a.cu_seqlens_k);
  c.dsa_cache_seqlens = as<std::int32_t>(a.dsa_cache_seqlens);
  c.dsa_cu_seqlens_k = as<std::int32_t>(a.dsa_cu_seqlens_k);
}

// The rows every per-row output of a mode holds.
std::int64_t capacity(const DsaArrays& a, const ArrayArg* seqlens_expanded) {
  std::int64_t rows = std::min(a.dsa_cache_seqlens.length, a.dsa_cu_seqlens_k.length - 1);
  return seqlens_expanded != nullptr ? std::min(rows, seqlens_expanded->length) : rows;
}

template <class Args>
DsaCall<Args> placed(const Args& args, const DsaArrays& a, const ArrayArg* x = nullptr, const ArrayArg* y = nullptr) {
  Placement placement =
      place({&a.seq_lens, &a.req_pool_indices, &a.req_to_token, &a.cache_seqlens, &a.cu_seqlens_k,
             a.page_table_1 ? &*a.page_table_1 : nullptr,
             &a.dsa_cache_seqlens, &a.dsa_cu_seqlens_k, real_table(a, args.common), a.status ? &*a.status : nullptr,
             x, y});
  return {args, placement.device, std::move(placement.producers)};
}

}  // namespace

DsaDecodeCall check_dsa_decode(const DsaArrays& arrays, const DsaScalars& scalars, std::int64_t max_len) {
  DsaDecodeArgs args{checked_scalars(scalars, "dsa_decode_metadata"), max_len};
  check_common_arrays(ops::dsa::kDecodeOp, arrays, {scalars.bs, scalars.bs}, args.common);
  args.common.row_capacity = capacity(arrays, nullptr);
  return placed(args, arrays);
}

DsaTargetVerifyCall check_dsa_target_verify(const DsaArrays& arrays, const ArrayArg& seqlens_expanded,
                                            const std::optional<ArrayArg>& paged_mqa_ctx_lens_2d,
                                            const DsaScalars& scalars, std::int64_t max_seqlen_k,
                                            std::int64_t next_n) {
  const ops::OpDescription& op = ops::dsa::kTargetVerifyOp;
  DsaTargetVerifyArgs args;
  args.common = checked_scalars(scalars, "dsa_target_verify_metadata");
  args.next_n = int32_scalar(next_n, "next_n");
  args.max_seqlen_k = max_seqlen_k;
  // bs <= kMaxDsaBs and next_n fits int32: no overflow
  const Counts counts{scalars.bs, scalars.bs * args.next_n, "bs * next_n", "bs * next_n + 1"};
  check_common_arrays(op, arrays, counts, args.common);
  check_described(op, seqlens_expanded, counts);
  args.common.row_capacity = capacity(arrays, &seqlens_expanded);
  args.seqlens_expanded = as<std::int32_t>(seqlens_expanded);
  if (paged_mqa_ctx_lens_2d) {
    check_described(op, *paged_mqa_ctx_lens_2d, counts);
    args.paged_mqa_ctx_lens_2d = matrix(*paged_mqa_ctx_lens_2d);
  }
  return placed(args, arrays, &seqlens_expanded, paged_mqa_ctx_lens_2d ? &*paged_mqa_ctx_lens_2d : nullptr);
}

DsaDraftExtendCall check_dsa_draft_extend(const DsaArrays& arrays, const ArrayArg& extend_seq_lens,
                                          const ArrayArg& seqlens_expanded, const DsaScalars& scalars,
                                          std::int64_t total_len, std::int64_t max_seqlen_k,
                                          std::int64_t static_extend_len) {
  const ops::OpDescription& op = ops::dsa::kDraftExtendOp;
  DsaDraftExtendArgs args;
  args.common = checked_scalars(scalars, "dsa_draft_extend_metadata");
  const Counts counts{scalars.bs};  // the rows come from the device: the outputs' capacity bounds them
  check_common_arrays(op, arrays, counts, args.common);
  check_described(op, extend_seq_lens, counts);
  check_described(op, seqlens_expanded, counts);
  args.common.row_capacity = capacity(arrays, &seqlens_expanded);
  args.extend_seq_lens = indices(extend_seq_lens);
  args.static_extend_len = static_extend_len != 0;
  args.total_len = total_len;
  args.max_seqlen_k = max_seqlen_k;
  args.seqlens_expanded = as<std::int32_t>(seqlens_expanded);
  return placed(args, arrays, &extend_seq_lens, &seqlens_expanded);
}

void run(const DsaDecodeCall& call, int device, CUstream stream) {
  in_context(device, stream, call.producers, [&] { dsa_decode_metadata(call.args, stream); });
}

void run(const DsaTargetVerifyCall& call, int device, CUstream stream) {
  in_context(device, stream, call.producers, [&] { dsa_target_verify_metadata(call.args, stream); });
}

void run(const DsaDraftExtendCall& call, int device, CUstream stream) {
  in_context(device, stream, call.producers, [&] { dsa_draft_extend_metadata(call.args, stream); });
}

}  // namespace draftjit::bindings
