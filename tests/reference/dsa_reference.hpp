#pragma once
// CPU reference for issue 21, the whole DSA metadata step (decode, target verify, draft extend), written straight
// from upstream SGLang's definitions (python/sglang/srt/layers/attention/triton_ops/dsa_metadata.py, read
// 2026-12-01, with the newest upstream's clamp at 0 and index_kpool variant), so that the GPU kernels can be tested
// against it with host copies of their inputs and outputs. No CUDA, no speed: every value is computed in int64 and
// range-checked.
//
// Errors: std::invalid_argument for bad arguments, i.e. what the host knows before a launch (sizes, shapes, the
// scalar parameters); DsaStatus bits for bad data, i.e. what only the device sees. Either way, nothing is written.
#include <cstdint>
#include <span>
#include <variant>

#include "draftjit/dsa.hpp"

namespace draftjit::reference {

// The status bits are draftjit::DsaStatus (include/draftjit/dsa.hpp), with its three stages; with any bit set the
// reference writes nothing at all.
using enum draftjit::DsaStatus;
// int32 or int64 values, read widened to int64 (seq_lens, req_pool_indices, extend_seq_lens come in either).
class Ints {
 public:
  Ints() = default;
  // Implicit, so that a span can be assigned to an Ints field.
  Ints(std::span<const std::int32_t> values) : values_(values) {}
  Ints(std::span<const std::int64_t> values) : values_(values) {}
  std::int64_t size() const;
  std::int64_t operator[](std::int64_t i) const;

 private:
  std::variant<std::span<const std::int32_t>, std::span<const std::int64_t>> values_;
};

// An int32 matrix view: element (r, c) lives at data[r * row_stride + c * col_stride].
struct Table {
  std::int32_t* data = nullptr;
  std::int64_t rows = 0, cols = 0, row_stride = 0, col_stride = 1;
  std::int32_t& at(std::int64_t r, std::int64_t c) const { return data[r * row_stride + c * col_stride]; }
};
struct ConstTable {
  const std::int32_t* data = nullptr;
  std::int64_t rows = 0, cols = 0, row_stride = 0, col_stride = 1;
  std::int32_t at(std::int64_t r, std::int64_t c) const { return data[r * row_stride + c * col_stride]; }
};

// What every mode reads and writes. bs = seq_lens.size(). "rows" is the mode's output rows: bs (decode),
// bs * next_n (target verify), total_len (draft extend); "bound" its page-table columns: max_len or max_seqlen_k.
struct DsaCommon {
  Ints seq_lens{};               // [bs]
  Ints req_pool_indices{};       // [bs], rows of req_to_token
  ConstTable req_to_token{};     // [R, C], C >= bound
  std::int64_t topk = 0;         // dsa_index_topk, >= 0
  std::int64_t page_size = 1;    // real_page_size P, >= 1; real_page_table is written only when P > 1
  std::int64_t index_kpool = 0;  // k > 1 turns on the pooled dsa formula (dsa_length in the .cpp); 0 or 1: off

  std::span<std::int32_t> cache_seqlens{};      // [bs]
  std::span<std::int32_t> cu_seqlens_k{};       // [bs + 1]
  std::span<std::int32_t> dsa_cache_seqlens{};  // [rows]
  std::span<std::int32_t> dsa_cu_seqlens_k{};   // [rows + 1]
  Table page_table_1{};                         // [rows, >= bound]
  Table real_page_table{};                      // [rows, >= ceil(bound / P)] when P > 1; else unused
};

struct DecodeArgs {
  DsaCommon common{};
  std::int64_t max_len = 0;
};

struct TargetVerifyArgs {
  DsaCommon common{};
  std::int64_t next_n = 1;  // 1 ..= INT32_MAX
  std::int64_t max_seqlen_k = 0;
  std::span<std::int32_t> seqlens_expanded{};  // [bs * next_n]
  Table paged_mqa_ctx_lens_2d{};               // [bs, >= next_n], optional: data == nullptr leaves it out
};

// Unlike the other modes, the output rows come from the data (total_len should be sum(extend_seq_lens)), so
// outputs too small for total_len are a status bit, not an argument error. The capacity is the smallest of the
// rows seqlens_expanded, dsa_cache_seqlens, dsa_cu_seqlens_k (less one), page_table_1 and, when P > 1,
// real_page_table hold.
struct DraftExtendArgs {
  DsaCommon common{};
  Ints extend_seq_lens{};      // [bs]
  std::int64_t total_len = 0;  // >= 0
  std::int64_t max_seqlen_k = 0;
  std::span<std::int32_t> seqlens_expanded{};  // [capacity]
};

// Each returns its DsaStatus bits (kDsaOk when it wrote its outputs) and leaves every element it is not defined to
// write as it was: columns at and past the bound, rows past the mode's rows, strided gaps.
std::int32_t dsa_decode(const DecodeArgs& args);
std::int32_t dsa_target_verify(const TargetVerifyArgs& args);
std::int32_t dsa_draft_extend(const DraftExtendArgs& args);

}  // namespace draftjit::reference
