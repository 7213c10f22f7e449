#include "ops/registry.hpp"

#include <array>
#include <vector>

#include "jit/kernel_family.hpp"
#include "ops/draft_extend/family.hpp"
#include "ops/dsa/family.hpp"
#include "ops/eagle/family.hpp"
#include "ops/fa3/family.hpp"
#include "ops/kinds.hpp"
#include "ops/kv_indices/family.hpp"
#include "ops/op_description.hpp"
#include "ops/trtllm_mha/family.hpp"

namespace draftjit::jit {

std::span<const KernelFamily* const> kernel_families() {
  static constexpr std::array<const KernelFamily*, 6> kFamilies = {&ops::draft_extend::kFamily, &ops::dsa::kFamily,
                                                                   &ops::trtllm_mha::kFamily, &ops::fa3::kFamily,
                                                                   &ops::eagle::kFamily, &ops::kv_indices::kFamily};
  static_assert(kFamilies.size() <= kMaxFamilies);
  return kFamilies;
}

}  // namespace draftjit::jit

namespace draftjit::ops {

std::span<const OpDescription* const> op_descriptions() { return kOps; }

std::span<const CallKind> call_kinds() {
  static const std::vector<CallKind> kKinds = [] {  // built once, never changed
    std::vector<CallKind> kinds;
    for (const std::span<const CallKind> family : {draft_extend::kinds(), dsa::kinds(), trtllm_mha::kinds(),
                                                          fa3::kinds(), eagle::kinds(), kv_indices::kinds()}) {
      kinds.insert(kinds.end(), family.begin(), family.end());
    }
    return kinds;
  }();
  return kKinds;
}

const OpDescription* op_named(std::string_view name) {
  for (const OpDescription* op : op_descriptions()) {
    if (name == op->name) return op;
  }
  return nullptr;
}

}  // namespace draftjit::ops
