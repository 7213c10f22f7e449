#pragma once
// The op families' kernel families, in the order KernelSpec::family indexes them (jit::kernel_families(), defined
// in ops/registry.cpp; adding a family: its row here and its pointer there), and every op (kOps).
#include <array>
#include <cstdint>

#include "ops/draft_extend/ops.hpp"
#include "ops/dsa/ops.hpp"

namespace draftjit::ops {

enum FamilyIndex : std::uint8_t {
  kDraftExtendFamily,  // ops/draft_extend/
  kDsaFamily,          // ops/dsa/
};

// Every op, in the order op_descriptions() lists them.
inline constexpr std::array kOps = {
    &draft_extend::kFillOp, &draft_extend::kFillAsyncOp, &draft_extend::kOffsetsOp,
    &dsa::kDecodeOp,        &dsa::kTargetVerifyOp,       &dsa::kDraftExtendOp,
};

}  // namespace draftjit::ops
