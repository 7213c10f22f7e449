#include "ops/registry.hpp"

#include <array>

#include "jit/kernel_family.hpp"
#include "ops/draft_extend/family.hpp"
#include "ops/dsa/family.hpp"
#include "ops/op_description.hpp"

namespace draftjit::jit {

std::span<const KernelFamily* const> kernel_families() {
  static constexpr std::array<const KernelFamily*, 2> kFamilies = {&ops::draft_extend::kFamily, &ops::dsa::kFamily};
  static_assert(kFamilies.size() <= kMaxFamilies);
  return kFamilies;
}

}  // namespace draftjit::jit

namespace draftjit::ops {

std::span<const OpDescription* const> op_descriptions() { return kOps; }

const OpDescription* op_named(std::string_view name) {
  for (const OpDescription* op : op_descriptions()) {
    if (name == op->name) return op;
  }
  return nullptr;
}

}  // namespace draftjit::ops
