#include "bindings/dsa_calls.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "bindings/array_rules.hpp"
#include "ops/dsa/family.hpp"

namespace draftjit::bindings {
namespace {

DeviceIndices indices(const ArrayArg& a) {
  return {reinterpret_cast<const void*>(a.ptr), a.int64 ? IndexType::Int64 : IndexType::Int32};
}

ConstDeviceMatrix const_matrix(const ArrayArg& a) {
  return {as<const std::int32_t>(a), a.rows, a.cols, a.row_stride, a.col_stride};
}

DeviceMatrix matrix(const ArrayArg& a) { return {as<std::int32_t>(a), a.rows, a.cols, a.row_stride, a.col_stride}; }

// real_page_table counts only when the call writes it.
const ArrayArg* real_table(const DsaArrays& a, const DsaCommonArgs& c) {
  return c.real_page_size > 1 && a.real_page_table ? &*a.real_page_table : nullptr;
}

// The checks of the arrays and scalars every mode shares, and the arguments they make; row_capacity is the mode's.
DsaCommonArgs checked_common(const DsaArrays& a, const DsaScalars& s, const char* call) {
  ops::dsa::check_bs(s.bs, call);  // before the arrays are checked to hold bs entries
  DsaCommonArgs c;
  c.bs = s.bs;
  c.dsa_index_topk = int32_scalar(s.dsa_index_topk, "dsa_index_topk");
  c.real_page_size = int32_scalar(s.real_page_size, "real_page_size");
  c.index_kpool = int32_scalar(s.index_kpool, "index_kpool");

  check_vector(a.seq_lens, Access::Read, Dtypes::Int32OrInt64);
  check_holds(a.seq_lens, s.bs, "bs");
  check_vector(a.req_pool_indices, Access::Read, Dtypes::Int32OrInt64);
  check_holds(a.req_pool_indices, s.bs, "bs");
  check_matrix(a.req_to_token, Access::Read);
  check_vector(a.cache_seqlens, Access::Write);
  check_holds(a.cache_seqlens, s.bs, "bs");
  check_vector(a.cu_seqlens_k, Access::Write);
  check_holds_offsets(a.cu_seqlens_k, s.bs);
  check_matrix(a.page_table_1, Access::Write);
  check_vector(a.dsa_cache_seqlens, Access::Write);
  check_vector(a.dsa_cu_seqlens_k, Access::Write);
  check_has_one(a.dsa_cu_seqlens_k);  // dsa_cu_seqlens_k[0] is written even with no rows
  if (c.real_page_size > 1) {
    if (!a.real_page_table) {
      throw std::invalid_argument(
          fmt::format("real_page_table is required when real_page_size = {} > 1", c.real_page_size));
    }
    check_matrix(*a.real_page_table, Access::Write);
    c.real_page_table = matrix(*a.real_page_table);
  }
  if (a.status) {
    check_vector(*a.status, Access::Write);
    check_has_one(*a.status);
    c.status = as<std::int32_t>(*a.status);
  }

  c.seq_lens = indices(a.seq_lens);
  c.req_pool_indices = indices(a.req_pool_indices);
  c.req_to_token = const_matrix(a.req_to_token);
  c.cache_seqlens = as<std::int32_t>(a.cache_seqlens);
  c.cu_seqlens_k = as<std::int32_t>(a.cu_seqlens_k);
  c.dsa_cache_seqlens = as<std::int32_t>(a.dsa_cache_seqlens);
  c.dsa_cu_seqlens_k = as<std::int32_t>(a.dsa_cu_seqlens_k);
  c.page_table_1 = matrix(a.page_table_1);
  return c;
}

// The rows every per-row output of a mode holds.
std::int64_t capacity(const DsaArrays& a, const ArrayArg* seqlens_expanded) {
  std::int64_t rows = std::min(a.dsa_cache_seqlens.length, a.dsa_cu_seqlens_k.length - 1);
  return seqlens_expanded != nullptr ? std::min(rows, seqlens_expanded->length) : rows;
}

// In decode and target verify the host knows the rows: each per-row output must hold them. what and what_plus_one
// say where the counts come from ("bs", "bs + 1").
void check_holds_rows(const DsaArrays& a, const ArrayArg* seqlens_expanded, std::int64_t rows, const char* what,
                      const char* what_plus_one) {
  if (seqlens_expanded != nullptr) check_holds(*seqlens_expanded, rows, what);
  check_holds(a.dsa_cache_seqlens, rows, what);
  check_holds(a.dsa_cu_seqlens_k, rows + 1, what_plus_one);
}

template <class Args>
DsaCall<Args> placed(const Args& args, const DsaArrays& a, const ArrayArg* x = nullptr, const ArrayArg* y = nullptr) {
  Placement placement =
      place({&a.seq_lens, &a.req_pool_indices, &a.req_to_token, &a.cache_seqlens, &a.cu_seqlens_k, &a.page_table_1,
             &a.dsa_cache_seqlens, &a.dsa_cu_seqlens_k, real_table(a, args.common), a.status ? &*a.status : nullptr,
             x, y});
  return {args, placement.device, std::move(placement.producers)};
}

}  // namespace

DsaDecodeCall check_dsa_decode(const DsaArrays& arrays, const DsaScalars& scalars, std::int64_t max_len) {
  DsaDecodeArgs args{checked_common(arrays, scalars, "dsa_decode_metadata"), max_len};
  check_holds_rows(arrays, nullptr, scalars.bs, "bs", "bs + 1");
  args.common.row_capacity = capacity(arrays, nullptr);
  return placed(args, arrays);
}

DsaTargetVerifyCall check_dsa_target_verify(const DsaArrays& arrays, const ArrayArg& seqlens_expanded,
                                            const std::optional<ArrayArg>& paged_mqa_ctx_lens_2d,
                                            const DsaScalars& scalars, std::int64_t max_seqlen_k,
                                            std::int64_t next_n) {
  DsaTargetVerifyArgs args;
  args.common = checked_common(arrays, scalars, "dsa_target_verify_metadata");
  args.next_n = int32_scalar(next_n, "next_n");
  args.max_seqlen_k = max_seqlen_k;
  check_vector(seqlens_expanded, Access::Write);
  // bs <= kMaxDsaBs and next_n fits int32: no overflow
  check_holds_rows(arrays, &seqlens_expanded, scalars.bs * args.next_n, "bs * next_n", "bs * next_n + 1");
  args.common.row_capacity = capacity(arrays, &seqlens_expanded);
  args.seqlens_expanded = as<std::int32_t>(seqlens_expanded);
  if (paged_mqa_ctx_lens_2d) {
    check_matrix(*paged_mqa_ctx_lens_2d, Access::Write);
    args.paged_mqa_ctx_lens_2d = matrix(*paged_mqa_ctx_lens_2d);
  }
  return placed(args, arrays, &seqlens_expanded, paged_mqa_ctx_lens_2d ? &*paged_mqa_ctx_lens_2d : nullptr);
}

DsaDraftExtendCall check_dsa_draft_extend(const DsaArrays& arrays, const ArrayArg& extend_seq_lens,
                                          const ArrayArg& seqlens_expanded, const DsaScalars& scalars,
                                          std::int64_t total_len, std::int64_t max_seqlen_k) {
  DsaDraftExtendArgs args;
  args.common = checked_common(arrays, scalars, "dsa_draft_extend_metadata");
  check_vector(extend_seq_lens, Access::Read);
  check_holds(extend_seq_lens, scalars.bs, "bs");
  check_vector(seqlens_expanded, Access::Write);
  args.common.row_capacity = capacity(arrays, &seqlens_expanded);
  args.extend_seq_lens = as<const std::int32_t>(extend_seq_lens);
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
