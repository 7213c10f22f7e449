#include "ops/kinds.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <set>
#include <stdexcept>

#include "jit/kernel_family.hpp"

namespace draftjit::ops {
std::string call_kind_names() {
  std::vector<const char*> names;
  for (const CallKind& kind : call_kinds()) names.push_back(kind.name);
  return fmt::format("{}", fmt::join(names, ", "));
}

const CallKind& call_kind_named(std::string_view name) {
  for (const CallKind& kind : call_kinds()) {
    if (name == kind.name) return kind;
  }
  throw std::invalid_argument(fmt::format("kind must be one of {}, not '{}'", call_kind_names(), name));
}

std::vector<const char*> switch_names(const CallKind& kind) {
  const std::span<const char* const> flag_names = jit::kernel_families()[kind.family]->flag_names;
  std::vector<const char*> names;
  for (std::size_t bit = 0; bit < flag_names.size(); ++bit) {
    if ((kind.switches & (1 << bit)) != 0) names.push_back(flag_names[bit]);
  }
  return names;
}

int flags_named(const CallKind& kind, std::span<const std::string> names) {
  const std::span<const char* const> flag_names = jit::kernel_families()[kind.family]->flag_names;
  int flags = 0;
  for (const std::string& name : names) {
    const int count = static_cast<int>(flag_names.size());
    int bit = 0;
    while (bit < count && !((kind.switches & (1 << bit)) != 0 && name == flag_names[bit])) ++bit;
    if (bit == count) {
      throw std::invalid_argument(
          kind.switches == 0 ? fmt::format("the {} kind takes no switches, not '{}'", kind.name, name)
                             : fmt::format("the {} kind's switches are {}, not '{}'", kind.name,
                                           fmt::join(switch_names(kind), ", "), name));
    }
    flags |= 1 << bit;
  }
  return flags;
}

std::vector<jit::KernelSpec> kernels_for(const CallKind& kind, std::span<const std::int64_t> bs_list, int flags,
                                         const Tuning& tuning) {
  std::vector<jit::KernelSpec> specs;
  std::set<std::uint64_t> seen;
  for (const std::int64_t bs : bs_list) {
    for (const jit::KernelSpec& spec : kind.plan(bs, flags, tuning)) {
      if (seen.insert(spec.id()).second) specs.push_back(spec);
    }
  }
  return specs;
}

}  // namespace draftjit::ops
