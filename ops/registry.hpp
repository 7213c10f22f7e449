#pragma once
// The op families' kernel families, in the order KernelSpec::family indexes them (jit::kernel_families(), defined
// in ops/registry.cpp; adding a family: its row here and its op lists in kOps and kApiOps, its pointer and its call
// kinds there), and every op (kOps), joined from the families' own lists, and those of them the bindings call
// generically (kApiOps).
#include <array>
#include <cstddef>
#include <cstdint>
#include <tuple>

#include "ops/draft_extend/ops.hpp"
#include "ops/dsa/ops.hpp"
#include "ops/eagle/ops.hpp"
#include "ops/fa3/ops.hpp"
#include "ops/kv_indices/ops.hpp"
#include "ops/trtllm_mha/ops.hpp"

namespace draftjit::ops {

enum FamilyIndex : std::uint8_t {
  kDraftExtendFamily,  // ops/draft_extend/
  kDsaFamily,          // ops/dsa/
  kTrtllmMhaFamily,    // ops/trtllm_mha/
  kFa3Family,          // ops/fa3/
  kEagleFamily,        // ops/eagle/
  kKvIndicesFamily,    // ops/kv_indices/
};

// The families' op lists, one after the other, at compile time (the torch library instantiates one boxed kernel per
// entry).
template <std::size_t... N>
constexpr std::array<const OpDescription*, (N + ...)> join_ops(const std::array<const OpDescription*, N>&... lists) {
  std::array<const OpDescription*, (N + ...)> all{};
  std::size_t at = 0;
  const auto append = [&](const auto& list) {
    for (const OpDescription* op : list) all[at++] = op;
  };
  (append(lists), ...);
  return all;
}

// Every op, in the order op_descriptions() lists them.
inline constexpr std::array kOps =
    join_ops(draft_extend::kOps, dsa::kOps, trtllm_mha::kOps, fa3::kOps, eagle::kOps, kv_indices::kOps);
// The ops the bindings call with no code of their own (ops/api_op.hpp): the families' kApiOps.
inline constexpr std::tuple kApiOps =
    std::tuple_cat(dsa::kApiOps, trtllm_mha::kApiOps, fa3::kApiOps, eagle::kApiOps, kv_indices::kApiOps);

}  // namespace draftjit::ops
