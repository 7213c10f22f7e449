#!/usr/bin/env bash
# clang-tidy over every C++ source of the library, the CLI and the Python module, with the checks of .clang-tidy
# (bugprone, concurrency, cert) as errors: exits non-zero on any finding. Needs build/compile_commands.json
# (tools/build.sh writes it). tools/test.sh runs it, so CI does.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
tidy=$(command -v clang-tidy || command -v clang-tidy-14 || true)
if [ -z "$tidy" ]; then echo "tools/tidy.sh: clang-tidy not found (tools/install-deps.sh installs it)" >&2; exit 1; fi
[ -f build/compile_commands.json ] || { echo "tools/tidy.sh: run tools/build.sh first" >&2; exit 1; }
sources=$(ls jit/*.cpp jit/nvrtc/*.cpp jit/cache/*.cpp ops/*.cpp ops/*/*.cpp src/*.cpp src/cli/*.cpp python/src/bindings/*.cpp \
  python/src/module.cpp python/src/log_forwarding.cpp)
log=build/tidy.log
# One file per process, as many processes as cores; --quiet drops the per-file "N warnings generated" lines.
# The pybind11 module's flags carry GCC's LTO options, which clang only warns about.
printf '%s\n' $sources | xargs -P "$(nproc)" -n 1 "$tidy" -p build --quiet \
  --extra-arg=-Wno-ignored-optimization-argument >"$log" 2>&1
findings=$(grep -cE "(warning|error): " "$log")
if [ "$findings" -gt 0 ]; then
  grep -E "(warning|error): " "$log" | sort -u
  echo "tools/tidy.sh: $findings findings (full log: $log)"
  exit 1
fi
echo "tools/tidy.sh: $(echo $sources | wc -w) files, no findings"
