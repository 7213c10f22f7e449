#pragma once
// The front ends' one generic path into the C++ API, driven by the op descriptions (ops/op_description.hpp): a front
// end only turns each argument the description lists into an ArrayArg or an integer (OpArgs), then check_op checks
// them all and makes the API call, and run() runs it on the stream the front end picks for its device. The torch
// ops (python/src/torch_ops.cpp: one boxed kernel for every op) and the pybind11 module (python/src/module.cpp:
// call_op) do nothing else. An op of ops::kApiOps (ops/api_op.hpp) needs no code here: its description's rules are
// checked in order (the Ints' ranges, bs first; then every array) and bind_fields fills its API call's Args.
#include <cuda.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include "bindings/checked_calls.hpp"
#include "ops/op_description.hpp"
#include "ops/registry.hpp"

namespace draftjit::bindings {

// One call's arguments as a front end received them, at the positions of the op's description: an array (unset for
// an absent optional tensor) or an integer per argument. Fixed arrays: a call allocates nothing here.
class OpArgs {
 public:
  explicit OpArgs(const ops::OpDescription& op) : op_(&op) {}
  const ops::OpDescription& op() const { return *op_; }
  void set_array(std::size_t position, ArrayArg array) { arrays_.at(position) = std::move(array); }
  void set_integer(std::size_t position, std::int64_t value) { integers_.at(position) = value; }

  // By name, as the description spells it; std::invalid_argument for a required array the front end left unset,
  // std::logic_error for a name the description lacks.
  const ArrayArg& array(std::string_view name) const;
  const std::optional<ArrayArg>& optional_array(std::string_view name) const;
  std::int64_t integer(std::string_view name) const;
  // By position in the description.
  const std::optional<ArrayArg>& array_at(std::size_t position) const { return arrays_.at(position); }
  std::int64_t integer_at(std::size_t position) const { return integers_.at(position); }

 private:
  std::size_t position(std::string_view name, ops::ArgType type) const;
  const ops::OpDescription* op_;
  std::array<std::optional<ArrayArg>, ops::kMaxOpArgs> arrays_{};
  std::array<std::int64_t, ops::kMaxOpArgs> integers_{};
};

// A call of an op of ops::kApiOps whose arguments passed every check; device as in FillCall.
template <class Args>
struct ApiCall {
  Args args;
  void (*call)(const Args&, CUstream) = nullptr;
  int device = -1;
  std::vector<CUstream> producers;  // distinct producer streams of the arrays, see ArrayArg::producer
};

template <class ApiOps>
struct CheckedOpOf;
template <class... Args>
struct CheckedOpOf<std::tuple<ops::ApiOp<Args>...>> {
  using type = std::variant<FillCall, FillAsyncCall, OffsetsCall, ApiCall<Args>...>;
};
// A call whose arguments passed every check, ready to run.
using CheckedOp = CheckedOpOf<std::remove_const_t<decltype(ops::kApiOps)>>::type;

CheckedOp check_op(const OpArgs& args);
int device_of(const CheckedOp& call);  // the arrays' device; -1 when none names one
// Runs the call on device (its own, or the front end's choice when it has none) and stream; returns what an op
// whose description returns "Tensor" returns (the blocking fill's total_tokens), nullopt for the others.
std::optional<std::int32_t> run(const CheckedOp& call, int device, CUstream stream);

}  // namespace draftjit::bindings
