#include "bindings/checked_calls.hpp"

#include <fmt/format.h>

#include "bindings/array_rules.hpp"
#include "ops/draft_extend/family.hpp"
#include "ops/draft_extend/ops.hpp"

namespace draftjit::bindings {
namespace {

// The request's checks and arguments, without placing them on a device: check_fill places the four arrays,
// check_fill_async all seven at once.
DraftExtendArgs checked_request(const ops::OpDescription& op, const ArrayArg& ext, const ArrayArg& seq,
                                std::int64_t topk, const ArrayArg& out_expanded, const ArrayArg& out_cache) {
  const Counts counts{ext.length};  // bs is extend_seq_lens' length
  for (const ArrayArg* a : {&ext, &seq, &out_expanded, &out_cache}) check_described(op, *a, counts);
  if (seq.length != ext.length) {
    throw std::invalid_argument(
        fmt::format("seq_lens has {} entries but extend_seq_lens has {}", seq.length, ext.length));
  }
  if (out_cache.length != out_expanded.length) {
    throw std::invalid_argument(fmt::format(
        "out_nsa_cache_seqlens has {} entries but out_seqlens_expanded has {}; both are the capacity",
        out_cache.length, out_expanded.length));
  }
  ops::draft_extend::check_bs(ext.length, "fill_draft_extend_metadata");
  return {as<const std::int32_t>(ext), as<const std::int32_t>(seq), ext.length, int32_scalar(topk, "nsa_index_topk"),
          as<std::int32_t>(out_expanded), as<std::int32_t>(out_cache), out_expanded.length};
}

}  // namespace

FillCall check_fill(const ArrayArg& ext, const ArrayArg& seq, std::int64_t topk, const ArrayArg& out_expanded,
                    const ArrayArg& out_cache) {
  const DraftExtendArgs args = checked_request(ops::draft_extend::kFillOp, ext, seq, topk, out_expanded, out_cache);
  Placement placement = place({&ext, &seq, &out_expanded, &out_cache});
  return {args, placement.device, std::move(placement.producers)};
}

FillAsyncCall check_fill_async(const ArrayArg& ext, const ArrayArg& seq, std::int64_t topk,
                               const ArrayArg& out_expanded, const ArrayArg& out_cache, const ArrayArg& total,
                               const ArrayArg& status, const std::optional<ArrayArg>& offsets) {
  const ops::OpDescription& op = ops::draft_extend::kFillAsyncOp;
  const DraftExtendArgs args = checked_request(op, ext, seq, topk, out_expanded, out_cache);
  const Counts counts{ext.length};
  for (const ArrayArg* word : {&total, &status}) check_described(op, *word, counts);
  if (offsets) check_described(op, *offsets, counts);
  Placement placement = place({&ext, &seq, &out_expanded, &out_cache, &total, &status, offsets ? &*offsets : nullptr});
  return {{args, placement.device, std::move(placement.producers)},
          as<std::int32_t>(total),
          as<std::int32_t>(status),
          offsets ? as<std::int32_t>(*offsets) : nullptr};
}

OffsetsCall check_exclusive_offsets(const ArrayArg& lens, const ArrayArg& out, const std::optional<ArrayArg>& status) {
  const ops::OpDescription& op = ops::draft_extend::kOffsetsOp;
  const Counts counts{lens.length};
  check_described(op, lens, counts);
  check_described(op, out, counts);
  if (status) check_described(op, *status, counts);
  ops::draft_extend::check_bs(lens.length, "exclusive_offsets");
  Placement placement = place({&lens, &out, status ? &*status : nullptr});
  return {as<const std::int32_t>(lens), lens.length, as<std::int32_t>(out),
          status ? as<std::int32_t>(*status) : nullptr, placement.device, std::move(placement.producers)};
}

std::int32_t run(const FillCall& call, int device, CUstream stream) {
  return in_context(device, stream, call.producers,
                    [&] { return fill_draft_extend_metadata(call.args, stream); });
}

void run(const FillAsyncCall& call, int device, CUstream stream) {
  in_context(device, stream, call.fill.producers, [&] {
    fill_draft_extend_metadata_async(call.fill.args, stream, call.total, call.status, call.offsets);
  });
}

void run(const OffsetsCall& call, int device, CUstream stream) {
  in_context(device, stream, call.producers,
             [&] { exclusive_offsets(call.lens, call.bs, call.out, stream, call.status); });
}

}  // namespace draftjit::bindings
