#pragma once
// The registry the op families fill: what the JIT core knows of a kernel beyond its sizes. A family (ops/<family>/)
// names its variants, the kernel template and params struct each instantiates, the scans it is built over, the
// names of its switch flags and the rule that says which specs it builds. The core renders, keys, caches, records
// and loads specs through these rows alone and includes nothing of any family.
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "jit/kernel_spec.hpp"

namespace draftjit::jit {

// One kernel template of a family, instantiated over a scan type.
struct KernelVariant {
  const char* name;     // N: its kinds are "N_unrolled", "N_blelloch", or "N" for Scan::None
  std::uint8_t scans;   // the scans it is built over: scan_bit() of each
  const char* entry;    // the extern "C" kernel: its params struct's kEntry
  const char* params;   // that struct, in namespace draftjit_kernels
  const char* header;   // the embedded header that defines the kernel template
  const char* kernel;   // the kernel template, instantiated over the scan type (then the flags, if the family has any)
  int shared_arrays = 0;  // words per scan slot of dynamic shared memory the kernel is launched with
};

struct KernelFamily {
  const char* name;                          // the family's name (ops/<family>/family.cpp), for messages
  std::span<const KernelVariant> variants;
  // Flag bit i's name, as spec names spell it (".paged"). A family with flags passes them to its kernel template
  // after the scan type, and its manifest lines carry them.
  std::span<const char* const> flag_names;
  // Why no tuning makes this spec of the family ("bs must be in [0, 32]"), or nullopt when some tuning does. Called
  // with a spec whose family, variant and scan are the family's.
  std::optional<std::string> (*unbuildable)(const KernelSpec& spec);
  bool has_flags() const { return !flag_names.empty(); }
};

inline constexpr std::size_t kMaxFamilies = 8;  // KernelSpec::id() packs the family in 3 bits,
inline constexpr std::size_t kMaxVariants = 8;  // the variant in 3,
inline constexpr std::size_t kMaxFlags = 8;     // and the flags in 8

constexpr std::uint8_t scan_bit(Scan scan) { return static_cast<std::uint8_t>(1U << static_cast<unsigned>(scan)); }
// A variant built over either scan: the unrolled one up to unroll_max_bs, the Blelloch one above.
inline constexpr std::uint8_t kEitherScan = scan_bit(Scan::Unrolled) | scan_bit(Scan::Blelloch);

// Every family, in the order KernelSpec::family indexes. Defined by the op layer (ops/registry.cpp).
std::span<const KernelFamily* const> kernel_families();

}  // namespace draftjit::jit
