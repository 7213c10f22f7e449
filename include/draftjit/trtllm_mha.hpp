#pragma once
// TRTLLM-MHA's per-step graph metadata (upstream SGLang's update_trtllm_mha_graph_metadata,
// kernels/ops/kvcache/trtllm_mha_graph_metadata.py @ 00a9f468, read 2026-12-06; docs/BACKENDS.md, section 1), in one
// launch: the KV lengths and their prefixes, optionally the query prefixes, each request's page-table row over its
// live pages, and optionally the SWA page table and the SWA out-cache locations. Bit for bit upstream's: int32 sums
// wrap, `//` truncates toward zero, entry 0 of cu_seqlens_k and cu_seqlens_q is never written (the caller zeroes it
// once), and page-table columns past a row's live pages keep what they held (readers bound them by cache_seqlens).
//
// One asynchronous, graph-capturable launch on `stream` (none for bs == 0, as upstream): no allocation, no host
// synchronisation. The kernel is specialised by the switches alone (TrtllmMhaSwitches), never by bs, lengths, widths
// or strides: one compile per switch set serves every call.
//
// Bad arguments throw std::invalid_argument before anything is launched: bs outside [0, kMaxTrtllmMhaBs], page_size
// < 1, max_seq_pages outside [0, INT32_MAX] or past a page table's columns, a page past req_to_token's columns
// ((max_seq_pages - 1) * page_size >= its columns), q_mode outside the QMode values, a null pointer that is read or
// written, an SWA output without swa_mapping. Upstream checks nothing; where its result is undefined draftjit
// reads and writes nothing out of bounds: a pool index outside req_to_token's rows leaves the request's page-table
// rows as they were, and a token or out-cache location at or past swa_mapping's entries leaves its entry as it was.
#include <cstdint>

#include "draftjit/device_arrays.hpp"
#include "draftjit/draftjit.hpp"

namespace draftjit {

inline constexpr int kMaxTrtllmMhaBs = 65536;

// How cu_seqlens_q is written (upstream's Q_MODE_*).
enum class QMode : std::uint8_t {
  None = 0,     // not written (decode, target verify: preset)
  Cumsum = 1,   // cu_seqlens_q[b + 1] = qlens[0] + ... + qlens[b]
  Strided = 2,  // cu_seqlens_q[b + 1] = (b + 1) * q_stride
};

struct TrtllmMhaArgs {
  DeviceIndices req_pool_indices{nullptr, IndexType::Int64};  // [bs] rows of req_to_token, int64 or int32
  DeviceIndices seq_lens{};                          // [bs] int32 or int64
  ConstDeviceMatrix req_to_token{};                  // [pool rows, > (max_seq_pages - 1) * page_size]
  std::int32_t* cache_seqlens = nullptr;             // [bs]: int32(seq_lens[b] + seqlen_offset)
  std::int32_t* cu_seqlens_k = nullptr;              // [bs + 1]
  DeviceMatrix page_table{};                         // [>= bs, >= max_seq_pages]; unused with skip_page_table
  std::int64_t bs = 0;                               // 0 ..= kMaxTrtllmMhaBs
  std::int64_t seqlen_offset = 0;
  std::int64_t max_seq_pages = 0;                    // live pages per row at most
  std::int32_t page_size = 1;                        // P >= 1
  DeviceInt64s swa_mapping{};                        // full token -> SWA token; needed by either SWA output
  DeviceMatrix swa_page_table{};                     // optional, like page_table: swa_mapping[token] // P, or -1
  DeviceInt64s out_cache_loc{};                      // optional: what swa_out_cache_loc translates
  MutableDeviceInt64s swa_out_cache_loc{};           // optional: all of it written (zeros past out_cache_loc)
  std::int32_t* cu_seqlens_q = nullptr;              // [bs + 1] with QMode::Cumsum or QMode::Strided
  DeviceIndices qlens{};                             // [bs] with QMode::Cumsum, int32 or int64
  std::int64_t q_stride = 0;                         // QMode::Strided's
  QMode q_mode = QMode::None;
  bool skip_page_table = false;  // write no page table (page_table and swa_page_table unused)
};

// See the top of this file.
void trtllm_mha_graph_metadata(const TrtllmMhaArgs& args, CUstream stream);

// The switches of the kernel a call launches: what prepare_trtllm_mha needs to load it before a capture.
struct TrtllmMhaSwitches {
  IndexType seq_lens = IndexType::Int32;
  IndexType req_pool_indices = IndexType::Int64;
  IndexType qlens = IndexType::Int32;  // with QMode::Cumsum
  QMode q_mode = QMode::None;
  bool swa = false;       // swa_page_table written (not with skip_page_table)
  bool swa_out = false;   // swa_out_cache_loc written
  bool skip_page_table = false;
};

// Compiles (or loads from the caches) and loads into the current context the kernel of these switches, so that a
// later call, or a CUDA graph capture, does no JIT work. Throws std::invalid_argument for switches no call has
// (an int64 qlens outside QMode::Cumsum, swa with skip_page_table).
void prepare_trtllm_mha(const TrtllmMhaSwitches& switches = {});

}  // namespace draftjit
