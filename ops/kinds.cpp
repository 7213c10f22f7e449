#include "ops/kinds.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <set>
#include <stdexcept>

#include "jit/kernel_family.hpp"
#include "ops/draft_extend/family.hpp"
#include "ops/dsa/family.hpp"
#include "ops/registry.hpp"
#include "templates/kernel_params.cuh"

namespace draftjit::ops {
namespace {

using Specs = std::vector<jit::KernelSpec>;

// Checks what every draft-extend kind checks first: bs, then that no switch was given.
int draft_extend_bs(std::int64_t bs, int flags, const char* kind) {
  draft_extend::check_bs(bs, kind);
  if (flags != 0) throw std::invalid_argument(fmt::format("the {} kind takes no switches", kind));
  return static_cast<int>(bs);
}

template <DsaMode mode>
Specs dsa_plan(std::int64_t bs, int flags, const Tuning& tuning) {
  dsa::check_bs(bs, "the DSA kinds");
  return {dsa::spec_for(mode, static_cast<int>(bs), dsa::switches_of(flags), tuning)};
}

namespace k = draftjit_kernels;
// The switches every DSA mode has, and those one mode adds.
constexpr int kDsaSwitches = k::kDsaSeqLens64 | k::kDsaPoolIndices32 | k::kDsaPaged | k::kDsaKpool | k::kDsaRealOnly;

constexpr std::array<CallKind, 7> kKinds = {{
    {"main", "draft extend: the fused kernel, or the scan then the fill", kDraftExtendFamily, 0,
     [](std::int64_t bs, int flags, const Tuning& t) {
       const draft_extend::CallPlan plan = draft_extend::call_plan(draft_extend_bs(bs, flags, "main"), t);
       return plan.fill ? Specs{plan.main, *plan.fill} : Specs{plan.main};
     }},
    {"fused", "draft extend's one-launch kernel", kDraftExtendFamily, 0,
     [](std::int64_t bs, int flags, const Tuning& t) {
       return Specs{draft_extend::fused_spec(draft_extend_bs(bs, flags, "fused"), t)};
     }},
    {"scan", "the prefix sum (exclusive_offsets; draft extend past fused_max_bs)", kDraftExtendFamily, 0,
     [](std::int64_t bs, int flags, const Tuning& t) {
       return Specs{draft_extend::scan_spec(draft_extend_bs(bs, flags, "scan"), t)};
     }},
    {"fill", "the fill behind the scan", kDraftExtendFamily, 0,
     [](std::int64_t bs, int flags, const Tuning& t) {
       draft_extend_bs(bs, flags, "fill");
       return Specs{draft_extend::fill_spec(t)};
     }},
    {"dsa-decode", "the DSA decode metadata step", kDsaFamily, kDsaSwitches, &dsa_plan<DsaMode::Decode>},
    {"dsa-verify", "the DSA target-verify metadata step", kDsaFamily, kDsaSwitches | k::kDsaCtxLens2d,
     &dsa_plan<DsaMode::TargetVerify>},
    {"dsa-extend", "the DSA draft-extend metadata step", kDsaFamily,
     kDsaSwitches | k::kDsaExtend64 | k::kDsaStaticExtend, &dsa_plan<DsaMode::DraftExtend>},
}};

}  // namespace

std::span<const CallKind> call_kinds() { return kKinds; }

std::string call_kind_names() {
  std::vector<const char*> names;
  for (const CallKind& kind : kKinds) names.push_back(kind.name);
  return fmt::format("{}", fmt::join(names, ", "));
}

const CallKind& call_kind_named(std::string_view name) {
  for (const CallKind& kind : kKinds) {
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
