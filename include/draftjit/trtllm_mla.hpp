#pragma once
// TRTLLM-MLA's per-step graph metadata (upstream SGLang's update_trtllm_mla_graph_metadata,
// kernels/ops/kvcache/trtllm_mla_graph_metadata.py @ 2325f4e6, read 2026-12-06; docs/BACKENDS.md, section 4), the
// second op of the TRTLLM family: optionally seq_lens_k[b] = int32(seq_lens[b] + seqlen_offset), and each request's
// block-table row over its live pages, block_kv_indices[b, p] = req_to_token[req_pool_indices[b], p * page_size] /
// page_size (C's truncating division, as Triton's `//`) for p < cdiv(seq_lens_k[b], page_size) (int32, the add
// wrapping: a length <= 0 gives no pages). Columns past a row's live pages keep what they held.
//
// One asynchronous, graph-capturable launch on `stream`, none where upstream's grid is empty (bs == 0, or a
// block_kv_indices without columns: then seq_lens_k is not written either). The kernel is specialised by the input
// dtypes alone (TrtllmMlaSwitches), never by bs, page size, lengths, widths or strides, where upstream's Triton
// compiles per page size.
//
// Bad arguments throw std::invalid_argument before anything is launched: bs outside [0, kMaxTrtllmMhaBs],
// page_size < 1, a negative size or stride, a block_kv_indices with fewer than bs rows, a null pointer that is read
// or written. Upstream checks nothing; where its result is undefined draftjit reads and writes nothing out of
// bounds: a pool index outside req_to_token's rows leaves the request's row as it was, and pages past
// block_kv_indices' columns, or starting past req_to_token's columns, are not written (upstream writes them into
// the next row, or reads them from it).
#include <cstdint>

#include "draftjit/device_arrays.hpp"
#include "draftjit/draftjit.hpp"
#include "draftjit/trtllm_mha.hpp"

namespace draftjit {

struct TrtllmMlaArgs {
  DeviceIndices req_pool_indices{nullptr, IndexType::Int64};  // [bs] rows of req_to_token, int64 or int32
  DeviceIndices seq_lens{};                          // [bs] int32 or int64
  ConstDeviceMatrix req_to_token{};                  // [pool rows, tokens]
  DeviceMatrix block_kv_indices{};                   // [>= bs, W]: W bounds the live pages
  std::int64_t bs = 0;                               // 0 ..= kMaxTrtllmMhaBs
  std::int64_t seqlen_offset = 0;
  std::int32_t page_size = 1;                        // P >= 1
  std::int32_t* seq_lens_k = nullptr;                // optional [bs]: int32(seq_lens[b] + seqlen_offset)
};

// See the top of this file.
void trtllm_mla_graph_metadata(const TrtllmMlaArgs& args, CUstream stream);

// The switches of the kernel a call launches: what prepare_trtllm_mla needs to load it before a capture. Whether
// seq_lens_k is given is a run-time choice, not a switch.
struct TrtllmMlaSwitches {
  IndexType seq_lens = IndexType::Int32;
  IndexType req_pool_indices = IndexType::Int64;
};

// Compiles (or loads from the caches) and loads into the current context the kernel of these switches, so that a
// later call, or a CUDA graph capture, does no JIT work.
void prepare_trtllm_mla(const TrtllmMlaSwitches& switches = {});

}  // namespace draftjit
