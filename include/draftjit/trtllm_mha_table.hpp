#pragma once
// TRTLLM-MHA's eager page table (upstream SGLang's build_trtllm_mha_page_table,
// kernels/ops/kvcache/trtllm_mha_page_table.py @ 252129ae, read 2026-12-06; docs/BACKENDS.md, section 1), the third
// op of the TRTLLM family: each request's page-table row over its live pages, page_table[b, p] =
// req_to_token[req_pool_indices[b], p * page_size] / page_size (C's truncating division, as Triton's `//`) for
// p < cdiv(L_b, page_size), L_b = cache_seqlens[b] in its own dtype (no pages where L_b <= 0, or where L_b + 4095
// overflows that dtype: upstream's block guard wraps negative there). With full_to_swa, also swa_page_table[b, p] =
// int32(full_to_swa[clamp(token, 0, numel - 1)] / page_size), the token page_table's entry was made from (a clamp,
// not upstream's -1 sentinel of the other SWA lookups). Columns past a row's live pages keep what they held.
//
// One asynchronous, graph-capturable launch on `stream`, none where upstream's grid is empty (bs == 0, or a
// page_table without columns). The kernel is specialised by the input dtypes and SWA alone (TrtllmMhaTableSwitches),
// never by bs, page size, widths or strides, where upstream's Triton compiles per page size and both row strides.
//
// Bad arguments throw std::invalid_argument before anything is launched: bs outside [0, kMaxTrtllmMhaBs],
// page_size < 1, a negative size or stride, a page_table with fewer than bs rows, a swa_page_table without
// page_table's shape and strides, a full_to_swa without a swa_page_table where the call launches, a null pointer
// that is read or written. Upstream asserts only the SWA pair and that page_size divides 4096 (the drop-in raises
// both as ValueError; this call takes any page_size >= 1, and a swa_page_table with a null or empty full_to_swa
// writes no SWA entry). Where its result is undefined draftjit reads and writes nothing out of bounds: a
// pool index outside req_to_token's rows leaves the request's row as it was, and pages past page_table's columns
// (upstream writes them into the next row, n > num_pages being its caller's precondition), or starting past
// req_to_token's columns (upstream reads them from the next row), are not written; an empty full_to_swa leaves
// swa_page_table as it was (upstream reads entry -1).
#include <cstdint>

#include "draftjit/device_arrays.hpp"
#include "draftjit/draftjit.hpp"
#include "draftjit/trtllm_mha.hpp"

namespace draftjit {

struct TrtllmMhaTableArgs {
  ConstDeviceMatrix req_to_token{};                  // [pool rows, tokens]
  DeviceIndices req_pool_indices{nullptr, IndexType::Int64};  // [bs] rows of req_to_token, int64 or int32
  DeviceIndices cache_seqlens{};                     // [bs] int32 or int64
  DeviceMatrix page_table{};                         // [>= bs, num_pages]: num_pages bounds the live pages
  std::int32_t page_size = 1;                        // P >= 1
  DeviceMatrix swa_page_table{};                     // optional, page_table's shape and strides
  DeviceInt64s full_to_swa{};                        // with swa_page_table: full token -> SWA token (SWA lookup)
  std::int64_t bs = 0;                               // 0 ..= kMaxTrtllmMhaBs (upstream: page_table's rows)
};

// See the top of this file.
void trtllm_mha_page_table(const TrtllmMhaTableArgs& args, CUstream stream);

// The switches of the kernel a call launches: what prepare_trtllm_mha_table needs to load it before a capture.
struct TrtllmMhaTableSwitches {
  IndexType cache_seqlens = IndexType::Int32;
  IndexType req_pool_indices = IndexType::Int64;
  bool swa = false;  // swa_page_table and full_to_swa given
};

// Compiles (or loads from the caches) and loads into the current context the kernel of these switches, so that a
// later call, or a CUDA graph capture, does no JIT work.
void prepare_trtllm_mha_table(const TrtllmMhaTableSwitches& switches = {});

}  // namespace draftjit
