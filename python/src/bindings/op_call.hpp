#pragma once
// The front ends' one generic path into the C++ API, driven by the op descriptions (ops/op_description.hpp): a front
// end only turns each argument the description lists into an ArrayArg or an integer (OpArgs), then check_op checks
// them all and makes the API call, and run() runs it on the stream the front end picks for its device. The torch
// ops (python/src/torch_ops.cpp: one boxed kernel for every op) and the pybind11 module (python/src/module.cpp:
// call_op) do nothing else.
#include <cuda.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>

#include "bindings/checked_calls.hpp"
#include "bindings/dsa_calls.hpp"
#include "ops/op_description.hpp"

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

 private:
  std::size_t position(std::string_view name, ops::ArgType type) const;
  const ops::OpDescription* op_;
  std::array<std::optional<ArrayArg>, ops::kMaxOpArgs> arrays_{};
  std::array<std::int64_t, ops::kMaxOpArgs> integers_{};
};

// A call whose arguments passed every check, ready to run.
using CheckedOp =
    std::variant<FillCall, FillAsyncCall, OffsetsCall, DsaDecodeCall, DsaTargetVerifyCall, DsaDraftExtendCall>;

CheckedOp check_op(const OpArgs& args);
int device_of(const CheckedOp& call);  // the arrays' device; -1 when none names one
// Runs the call on device (its own, or the front end's choice when it has none) and stream; returns what an op
// whose description returns "Tensor" returns (the blocking fill's total_tokens), nullopt for the others.
std::optional<std::int32_t> run(const CheckedOp& call, int device, CUstream stream);

}  // namespace draftjit::bindings
