#!/usr/bin/env bash
# Installs the Debian packages draftjit builds and tests with, when any is missing. The CUDA toolkit (NVRTC, headers)
# is expected in /usr/local/cuda, as on this project's machines. With --fuzz, also what tools/fuzz.sh builds with.
set -euo pipefail
packages=(cmake ninja-build g++ python3 python3-dev libfmt-dev doctest-dev llvm-19-tools pybind11-dev python3-pytest
          python3-numpy clang-tidy)
# tools/fuzz.sh passes --fuzz: clang and its runtime libraries (libFuzzer, ASan, UBSan) for the fuzz targets.
if [ "${1:-}" = "--fuzz" ]; then
  packages+=(clang-14 libclang-rt-14-dev)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ! -e /usr/local/cuda/include/nvrtc.h ]; then
  echo "error: the CUDA toolkit (NVRTC) is expected in /usr/local/cuda" >&2
  exit 1
fi
