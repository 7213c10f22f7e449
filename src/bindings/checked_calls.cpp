#include "bindings/checked_calls.hpp"

#include <fmt/format.h>

#include "bindings/array_rules.hpp"
#include "ops/draft_extend/family.hpp"

namespace draftjit::bindings {
namespace {

// The request's checks and arguments, without placing them on a device: check_fill places the four arrays,
// check_fill_async all seven at once.
DraftExtendArgs checked_request(const ArrayArg& ext, const ArrayArg& seq, std::int64_t topk,
                                const ArrayArg& out_expanded, const ArrayArg& out_cache) {
  check_vector(ext, Access::Read);
  check_vector(seq, Access::Read);
  check_vector(out_expanded, Access::Write);
  check_vector(out_cache, Access::Write);
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
  const DraftExtendArgs args = checked_request(ext, seq, topk, out_expanded, out_cache);
  Placement placement = place({&ext, &seq, &out_expanded, &out_cache});
  return {args, placement.device, std::move(placement.producers)};
}

FillAsyncCall check_fill_async(const ArrayArg& ext, const ArrayArg& seq, std::int64_t topk,
                               const ArrayArg& out_expanded, const ArrayArg& out_cache, const ArrayArg& total,
                               const ArrayArg& status, const std::optional<ArrayArg>& offsets) {
  const DraftExtendArgs args = checked_request(ext, seq, topk, out_expanded, out_cache);
  for (const ArrayArg* word : {&total, &status}) {
    check_vector(*word, Access::Write);
    check_has_one(*word);
  }
  if (offsets) {
    check_vector(*offsets, Access::Write);
    check_holds_offsets(*offsets, ext.length);
  }
  Placement placement = place({&ext, &seq, &out_expanded, &out_cache, &total, &status, offsets ? &*offsets : nullptr});
  return {{args, placement.device, std::move(placement.producers)},
          as<std::int32_t>(total),
          as<std::int32_t>(status),
          offsets ? as<std::int32_t>(*offsets) : nullptr};
}

OffsetsCall check_exclusive_offsets(const ArrayArg& lens, const ArrayArg& out, const std::optional<ArrayArg>& status) {
  check_vector(lens, Access::Read);
  check_vector(out, Access::Write);
  check_holds_offsets(out, lens.length);
  if (status) {
    check_vector(*status, Access::Write);
    check_has_one(*status);
  }
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
