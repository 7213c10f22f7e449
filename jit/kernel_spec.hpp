#pragma once
// One kernel specialisation as the JIT core sees it: a family and one of its variants (jit/kernel_family.hpp, filled
// by ops/), the scan its template is instantiated over, its sizes and its switch flags. Everything baked into one
// rendered kernel except the target toolchain. The op families construct specs (ops/<family>/); the core only names,
// packs, renders and checks them through the registry.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace draftjit::jit {

inline constexpr int kMaxSlots = 8192;    // shared-memory scan slots of one block (32 KiB)
inline constexpr int kMaxThreads = 1024;  // threads of one block
inline constexpr int kWarpThreads = 32;   // the smallest block, and the granule of every block size
inline constexpr int kMaxSpecBs = (1 << 21) - 1;  // KernelSpec::id() packs bs in 21 bits

// Which scan type of templates/ a kernel template is instantiated over.
enum class Scan : std::uint8_t {
  Unrolled,  // UnrolledScan<bs, slots, threads>: sequential, specialised for exactly bs (templates/unrolled_scan.cuh)
  Blelloch,  // BlellochScan<slots, chunk, threads> over power-of-two slots (templates/blelloch_scan.cuh)
  None,      // a kernel that scans nothing (its template takes the block size alone)
};

struct KernelFamily;
struct KernelVariant;

struct KernelSpec {
  std::uint8_t family = 0;   // index into kernel_families()
  std::uint8_t variant = 0;  // index into the family's variants
  Scan scan = Scan::None;
  int bs = 0;       // unrolled scans: the exact batch size; 0 otherwise (bs is a launch argument)
  int slots = 1;    // shared-memory scan slots, a power of two
  int chunk = 1;    // lengths per slot, a power of two
  int threads = 1;  // block size
  int flags = 0;    // the family's switch bits; 0 for a family without flags

  // The registry's rows; a spec with indices outside the registry is a logic error (std::out_of_range).
  const KernelFamily& family_info() const;
  const KernelVariant& variant_info() const;
  std::string kind() const;  // "fused_unrolled": the variant and its scan, as manifests and names spell them
  // Bytes of dynamic shared memory the kernel is launched with (its variant's arrays of slots words).
  unsigned dynamic_shared_bytes() const;
  std::string name() const;  // "<variant>_unrolled.bs5.t128", "<variant>_blelloch.s256.c1.t256.<flag name>"
  std::uint64_t id() const;  // packs every field; the runtime's per-context lookup key
  friend bool operator==(const KernelSpec&, const KernelSpec&) = default;
};

int next_pow2(int n);  // smallest power of two >= max(n, 1)
bool is_pow2(int n);
bool is_block(int threads);       // a multiple of 32 in [32, kMaxThreads]
bool is_pow2_block(int threads);  // and a power of two

// The family, variant and scan of the kind so named ("<variant>", "<variant>_unrolled"), the other fields defaulted;
// nullopt for a name no family has.
std::optional<KernelSpec> spec_of_kind(std::string_view kind);
std::vector<std::string> kind_names();  // every kind of every family, in registry order

// Throws std::invalid_argument ("no tuning makes this <kind> kernel: <fields>: <rule>") unless the spec's family
// makes it under some valid tuning. For specs that come from outside (a manifest's line): one outside these would
// render a kernel nobody tested.
void check_spec_is_buildable(const KernelSpec& spec);

}  // namespace draftjit::jit
