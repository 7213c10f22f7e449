#pragma once
// Every environment variable draftjit reads, declared once with what it does, and the one function that reads
// them. `draftjit doctor` lists this table; a DRAFTJIT_* variable not in it is reported as a likely typo.
#include <string_view>

namespace draftjit::jit {

struct EnvVariable {
  const char* name;
  const char* what;
};

inline constexpr EnvVariable kEnvVariables[] = {
    {"DRAFTJIT_CACHE_DIR", "the writable disk cache directory"},
    {"DRAFTJIT_CACHE_PATH", "read-only cache layers searched after it, ':'-separated"},
    {"DRAFTJIT_DISABLE_DISK_CACHE", "1, true, yes or on: kernels in memory only"},
    {"DRAFTJIT_CACHE_MAX_BYTES", "bound on the writable cache's entries (K, M, G suffixes); oldest use evicted"},
    {"DRAFTJIT_LOCK", "flock (default; a lock file where flock fails) or file: the cross-process compile lock"},
    {"DRAFTJIT_LOG", "error, warn (default), info or debug: the events logged (stderr; in Python, its logging)"},
    {"DRAFTJIT_DUMP_DIR", "writes the source, PTX, options and NVRTC log of every kernel compiled here"},
    {"DRAFTJIT_JIT", "strict: a compile after freeze() is an error; warn: it is logged; default: allowed"},
    {"DRAFTJIT_RECORD", "appends each kernel this process loads to launch to this manifest (warmup --manifest)"},
    {"DRAFTJIT_NVRTC_OPTIONS", "extra NVRTC options, for experiments (part of every key)"},
    {"DRAFTJIT_NVRTC_LIBRARY", "the libnvrtc to open; nothing else is tried"},
    {"DRAFTJIT_PYTHON_SITE_PACKAGES", "site-packages searched for pip's NVRTC (the Python package sets it)"},
    {"XDG_CACHE_HOME", "the disk cache is $XDG_CACHE_HOME/draftjit when DRAFTJIT_CACHE_DIR is unset"},
    {"HOME", "else ~/.cache/draftjit"},
    {"CUDA_HOME", "a CUDA toolkit searched for NVRTC"},
    {"CUDA_PATH", "a CUDA toolkit searched for NVRTC"},
};

// The variable's value; null when it is unset or empty. name must be one of kEnvVariables (std::logic_error
// otherwise), so the table stays complete. Each variable is read at its first use in a process (the pipeline's
// cache location, the NVRTC search and the NVRTC options are each fixed then), never on a warm call.
const char* env_value(std::string_view name);

}  // namespace draftjit::jit
