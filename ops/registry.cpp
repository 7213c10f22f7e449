#include "ops/registry.hpp"

#include <array>

#include "jit/kernel_family.hpp"
#include "ops/draft_extend/family.hpp"
#include "ops/dsa/family.hpp"

namespace draftjit::jit {

std::span<const KernelFamily* const> kernel_families() {
  static constexpr std::array<const KernelFamily*, 2> kFamilies = {&ops::draft_extend::kFamily, &ops::dsa::kFamily};
  static_assert(kFamilies.size() <= kMaxFamilies);
  return kFamilies;
}

}  // namespace draftjit::jit
