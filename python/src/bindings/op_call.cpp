#include "bindings/op_call.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "ops/draft_extend/ops.hpp"
#include "ops/dsa/ops.hpp"

namespace draftjit::bindings {
namespace {

DsaArrays dsa_arrays(const OpArgs& a) {
  return {a.array("seq_lens"),          a.array("req_pool_indices"),  a.array("req_to_token"),
          a.array("cache_seqlens"),     a.array("cu_seqlens_k"),      a.optional_array("page_table_1"),
          a.array("dsa_cache_seqlens"), a.array("dsa_cu_seqlens_k"),  a.optional_array("real_page_table"),
          a.optional_array("status")};
}

DsaScalars dsa_scalars(const OpArgs& a) {
  return {a.integer("bs"), a.integer("dsa_index_topk"), a.integer("real_page_size"), a.integer("index_kpool")};
}

}  // namespace

std::size_t OpArgs::position(std::string_view name, ops::ArgType type) const {
  for (std::size_t i = 0; i < op_->args.size(); ++i) {
    if (name == op_->args[i].name && op_->args[i].type == type) return i;
  }
  throw std::logic_error(fmt::format("{} has no argument {} of that type", op_->name, name));
}

const ArrayArg& OpArgs::array(std::string_view name) const {
  const std::optional<ArrayArg>& array = arrays_[position(name, ops::ArgType::Tensor)];
  if (!array) throw std::invalid_argument(fmt::format("{} is required", name));
  return *array;
}

const std::optional<ArrayArg>& OpArgs::optional_array(std::string_view name) const {
  return arrays_[position(name, ops::ArgType::Tensor)];
}

std::int64_t OpArgs::integer(std::string_view name) const { return integers_[position(name, ops::ArgType::Int)]; }

// Which API call each op is: the one place that reads an op's arguments by name.
CheckedOp check_op(const OpArgs& a) {
  const ops::OpDescription* op = &a.op();
  if (op == &ops::draft_extend::kFillOp) {
    return check_fill(a.array("extend_seq_lens"), a.array("seq_lens"), a.integer("nsa_index_topk"),
                      a.array("out_seqlens_expanded"), a.array("out_nsa_cache_seqlens"));
  }
  if (op == &ops::draft_extend::kFillAsyncOp) {
    return check_fill_async(a.array("extend_seq_lens"), a.array("seq_lens"), a.integer("nsa_index_topk"),
                            a.array("out_seqlens_expanded"), a.array("out_nsa_cache_seqlens"), a.array("total"),
                            a.array("status"), a.optional_array("offsets"));
  }
  if (op == &ops::draft_extend::kOffsetsOp) {
    return check_exclusive_offsets(a.array("lens"), a.array("out"), a.optional_array("status"));
  }
  if (op == &ops::dsa::kDecodeOp) return check_dsa_decode(dsa_arrays(a), dsa_scalars(a), a.integer("max_len"));
  if (op == &ops::dsa::kTargetVerifyOp) {
    return check_dsa_target_verify(dsa_arrays(a), a.array("seqlens_expanded"), a.optional_array("paged_mqa_ctx_lens_2d"),
                                   dsa_scalars(a), a.integer("max_seqlen_k"), a.integer("next_n"));
  }
  if (op == &ops::dsa::kDraftExtendOp) {
    return check_dsa_draft_extend(dsa_arrays(a), a.array("extend_seq_lens"), a.array("seqlens_expanded"),
                                  dsa_scalars(a), a.integer("total_len"), a.integer("max_seqlen_k"),
                                  a.integer("static_extend_len"));
  }
  throw std::logic_error(fmt::format("no API call for op {}", op->name));
}

int device_of(const CheckedOp& call) {
  return std::visit(
      [](const auto& c) {
        if constexpr (std::is_same_v<std::decay_t<decltype(c)>, FillAsyncCall>) {
          return c.fill.device;
        } else {
          return c.device;
        }
      },
      call);
}

std::optional<std::int32_t> run(const CheckedOp& call, int device, CUstream stream) {
  return std::visit(
      [&](const auto& c) -> std::optional<std::int32_t> {
        if constexpr (std::is_same_v<std::decay_t<decltype(c)>, FillCall>) {
          return run(c, device, stream);
        } else {
          run(c, device, stream);
          return std::nullopt;
        }
      },
      call);
}

}  // namespace draftjit::bindings
