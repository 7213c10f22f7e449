#pragma once
// CPU reference for the whole DSA metadata step (decode, target verify, draft extend), written straight from
// upstream SGLang's definitions (python/sglang/kernels/ops/attention/dsa_metadata.py and dsa_kpool_metadata/, read
// 2026-12-06: the clamp at 0, index_kpool, live-prefix page-table writes, an optional page_table_1,
// static_extend_len) and include/draftjit/dsa.hpp's status words, so that the GPU kernels can be tested against it
// with host copies of their inputs and outputs. No CUDA, no speed: every value is computed in int64 and range-checked.
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
// int32 or int64 values, read widened to int64 (seq_lens, req_pool_indices, extend_seq_lens come in either), value i
// at storage[i * stride].
class Ints {
 public:
  Ints() = default;
  // Implicit, so that a span can be assigned to an Ints field: every element, stride 1.
  Ints(std::span<const std::int32_t> values) : values_(values), size_(static_cast<std::int64_t>(values.size())) {}
  Ints(std::span<const std::int64_t> values) : values_(values), size_(static_cast<std::int64_t>(values.size())) {}
  // size values at storage[0], storage[stride], ... (stride 0 repeats storage[0]); std::invalid_argument when a
  // negative size or stride, or the last value past the storage.
  static Ints strided(std::span<const std::int32_t> storage, std::int64_t size, std::int64_t stride);
  static Ints strided(std::span<const std::int64_t> storage, std::int64_t size, std::int64_t stride);
  std::int64_t size() const { return size_; }
  std::int64_t operator[](std::int64_t i) const;

 private:
  // These values read as size values `stride` apart: the one body of both strided().
  Ints restrided(std::int64_t size, std::int64_t stride) const;

  std::variant<std::span<const std::int32_t>, std::span<const std::int64_t>> values_;
  std::int64_t size_ = 0;
  std::int64_t stride_ = 1;
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
// Page-table row r is written only over its live prefix, columns j < min(ceil(kv / 128) * 128, bound) (none for
// kv <= 0), kv being cache_seqlens of r's request; the columns past it keep their old values.
struct DsaCommon {
  Ints seq_lens{};               // [bs]
  Ints req_pool_indices{};       // [bs], rows of req_to_token
  ConstTable req_to_token{};     // [R, C], C >= bound
  std::int64_t topk = 0;         // dsa_index_topk, >= 0
  std::int64_t page_size = 1;    // real_page_size P, >= 1; real_page_table is written only when P > 1
  std::int64_t index_kpool = 1;  // k >= 1 where any row is written; k > 1 turns on the pooled dsa formula

  std::span<std::int32_t> cache_seqlens{};      // [bs]
  std::span<std::int32_t> cu_seqlens_k{};       // [bs + 1]
  std::span<std::int32_t> dsa_cache_seqlens{};  // [rows]
  std::span<std::int32_t> dsa_cu_seqlens_k{};   // [rows + 1]
  Table page_table_1{};                         // [rows, >= bound]; data null: not written (needs P > 1)
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
// rows seqlens_expanded, dsa_cache_seqlens, dsa_cu_seqlens_k (less one) and, when bound > 0, page_table_1 (when
// given) and real_page_table (when P > 1) hold.
struct DraftExtendArgs {
  DsaCommon common{};
  Ints extend_seq_lens{};      // [bs]
  std::int64_t total_len = 0;  // >= 0
  std::int64_t max_seqlen_k = 0;
  std::span<std::int32_t> seqlens_expanded{};  // [capacity]
  // The promise that every extend length equals extend_seq_lens[0]; broken, it is kDsaExtendNotStatic. Kept, the
  // outputs are those of the call without it.
  bool static_extend_len = false;
};

// Each returns its DsaStatus bits (kDsaOk when it wrote its outputs) and leaves every element it is not defined to
// write as it was: page-table columns past the row's live prefix, rows past the mode's rows, strided gaps.
std::int32_t dsa_decode(const DecodeArgs& args);
std::int32_t dsa_target_verify(const TargetVerifyArgs& args);
std::int32_t dsa_draft_extend(const DraftExtendArgs& args);

}  // namespace draftjit::reference
