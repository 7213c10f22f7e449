#include "bindings/op_call.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <span>
#include <stdexcept>
#include <tuple>
#include <type_traits>

#include "bindings/array_rules.hpp"
#include "ops/draft_extend/ops.hpp"

namespace draftjit::bindings {
namespace {

// Fills the fields of an API call's Args from the checked arguments, each by the name bind_fields gives it; an
// absent optional array leaves its field as the Args struct has it (null).
class FieldBinder {
 public:
  FieldBinder(const OpArgs& args, std::int64_t row_capacity) : args_(args), row_capacity_(row_capacity) {}
  std::int64_t row_capacity() const { return row_capacity_; }

  void operator()(const char* name, DeviceIndices& field) const {
    if (const auto& a = args_.optional_array(name)) {
      field = {reinterpret_cast<const void*>(a->ptr), a->int64 ? IndexType::Int64 : IndexType::Int32, a->stride};
    }
  }
  void operator()(const char* name, ConstDeviceMatrix& field) const {
    if (const auto& a = args_.optional_array(name)) {
      field = {as<const std::int32_t>(*a), a->rows, a->cols, a->row_stride, a->col_stride};
    }
  }
  void operator()(const char* name, DeviceMatrix& field) const {
    if (const auto& a = args_.optional_array(name)) {
      field = {as<std::int32_t>(*a), a->rows, a->cols, a->row_stride, a->col_stride};
    }
  }
  void operator()(const char* name, std::int32_t*& field) const {
    if (const auto& a = args_.optional_array(name)) field = as<std::int32_t>(*a);
  }
  void operator()(const char* name, DeviceInt64s& field) const {
    if (const auto& a = args_.optional_array(name)) field = {as<const std::int64_t>(*a), a->length};
  }
  void operator()(const char* name, MutableDeviceInt64s& field) const {
    if (const auto& a = args_.optional_array(name)) field = {as<std::int64_t>(*a), a->length};
  }
  void operator()(const char* name, MutableDeviceIndices& field) const {
    if (const auto& a = args_.optional_array(name)) {
      field = {as<void>(*a), a->int64 ? IndexType::Int64 : IndexType::Int32, a->length};
    }
  }
  void operator()(const char* name, std::int64_t& field) const { field = args_.integer(name); }
  void operator()(const char* name, std::int32_t& field) const { field = int32_scalar(args_.integer(name), name); }
  void operator()(const char* name, bool& field) const { field = args_.integer(name) != 0; }
  template <class Enum>
    requires std::is_enum_v<Enum>  // its values checked by the description's range (OpArg::max)
  void operator()(const char* name, Enum& field) const {
    field = static_cast<Enum>(int32_scalar(args_.integer(name), name));
  }

 private:
  const OpArgs& args_;
  std::int64_t row_capacity_;
};

// The counts the size rules are in terms of: bs, and the rows where the host knows them.
Counts counts_of(const OpArgs& a) {
  const ops::OpDescription& op = a.op();
  Counts counts{a.integer("bs"), -1, op.rows_per_request};
  if (!op.rows_from_data) {
    counts.rows = counts.bs;
    if (op.rows_per_request != nullptr) {
      counts.rows *= int32_scalar(a.integer(op.rows_per_request), op.rows_per_request);
    }
  }
  return counts;
}

// Every rule of the op's description, in order: the Ints' ranges (bs first: the sizes are in terms of it), then
// each array; the least of what the per-row arrays hold is the row capacity. Then the arrays' one device.
template <class Args>
ApiCall<Args> check_api_op(const ops::ApiOp<Args>& api, const OpArgs& a) {
  const ops::OpDescription& op = *api.op;
  for (std::size_t i = 0; i < op.args.size(); ++i) {
    const ops::OpArg& arg = op.args[i];
    const std::int64_t value = a.integer_at(i);
    if (arg.type == ops::ArgType::Int && arg.max >= 0 && (value < 0 || value > arg.max)) {
      throw std::invalid_argument(ops::out_of_range(arg.name, value, arg.max));
    }
  }
  const Counts counts = counts_of(a);
  std::array<const ArrayArg*, ops::kMaxOpArgs> given{};
  std::size_t arrays = 0;
  std::int64_t row_capacity = std::numeric_limits<std::int64_t>::max();
  for (std::size_t i = 0; i < op.args.size(); ++i) {
    const ops::OpArg& arg = op.args[i];
    if (arg.type != ops::ArgType::Tensor) continue;
    const std::optional<ArrayArg>& array = a.array_at(i);
    if (!array) {
      if (!arg.optional) throw std::invalid_argument(fmt::format("{} is required", arg.name));
      continue;
    }
    check_arg(arg, *array, counts);
    if (arg.size == ops::Size::Rows) row_capacity = std::min(row_capacity, array->length);
    if (arg.size == ops::Size::RowsPlus1) row_capacity = std::min(row_capacity, array->length - 1);
    given[arrays++] = &*array;
  }
  Placement placement = place(std::span<const ArrayArg* const>(given.data(), arrays));
  ApiCall<Args> call{Args{}, api.call, placement.device, std::move(placement.producers)};
  FieldBinder fields(a, row_capacity);
  bind_fields(call.args, fields);
  return call;
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

// Which API call each op is: the draft-extend family's calls read their arguments by name here; every op of
// ops::kApiOps goes through check_api_op.
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
  std::optional<CheckedOp> call;
  std::apply([&](const auto&... api) { ((api.op == op ? void(call = check_api_op(api, a)) : void()), ...); },
             ops::kApiOps);
  if (call) return *std::move(call);
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
        using Call = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<Call, FillCall>) {
          return run(c, device, stream);
        } else if constexpr (requires { c.call(c.args, stream); }) {  // an ApiCall
          in_context(device, stream, c.producers, [&] { c.call(c.args, stream); });
          return std::nullopt;
        } else {
          run(c, device, stream);
          return std::nullopt;
        }
      },
      call);
}

}  // namespace draftjit::bindings
