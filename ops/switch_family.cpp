#include "ops/switch_family.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <stdexcept>

namespace draftjit::ops {

void SwitchFamily::check_bs(std::int64_t bs, std::string_view call) const {
  if (bs < 0 || bs > max_bs) throw std::invalid_argument(fmt::format("{}: {}", call, out_of_range("bs", bs, max_bs)));
}

std::optional<std::string> SwitchFamily::misfit(std::size_t op, int flags) const {
  if (const int extra = flags & ~op_switches[op]; extra != 0) {
    return fmt::format("the {} switch is not {}'s", flag_names[std::countr_zero(static_cast<unsigned>(extra))],
                       ops[op]->name);
  }
  return conflict != nullptr ? conflict(flags) : std::nullopt;
}

std::optional<std::string> SwitchFamily::unbuildable(const jit::KernelSpec& spec) const {
  if (spec.variant >= ops.size()) return std::string("no such variant");
  if (auto why = misfit(spec.variant, spec.flags)) return why;
  if (spec.bs != 0 || spec.slots != 1 || spec.chunk != 1) return std::string("bs must be 0, slots and chunk 1");
  if (spec.threads != threads) return fmt::format("threads must be {}", threads);
  return std::nullopt;
}

jit::KernelSpec SwitchFamily::spec_of(std::size_t op, int flags) const {
  if (auto why = misfit(op, flags)) throw std::invalid_argument(fmt::format("{}_spec: {}", name, *why));
  jit::KernelSpec spec;
  spec.family = family;
  spec.variant = static_cast<std::uint8_t>(op);
  spec.threads = threads;
  spec.flags = flags;
  return spec;
}

jit::KernelSpec SwitchFamily::spec_of(const OpDescription& op, int flags) const {
  const auto at = std::find(ops.begin(), ops.end(), &op);
  if (at == ops.end()) throw std::invalid_argument(fmt::format("{}_spec: {} is not the family's", name, op.name));
  return spec_of(static_cast<std::size_t>(at - ops.begin()), flags);
}

std::vector<jit::KernelSpec> SwitchFamily::plan(std::size_t op, std::int64_t bs, int flags,
                                                std::string_view kind) const {
  check_bs(bs, fmt::format("the {} kind", kind));
  return {spec_of(op, flags)};
}

}  // namespace draftjit::ops
