#include "jit/kernel_spec.hpp"

#include <fmt/format.h>

#include <bit>
#include <stdexcept>

#include "jit/kernel_family.hpp"

namespace draftjit::jit {
namespace {

constexpr const char* scan_suffix(Scan scan) {
  switch (scan) {
    case Scan::Unrolled: return "_unrolled";
    case Scan::Blelloch: return "_blelloch";
    case Scan::None: break;
  }
  return "";
}

constexpr Scan kScans[] = {Scan::Unrolled, Scan::Blelloch, Scan::None};

// The id's fields, low bits first: family 3, variant 3, scan 2, bs 21, log2(slots) 5, log2(chunk) 5, threads 11,
// flags 8 (62 bits).
static_assert(kMaxFamilies <= 1U << 3 && kMaxVariants <= 1U << 3);
static_assert(kMaxSpecBs < 1 << 21);
static_assert(std::countr_zero(static_cast<unsigned>(kMaxSlots)) < 1 << 5);
static_assert(kMaxThreads < 1 << 11);
static_assert(kMaxFlags <= 8);

}  // namespace

const KernelFamily& KernelSpec::family_info() const {
  const std::span<const KernelFamily* const> families = kernel_families();
  if (family >= families.size()) throw std::out_of_range(fmt::format("no kernel family {}", family));
  return *families[family];
}

const KernelVariant& KernelSpec::variant_info() const {
  const std::span<const KernelVariant> variants = family_info().variants;
  if (variant >= variants.size()) throw std::out_of_range(fmt::format("no variant {} in family {}", variant, family));
  return variants[variant];
}

std::string KernelSpec::kind() const { return std::string(variant_info().name) + scan_suffix(scan); }

std::string KernelSpec::name() const {
  std::string text;
  switch (scan) {
    case Scan::Unrolled: text = fmt::format("{}.bs{}.t{}", kind(), bs, threads); break;
    case Scan::Blelloch: text = fmt::format("{}.s{}.c{}.t{}", kind(), slots, chunk, threads); break;
    case Scan::None: text = fmt::format("{}.t{}", kind(), threads); break;
  }
  const std::span<const char* const> flag_names = family_info().flag_names;
  for (std::size_t bit = 0; bit < flag_names.size(); ++bit) {
    if ((flags & (1 << bit)) != 0) fmt::format_to(std::back_inserter(text), ".{}", flag_names[bit]);
  }
  return text;
}

std::uint64_t KernelSpec::id() const {
  return static_cast<std::uint64_t>(family) | static_cast<std::uint64_t>(variant) << 3 |
         static_cast<std::uint64_t>(scan) << 6 | static_cast<std::uint64_t>(bs) << 8 |
         static_cast<std::uint64_t>(std::countr_zero(static_cast<unsigned>(slots))) << 29 |
         static_cast<std::uint64_t>(std::countr_zero(static_cast<unsigned>(chunk))) << 34 |
         static_cast<std::uint64_t>(threads) << 39 | static_cast<std::uint64_t>(flags) << 50;
}

unsigned KernelSpec::dynamic_shared_bytes() const {
  return static_cast<unsigned>(static_cast<std::size_t>(variant_info().shared_arrays) *
                               static_cast<std::size_t>(slots) * sizeof(unsigned));
}

int next_pow2(int n) { return static_cast<int>(std::bit_ceil(static_cast<unsigned>(std::max(n, 1)))); }
bool is_pow2(int n) { return n > 0 && std::has_single_bit(static_cast<unsigned>(n)); }
bool is_block(int threads) { return threads >= kWarpThreads && threads <= kMaxThreads && threads % kWarpThreads == 0; }
bool is_pow2_block(int threads) { return is_block(threads) && is_pow2(threads); }

std::optional<KernelSpec> spec_of_kind(std::string_view kind) {
  const std::span<const KernelFamily* const> families = kernel_families();
  for (std::size_t f = 0; f < families.size(); ++f) {
    for (std::size_t v = 0; v < families[f]->variants.size(); ++v) {
      const KernelVariant& variant = families[f]->variants[v];
      for (const Scan scan : kScans) {
        if ((variant.scans & scan_bit(scan)) == 0) continue;
        if (kind == std::string(variant.name) + scan_suffix(scan)) {
          KernelSpec spec;
          spec.family = static_cast<std::uint8_t>(f);
          spec.variant = static_cast<std::uint8_t>(v);
          spec.scan = scan;
          return spec;
        }
      }
    }
  }
  return std::nullopt;
}

std::vector<std::string> kind_names() {
  std::vector<std::string> names;
  for (const KernelFamily* family : kernel_families()) {
    for (const KernelVariant& variant : family->variants) {
      for (const Scan scan : kScans) {
        if ((variant.scans & scan_bit(scan)) != 0) names.push_back(std::string(variant.name) + scan_suffix(scan));
      }
    }
  }
  return names;
}

void check_spec_is_buildable(const KernelSpec& spec) {
  const KernelFamily& family = spec.family_info();
  if ((spec.variant_info().scans & scan_bit(spec.scan)) == 0) {
    throw std::invalid_argument(fmt::format("{} has no kernel of scan {}", spec.variant_info().name,
                                            static_cast<int>(spec.scan)));
  }
  std::string fields = fmt::format("bs={} slots={} chunk={} threads={}", spec.bs, spec.slots, spec.chunk,
                                   spec.threads);
  if (spec.flags != 0 || family.has_flags()) fmt::format_to(std::back_inserter(fields), " flags={}", spec.flags);
  std::optional<std::string> rule;
  if (!family.has_flags() && spec.flags != 0) {
    rule = fmt::format("flags must be 0 (the {} family has no switches)", family.name);
  } else if (spec.flags < 0 || spec.flags >= 1 << family.flag_names.size()) {
    rule = fmt::format("flags must be bits of the {} family's {} switches", family.name, family.flag_names.size());
  } else {
    rule = family.unbuildable(spec);
  }
  if (rule) throw std::invalid_argument(fmt::format("no tuning makes this {} kernel: {}: {}", spec.kind(), fields, *rule));
}

}  // namespace draftjit::jit
