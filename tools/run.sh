#!/usr/bin/env bash
# The main job: install what is missing, build, and warm the kernel cache. Without arguments it warms every kernel
# that batch sizes 1..1024 use on sm_90 (H100/H200); any arguments replace those, e.g. --bs 1-64 --arch sm_100.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
tools/build.sh
if [ $# -eq 0 ]; then set -- --bs 1-1024 --arch sm_90; fi
build/draftjit warmup "$@"
