#pragma once
// draftjit: JIT-specialised CUDA kernels for SGLang's NSA "draft extend" metadata.
//
// Given per-request extend lengths and KV lengths on the device, writes for every token t of every request b
//   seqlens_expanded[t]  = seq_lens[b] - extend_seq_lens[b] + 1 + (t - offsets[b])
//   nsa_cache_seqlens[t] = min(seqlens_expanded[t], nsa_index_topk)
// where offsets is the exclusive prefix sum of extend_seq_lens (the whole definition, with the checks and a worked
// example: docs/DESIGN.md, "What draftjit computes"). Kernels are rendered for the batch size, compiled with NVRTC
// on first use, cached in memory and on disk ($DRAFTJIT_CACHE_DIR, see README.md) and launched with the Driver API
// on the caller's stream, in the context current on the calling thread.
//
// Contexts are told apart by the driver's unique context ID, so a context created after another was destroyed
// (cudaDeviceReset, cuCtxDestroy + cuCtxCreate) gets kernels of its own even when the driver reuses the handle.
// As with any CUDA object, a context must not be destroyed while a draftjit call runs in it.
//
// Errors: std::invalid_argument for bad arguments (checked on the host before anything is launched);
// draftjit::StatusError when the device finds bad data in the blocking call; draftjit::CompileError (with NVRTC's
// log) and draftjit::Error (driver failures, naming the call, the CUDA error and the kernel key) otherwise.

#include <cstddef>
#include <cstdint>

#include "draftjit/errors.hpp"
#include "draftjit/stats.hpp"
#include "draftjit/status.hpp"
#include "draftjit/tuning.hpp"

// The Driver API's stream handle, declared as cuda.h declares it (so cudaStream_t converts too) without making
// users' builds depend on where cuda.h lives.
typedef struct CUstream_st* CUstream;

namespace draftjit {

// All pointers are device pointers. The request arrays may be null only when bs == 0, the outputs only when
// capacity == 0.
struct DraftExtendArgs {
  const std::int32_t* extend_seq_lens = nullptr;  // [bs] tokens extended per request, >= 0
  const std::int32_t* seq_lens = nullptr;         // [bs] KV length per request, extend tokens included
  std::int64_t bs = 0;                            // 0 ..= kMaxBs
  std::int32_t nsa_index_topk = 0;
  std::int32_t* out_seqlens_expanded = nullptr;   // [capacity]
  std::int32_t* out_nsa_cache_seqlens = nullptr;  // [capacity]
  std::int64_t capacity = 0;                      // entries available in each output
};

// Fills both outputs and returns total_tokens. Blocks the host until the stream reaches the end of the work: the
// kernel writes the total into mapped pinned memory (for bs > fused_max_bs, an 8-byte device-to-host copy does),
// then cuStreamSynchronize. Allocates nothing once warm. Throws StatusError, naming the total and the capacity,
// when the data is bad or the outputs are too small.
std::int32_t fill_draft_extend_metadata(const DraftExtendArgs& args, CUstream stream, const Tuning& tuning = {});

// The same work without any host synchronisation or allocation, so it can be captured in a CUDA graph. Writes the
// total to *d_total and the Status bits to *d_status (both device int32); the outputs are written only when the
// status is 0, and never at or past capacity. d_offsets (device, bs + 1 entries) receives the exclusive offsets;
// it may be null unless async_requires_offsets(bs), where it serves as the scan's scratch. For the cheapest
// blocking read of the total afterwards, d_total and d_status may point into mapped pinned host memory
// (cudaHostAlloc with cudaHostAllocMapped) when bs <= fused_max_bs; the two-kernel path reads *d_status on the
// device, so keep them in device memory there.
void fill_draft_extend_metadata_async(const DraftExtendArgs& args, CUstream stream, std::int32_t* d_total,
                                      std::int32_t* d_status, std::int32_t* d_offsets = nullptr,
                                      const Tuning& tuning = {});

// True when bs is too large for the one-launch path, so the async call needs d_offsets.
bool async_requires_offsets(std::int64_t bs, const Tuning& tuning = {});

// The specialised prefix sum alone: offsets[0] = 0, offsets[i + 1] = offsets[i] + lens[i] (bs + 1 device entries).
// Asynchronous. When d_status is non-null it receives the Status bits (negative length, int32 overflow).
void exclusive_offsets(const std::int32_t* lens, std::int64_t bs, std::int32_t* offsets, CUstream stream,
                       std::int32_t* d_status = nullptr, const Tuning& tuning = {});

// Compiles (or loads from the caches) and loads into the current context every kernel that a call with this bs
// uses, so that a later call, or a CUDA graph capture, does no JIT work.
void prepare(std::int64_t bs, const Tuning& tuning = {});

// The kernels a manifest names (written by processes run with DRAFTJIT_RECORD=FILE), loaded like prepare() loads
// a bs's: each kernel recorded for the current context's toolchain (its device's arch) is compiled or read from the
// caches and loaded into the context; kernels recorded for other archs are skipped. Unlike prepare(bs) it sizes no
// blocking-call workspace (a manifest names kernels, not batch sizes). Returns how many were loaded. A line it
// cannot use (torn by a full disk, or malformed) is skipped and logged as a warning naming path:line. Throws
// std::invalid_argument naming the path when it is not a regular file or too large, std::system_error naming it when
// it cannot be read.
std::size_t prepare_manifest(const char* path);

// True when a CUDA driver loads and reports a device. Never throws.
bool cuda_available() noexcept;

// The library's version ("major.minor.patch", CMake's project(VERSION), as is the Python package's), also part of
// every kernel key.
const char* version();

}  // namespace draftjit
