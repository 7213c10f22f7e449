#pragma once
// The op families' kernel families, in the order KernelSpec::family indexes them (jit::kernel_families(), defined
// in ops/registry.cpp). Adding a family: its row here and its pointer there.
#include <cstdint>

namespace draftjit::ops {

enum FamilyIndex : std::uint8_t {
  kDraftExtendFamily,  // ops/draft_extend/
  kDsaFamily,          // ops/dsa/
};

}  // namespace draftjit::ops
