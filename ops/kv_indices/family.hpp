#pragma once
// The KV index builders' kernels (include/draftjit/kv_indices.hpp): one kernel template per op, specialised by the
// switches alone (the family's kKv* flags); bs, lengths, widths, strides and the entry or page size are launch
// arguments. The declarations name no op: a new op of the family adds its rows in family.cpp and ops.hpp only.
#include <cstdint>
#include <span>
#include <string_view>

#include "jit/kernel_family.hpp"
#include "ops/kinds.hpp"
#include "ops/op_description.hpp"

namespace draftjit::ops::kv_indices {

extern const jit::KernelFamily kFamily;

// Throws std::invalid_argument "<call>: bs = N is outside the supported range [0, kMaxKvIndicesBs]".
void check_bs(std::int64_t bs, std::string_view call);

// The kernel of `op` (one of ops.hpp's kOps) with these kKv* switch flags. Throws std::invalid_argument for flags no
// call of the op has.
jit::KernelSpec spec_for(const OpDescription& op, int flags);

// The family's call kinds (ops/kinds.hpp), one per op, with their switches.
std::span<const CallKind> kinds();

}  // namespace draftjit::ops::kv_indices
