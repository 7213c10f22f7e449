#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "draftjit/dsa.hpp"
#include "draftjit/tuning.hpp"

namespace draftjit::jit {

inline constexpr int kMaxSlots = 8192;    // shared-memory scan slots of one block (32 KiB)
inline constexpr int kMaxThreads = 1024;  // threads of one block

enum class KernelKind : std::uint8_t {
  ScanUnrolled,
  ScanBlelloch,
  FusedUnrolled,
  FusedBlelloch,
  Fill,
  DsaDecodeUnrolled,
  DsaDecodeBlelloch,
  DsaTargetVerifyUnrolled,
  DsaTargetVerifyBlelloch,
  DsaDraftExtendUnrolled,
  DsaDraftExtendBlelloch,
};

// How a kind scans: which scan type of templates/ its kernel template is instantiated over.
enum class Scan : std::uint8_t {
  Unrolled,  // UnrolledScan<bs, slots, threads>: sequential, specialised for exactly bs (templates/unrolled_scan.cuh)
  Blelloch,  // BlellochScan<slots, chunk, threads> over power-of-two slots (templates/blelloch_scan.cuh)
  None,      // the fill reads offsets a scan wrote
};

// Everything about a kind, in one row per kind (kernel_kinds() in kernel_spec.cpp).
struct KindInfo {
  KernelKind kind;
  const char* name;      // "fused_unrolled", part of file names and keys
  const char* entry;     // the extern "C" kernel: its params struct's kEntry (templates/kernel_params.cuh)
  const char* params;    // that struct, "FusedParams"
  Scan scan;
  const char* header;    // the header of templates/ that defines the kernel template
  const char* kernel;    // the kernel template, instantiated over the scan type ("fused_kernel")
  // DSA kinds: the kernel template takes the switches (KernelSpec::flags) after the scan type, and keeps this many
  // words per scan slot in dynamic shared memory (templates/kernel_params.cuh, kDsa*SharedArrays). 0 otherwise.
  int shared_arrays = 0;
  bool dsa() const { return shared_arrays > 0; }
};
const KindInfo& kind_info(KernelKind kind);
std::span<const KindInfo> kernel_kinds();  // every row, in KernelKind order

// One specialisation: everything baked into one rendered kernel except the target toolchain.
struct KernelSpec {
  KernelKind kind = KernelKind::Fill;
  int bs = 0;       // unrolled kinds: the exact batch size; 0 otherwise (bs is a launch argument)
  int slots = 1;    // shared-memory scan slots, a power of two
  int chunk = 1;    // extend lengths per slot, a power of two
  int threads = 1;  // block size
  int flags = 0;    // DSA kinds: their switches, kDsa* bits of templates/kernel_params.cuh; 0 otherwise

  const KindInfo& info() const { return kind_info(kind); }
  // Bytes of dynamic shared memory the kernel is launched with (DSA kinds: their arrays of slots words).
  unsigned dynamic_shared_bytes() const;
  std::string name() const;  // "fused_unrolled.bs5.t128", "dsa_draft_extend_blelloch.s256.t256.paged": part of file names
  std::uint64_t id() const;  // packs every field; the runtime's per-context lookup key
  friend bool operator==(const KernelSpec&, const KernelSpec&) = default;
};

int next_pow2(int n);  // smallest power of two >= max(n, 1)

// Throws std::invalid_argument naming the limit when bs is outside [0, kMaxBs].
void check_bs(std::int64_t bs, std::string_view call);
// The same for the DSA calls' [0, kMaxDsaBs]: "<call>: bs = N is outside the supported range [0, 8192]".
void check_dsa_bs(std::int64_t bs, std::string_view call);

bool fits_fused(int bs, const Tuning& tuning);
KernelSpec scan_spec(int bs, const Tuning& tuning);   // the standalone prefix sum (bs + 1 outputs)
KernelSpec fused_spec(int bs, const Tuning& tuning);  // requires fits_fused
KernelSpec fill_spec(const Tuning& tuning);           // second kernel of the two-kernel path

// Throws std::invalid_argument ("no tuning makes this <kind> kernel: <fields>: <rule>") unless the constructors above
// make spec under some valid Tuning: bs within the kind's range (the exact bs of an unrolled kind, up to kMaxUnrollBs,
// and kMaxFusedBs for the fused one; 0 otherwise), slots and chunk as blelloch() lays out next_pow2(bs) lengths
// (powers of two within kMaxSlots and what kMaxBs or kMaxFusedBs needs), threads within the kind's block sizes. For
// specs that come from outside (a manifest's line): one outside these would render a kernel nobody tested.
void check_spec_is_buildable(const KernelSpec& spec);

// The kernels a call with this bs launches, decided once: for draft extend the fused kernel alone, or the scan then
// the fill; for exclusive_offsets the scan alone.
struct CallPlan {
  KernelSpec main;                 // the fused kernel, or the scan
  std::optional<KernelSpec> fill;  // set on the two-kernel path
  bool single_launch() const { return !fill.has_value(); }  // main writes every result; nothing follows it
};
CallPlan call_plan(int bs, const Tuning& tuning);     // draft extend
CallPlan offsets_plan(int bs, const Tuning& tuning);  // exclusive_offsets

// The DSA kernel a call of this mode, bs and switches launches (Tuning::unroll_max_bs picks the scan,
// Tuning::dsa_threads the block size). Throws std::invalid_argument for bs outside [0, kMaxDsaBs] or a switch the
// mode does not have (paged_mqa_ctx_lens_2d outside target verify).
KernelSpec dsa_spec(DsaMode mode, int bs, const DsaSwitches& switches, const Tuning& tuning);

// "dsa-decode", "dsa-verify", "dsa-extend": the names the CLI gives the modes; nullopt for any other name.
std::optional<DsaMode> dsa_mode_named(std::string_view name);

// The distinct DSA kernels that calls of this mode and switches with these batch sizes launch.
std::vector<KernelSpec> dsa_kernels_for(DsaMode mode, const std::vector<int>& bs_list, const DsaSwitches& switches,
                                        const Tuning& tuning);

// The spec a call uses for bs, by the name users give it: "main" (the fused kernel, or the scan past
// fused_max_bs), "fused", "scan" or "fill". Throws std::invalid_argument for any other name.
KernelSpec spec_for_call(std::string_view kind, int bs, const Tuning& tuning);

// The distinct kernels that calls with these batch sizes launch: large bs share power-of-two kernels, so 1..1024
// needs only unroll_max_bs + log2(1024 / unroll_max_bs) of them (37 with the default tuning).
std::vector<KernelSpec> kernels_for(const std::vector<int>& bs_list, const Tuning& tuning);

}  // namespace draftjit::jit
