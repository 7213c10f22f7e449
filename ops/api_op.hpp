#pragma once
// An op the front ends bind with no code of their own (python/src/bindings/op_call.cpp): its description, the C++
// API call it makes, and, found by argument-dependent lookup, `bind_fields(Args&, Fields&)` next to the op, which
// names each field of the call's Args struct after the argument of the description it comes from, and takes the
// row capacity the per-row arrays hold: the one place where an argument meets its field.
#include <cuda.h>

#include <array>
#include <tuple>

#include "ops/op_description.hpp"

namespace draftjit::ops {

template <class Args>
struct ApiOp {
  using ArgsType = Args;
  const OpDescription* op;
  void (*call)(const Args&, CUstream);  // the API call with its default Tuning, where it takes one
};

// The descriptions of a family's ApiOps, in order, as the registry joins the families' op lists.
template <class... Args>
constexpr std::array<const OpDescription*, sizeof...(Args)> descriptions_of(const std::tuple<ApiOp<Args>...>& ops) {
  return std::apply([](const auto&... op) { return std::array<const OpDescription*, sizeof...(Args)>{op.op...}; },
                    ops);
}

}  // namespace draftjit::ops
