#pragma once
// The kinds of call users name (the CLI's --kind, Python's kind=): each is the kernels one call of an op launches
// for a bs and the family's switches. The one list behind emit, warmup and prepare in every front end.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "draftjit/tuning.hpp"
#include "jit/kernel_spec.hpp"

namespace draftjit::ops {

struct CallKind {
  const char* name;     // "main", "dsa-decode"
  const char* summary;  // what a call of this kind is, for help texts
  std::uint8_t family;  // whose switches (flag names) the kind takes
  int switches = 0;     // which of them: the family's flag bits a call of this kind has
  // The kernels a call with this bs and these switch flags launches, the main one first. Throws
  // std::invalid_argument for a bs outside the family's range or a switch the call does not have.
  std::vector<jit::KernelSpec> (*plan)(std::int64_t bs, int flags, const Tuning& tuning);
};

// Every family's kinds, in the registry's family order (defined in ops/registry.cpp).
std::span<const CallKind> call_kinds();
// Throws std::invalid_argument naming every kind for a name that is none of them.
const CallKind& call_kind_named(std::string_view name);
std::string call_kind_names();  // "main, fused, scan, fill, dsa-decode, dsa-verify, dsa-extend"

// The kind's switches' names ("seq64", ...), in bit order.
std::vector<const char*> switch_names(const CallKind& kind);
// The kind's switch flags named so ("paged"): their bits, or std::invalid_argument naming the kind's switches.
int flags_named(const CallKind& kind, std::span<const std::string> names);

// The distinct kernels calls of this kind with these batch sizes and switches launch, in first-use order.
std::vector<jit::KernelSpec> kernels_for(const CallKind& kind, std::span<const std::int64_t> bs_list, int flags,
                                         const Tuning& tuning);

}  // namespace draftjit::ops
