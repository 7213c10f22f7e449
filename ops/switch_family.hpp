#pragma once
// The rules of a family whose kernels are specialised by their op and switches alone (TRTLLM, EAGLE, FA3): op i of
// the family's list builds variant i, each op takes its own switch bits, one block size serves every call, and no bs
// enters the spec. From these, once for every such family: its spec constructor, its buildability rule (what a
// manifest line must name), its bs check and its kinds' plans.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "draftjit/tuning.hpp"
#include "jit/kernel_spec.hpp"
#include "ops/op_description.hpp"

namespace draftjit::ops {

struct SwitchFamily {
  std::uint8_t family;                        // its FamilyIndex (ops/registry.hpp)
  const char* name;                           // "eagle": spec errors read "eagle_spec: ..."
  std::span<const OpDescription* const> ops;  // op i builds variant i
  std::span<const int> op_switches;           // the flag bits op i's calls have
  std::span<const char* const> flag_names;    // bit i's name
  int threads;                                // the one block size
  std::int64_t max_bs;
  // Rules between the switches of one op (TRTLLM-MHA's q modes), or null: why the flags name no kernel.
  std::optional<std::string> (*conflict)(int flags) = nullptr;

  // Throws std::invalid_argument "<call>: bs = N is outside the supported range [0, max_bs]".
  void check_bs(std::int64_t bs, std::string_view call) const;
  // Why op i (an index into ops) with these flags names no call's kernel, or nullopt.
  std::optional<std::string> misfit(std::size_t op, int flags) const;
  // The family's jit::KernelFamily::unbuildable, for a spec of the family.
  std::optional<std::string> unbuildable(const jit::KernelSpec& spec) const;
  // The kernel of op i, or of the op so described, with these flags: std::invalid_argument where they name none.
  jit::KernelSpec spec_of(std::size_t op, int flags) const;
  jit::KernelSpec spec_of(const OpDescription& op, int flags) const;
  // What a call of op i's kind (named kind) launches: its one kernel for these flags, whatever the bs in range.
  std::vector<jit::KernelSpec> plan(std::size_t op, std::int64_t bs, int flags, std::string_view kind) const;
};

// Op Op's CallKind::plan (ops/kinds.hpp), for a family whose rules are Rules and whose kinds are named KindNames,
// indexed as its ops.
template <const SwitchFamily& Rules, std::size_t Op, const auto& KindNames>
std::vector<jit::KernelSpec> plan_of(std::int64_t bs, int flags, const Tuning&) {
  return Rules.plan(Op, bs, flags, KindNames[Op]);
}

}  // namespace draftjit::ops
