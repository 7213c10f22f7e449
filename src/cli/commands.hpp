#pragma once
#include <optional>
#include <string>
#include <vector>

#include "jit/kernel_spec.hpp"
#include "jit/toolchain.hpp"

namespace draftjit::cli {

using Args = std::vector<std::string>;

// Each returns the process exit code; usage errors throw std::invalid_argument.
int run_emit(const Args& args);
int run_warmup(const Args& args);
int run_cache(const Args& args);
int run_doctor(const Args& args);  // 0 when draftjit can work here, else 1

// "1-8,16,32-34" -> {1..8, 16, 32, 33, 34}, sorted and unique. Throws std::invalid_argument naming the bad part.
std::vector<int> parse_bs_list(const std::string& text);
// "sm_90,sm_100" -> one validated toolchain per arch.
std::vector<jit::Toolchain> parse_toolchains(const std::string& text);

// Reads `--name value` pairs and bare `--flag`s; rejects anything else.
class Options {
 public:
  Options(const Args& args, const std::vector<std::string>& valued, const std::vector<std::string>& flags);
  bool has(const std::string& name) const;
  std::string get(const std::string& name, const std::string& fallback) const;
  int get_int(const std::string& name, int fallback) const;

 private:
  std::vector<std::pair<std::string, std::string>> values_;
};

// --unroll-max and --fused-max over the default tuning, validated.
Tuning tuning_from(const Options& options);

// The DSA kernel switches as bare flags: --seq64 (int64 seq_lens), --pool32 (int32 req_pool_indices), --paged
// (real_page_size > 1), --kpool (index_kpool > 1), --ctx2d (target verify's paged_mqa_ctx_lens_2d).
extern const std::vector<std::string> kDsaSwitchFlags;
DsaSwitches dsa_switches_from(const Options& options);

// What --kind names among the DSA modes (dsa-decode, dsa-verify, dsa-extend); nullopt for the draft-extend kernels'
// kinds. Switch flags without a DSA kind are refused.
std::optional<DsaMode> dsa_mode_from(const Options& options);

// The arch of device 0, or an error telling the user to pass --arch.
std::string default_arch();

}  // namespace draftjit::cli
