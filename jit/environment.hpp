#pragma once
// Every environment variable draftjit reads, declared once with what it does and the form of its value, and the
// functions that read them. `draftjit doctor` lists this table, fails on a value its variable's rule refuses, and
// reports a DRAFTJIT_* variable not in it as a likely typo.
//
// One rule for every variable that takes a word or a size (docs/DESIGN.md, "Environment values"): blanks around
// the value and its case do not matter; an empty value is unset; any other value is an error at the variable's
// first use (and at the first use of the process pipeline, which checks them all), never a guess: a safety switch
// such as DRAFTJIT_JIT=strict must not fail open for a typo. Paths and option lists are taken as they are.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace draftjit::jit {

enum class EnvForm : std::uint8_t {
  Text,   // a path, a list of paths or of options: taken as it is
  Words,  // one of EnvVariable::words
  Size,   // a byte size: parse_byte_size (jit/cache/cache_prune.hpp)
};

struct EnvVariable {
  const char* name;
  const char* what;
  EnvForm form = EnvForm::Text;
  const char* words = nullptr;  // Words: the values, lower case, ", "-separated
};

inline constexpr EnvVariable kEnvVariables[] = {
    {"DRAFTJIT_CACHE_DIR", "the writable disk cache directory"},
    {"DRAFTJIT_CACHE_PATH", "read-only cache layers searched after it, ':'-separated"},
    {"DRAFTJIT_DISABLE_DISK_CACHE", "1, true, yes or on: kernels in memory only; 0, false, no or off: the default",
     EnvForm::Words, "1, true, yes, on, 0, false, no, off"},
    {"DRAFTJIT_CACHE_MAX_BYTES", "bound on the writable cache's entries (512M, 2G, 2GB, 2GiB); oldest use evicted",
     EnvForm::Size},
    {"DRAFTJIT_LOCK", "flock (default; a lock file where flock fails) or file: the cross-process compile lock",
     EnvForm::Words, "flock, file"},
    {"DRAFTJIT_LOG", "error, warn (default), info or debug: the events logged (stderr; in Python, its logging)",
     EnvForm::Words, "error, warn, info, debug"},
    {"DRAFTJIT_DUMP_DIR", "writes the source, PTX, options and NVRTC log of every kernel compiled here"},
    {"DRAFTJIT_JIT", "strict: a compile after freeze() is an error; warn: it is logged; allow (default): allowed",
     EnvForm::Words, "strict, warn, allow"},
    {"DRAFTJIT_RECORD", "appends each kernel this process loads to launch to this manifest (warmup --manifest)"},
    {"DRAFTJIT_NVRTC_OPTIONS", "extra NVRTC options, for experiments (part of every key)"},
    {"DRAFTJIT_NVRTC_LIBRARY", "the libnvrtc to open; nothing else is tried"},
    {"DRAFTJIT_PYTHON_SITE_PACKAGES", "site-packages searched for pip's NVRTC (the Python package sets it)"},
    {"XDG_CACHE_HOME", "the disk cache is $XDG_CACHE_HOME/draftjit when DRAFTJIT_CACHE_DIR is unset"},
    {"HOME", "else ~/.cache/draftjit"},
    {"CUDA_HOME", "a CUDA toolkit searched for NVRTC"},
    {"CUDA_PATH", "a CUDA toolkit searched for NVRTC"},
};

// The variable's value as it is; null when it is unset or empty. name must be one of kEnvVariables (std::logic_error
// otherwise), so the table stays complete. Each variable is read at its first use in a process (the pipeline's
// cache location, the NVRTC search and the NVRTC options are each fixed then), never on a warm call.
const char* env_value(std::string_view name);

// A Words variable's value under the rule above: the declared word it is (a view of kEnvVariables' text), nullopt
// when value is null or blank. Throws std::invalid_argument naming the variable, the value and the words.
std::optional<std::string_view> parse_env_word(std::string_view name, const char* value);
// A Size variable's value in bytes under the rule above; nullopt when null or blank; std::invalid_argument else.
std::optional<std::uint64_t> parse_env_size(std::string_view name, const char* value);
// The same, of the variable's value in the environment.
std::optional<std::string_view> env_word(std::string_view name);
std::optional<std::uint64_t> env_size(std::string_view name);

// What is wrong with each set variable whose value its rule refuses, one message each (empty: nothing).
std::vector<std::string> env_problems();
// Throws std::invalid_argument holding env_problems() when there are any. The process pipeline calls it when it is
// made, so that no draftjit work runs under a value that was meant as something else.
void check_environment();

}  // namespace draftjit::jit
