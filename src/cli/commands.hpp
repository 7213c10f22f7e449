#pragma once
#include <optional>
#include <string>
#include <vector>

#include "jit/kernel_spec.hpp"
#include "ops/kinds.hpp"
#include "jit/nvrtc/toolchain.hpp"

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

// Every family's switches as bare flags, "--" and the name the family gives it (ops/<family>/: --seq64, --paged).
std::vector<std::string> switch_flags();

// The call kind --kind names (fallback when absent; ops/kinds.hpp) and the bits of the switch flags given, each of
// which must be a switch of that kind's family.
struct KindChoice {
  const ops::CallKind* kind;
  int flags;
};
KindChoice kind_from(const Options& options, const char* fallback);

// The arch of device 0, or an error telling the user to pass --arch.
std::string default_arch();

}  // namespace draftjit::cli
