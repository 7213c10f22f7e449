#pragma once
// The draft-extend calls' checked path into the C++ API, reached through op_call.hpp's check_op: every array checked
// once by its op description (dtype, shape, layout, device, lengths; errors name the argument) plus the rules of the
// call itself (seq_lens as long as extend_seq_lens), then the call runs in the arrays' device's primary context on
// the given stream.
#include <cuda.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "bindings/array_arg.hpp"
#include "draftjit/draftjit.hpp"

namespace draftjit::bindings {

// A call whose arguments passed every check. device is -1 when no array names one (all empty, no framework
// device): the front end then picks its framework's current device.
struct FillCall {
  DraftExtendArgs args;
  int device = -1;
  std::vector<CUstream> producers;  // distinct producer streams of the arrays, see ArrayArg::producer
};
struct FillAsyncCall {
  FillCall fill;
  std::int32_t* total = nullptr;
  std::int32_t* status = nullptr;
  std::int32_t* offsets = nullptr;  // may be null unless async_requires_offsets(bs)
};
struct OffsetsCall {
  const std::int32_t* lens = nullptr;
  std::int64_t bs = 0;
  std::int32_t* out = nullptr;
  std::int32_t* status = nullptr;
  int device = -1;
  std::vector<CUstream> producers;
};

FillCall check_fill(const ArrayArg& extend_seq_lens, const ArrayArg& seq_lens, std::int64_t nsa_index_topk,
                    const ArrayArg& out_seqlens_expanded, const ArrayArg& out_nsa_cache_seqlens);
FillAsyncCall check_fill_async(const ArrayArg& extend_seq_lens, const ArrayArg& seq_lens,
                               std::int64_t nsa_index_topk, const ArrayArg& out_seqlens_expanded,
                               const ArrayArg& out_nsa_cache_seqlens, const ArrayArg& total,
                               const ArrayArg& status, const std::optional<ArrayArg>& offsets);
OffsetsCall check_exclusive_offsets(const ArrayArg& lens, const ArrayArg& out, const std::optional<ArrayArg>& status);

// Run a checked call on device (the call's own, or the front end's choice when it has none) and stream, after
// making the stream wait for the arrays' producers. Blocking only for fill.
std::int32_t run(const FillCall& call, int device, CUstream stream);
void run(const FillAsyncCall& call, int device, CUstream stream);
void run(const OffsetsCall& call, int device, CUstream stream);

}  // namespace draftjit::bindings
