#!/usr/bin/env bash
# Configures and builds draftjit into build/ (Release), the Python module included, for the interpreter in $PYTHON
# (default: Debian's /usr/bin/python3, which has the packages tools/install-deps.sh installs), with warnings as
# errors and a compile_commands.json for tools/tidy.sh. Extra arguments go to CMake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-/usr/bin/python3}"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DDRAFTJIT_BUILD_PYTHON=ON -DPython_EXECUTABLE="$python" \
  -DDRAFTJIT_WERROR=ON -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
  "$@" >/dev/null
cmake --build build
