#!/usr/bin/env bash
# The GPU suite, split across the two machines of this workplace (see docs/GPU.md):
#   tools/gpu-test.sh prepare   here: copies the fmt and doctest headers into .deps/include (the GPU machine has
#                               CUDA, CMake and ninja but neither package, and no network)
#   tools/gpu-test.sh run       on the GPU machine, with .deps carried: builds everything there, runs the GPU
#                               suite, the unit tests and the examples; $OUT (if set) receives the logs
#   tools/gpu-test.sh bench     on the GPU machine after `run`: the benchmarks of docs/PERF.md
#   tools/gpu-test.sh python    on the GPU machine after `run`: the Python module for its python3, the pytest
#                               suite (CPU and GPU parts), `pip install --no-build-isolation .` into a scratch
#                               prefix, and bench/python_bench.py
#   tools/gpu-test.sh dsa       on the GPU machine, with .deps carried: builds (as `build`), then the DSA metadata
#                               benchmarks, build-device/bench/draftjit_dsa_bench and bench/python_bench.py --dsa
#                               (CALLS calls per figure, default 1000); $OUT receives dsa-bench.md (the markdown
#                               table of docs/PERF.md) and python-dsa-bench.{txt,json}
#   tools/gpu-test.sh ab        on the GPU machine after `run`, with a baseline source tree carried in $BASE (default
#                               .ab-base, e.g. `git archive <commit> | tar -x -C .ab-base`): builds its benchmarks,
#                               then runs draftjit_bench and draftjit_dsa_bench of both trees, alternating, ROUNDS
#                               times (default 2), after one discarded warm-up run of the new tree's;
#                               $OUT receives ab-{new,base}-<round>-{bench,dsa}.txt
#   tools/gpu-test.sh upstream  on the GPU machine after `build`, with .deps and upstream SGLang's files carried
#                               (DRAFTJIT_UPSTREAM_SGLANG, default .upstream-sglang; docs/GPU.md): the differential
#                               tests against upstream (every test named so), then the side-by-side benchmarks (ARGS,
#                               TRTLLM_ARGS, FA3_ARGS, EAGLE_ARGS and KV_ARGS passed to them); $OUT receives
#                               upstream-test.log and upstream-{dsa,trtllm-mha,fa3,eagle,kv-indices}-bench.{md,json}
#   tools/gpu-test.sh upstream-ab  on the GPU machine after `build`, with .deps, upstream's files and a baseline
#                               source tree in $BASE (default .ab-base) carried: builds the baseline as `build` does
#                               (its own script; logs in $BASE/build-device/ab-logs), then the side-by-side bench
#                               BENCH (default bench/upstream_dsa_bench.py; any bench/upstream_*_bench.py) of each
#                               tree with its own module (ARGS passed to both; --no-cold), after one
#                               discarded short run of the new tree's, ROUNDS times (default 1), new first in odd
#                               rounds and base first in even ones; $OUT receives
#                               upstream-ab-{new,base}-<round>.{md,json}
#   tools/gpu-test.sh profile   on the GPU machine after `run`: Nsight Compute summary of the fused kernels
#   tools/gpu-test.sh suites    on the GPU machine, with .deps (and upstream's files, for the differential tests)
#                               carried: everything of `run` and of `python`'s pytest in one call, at once: builds,
#                               then the C++ GPU suite, the unit tests and the pytest files in PYTEST_GROUPS groups
#                               (default 5), each process with its own kernel cache, each capped so the whole ends
#                               within DEADLINE seconds (default 540); then the examples. $OUT receives
#                               summary.txt, written as it goes (so a call cut off still returns it), and
#                               suites-logs.tgz; exit 1 on any failure or cut
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
out="${OUT:-build-device/out}"
case "${1:-}" in
  prepare)
    rm -rf .deps/include && mkdir -p .deps/include
    cp -r /usr/include/fmt /usr/include/doctest .deps/include/
    ;;
  build)
    mkdir -p "$out"
    torch_dir=$(cd / && python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null | tail -1)
    echo "torch: ${torch_dir:-not found}" >"$out/torch.txt"; ls "$torch_dir/lib" >>"$out/torch.txt" 2>&1
    cmake -S . -B build-device -G Ninja -DCMAKE_BUILD_TYPE=Release -DDRAFTJIT_BUILD_BENCH=ON \
      -DDRAFTJIT_BUILD_PYTHON=ON -DPython_EXECUTABLE="$(command -v python3)" \
      -Dpybind11_DIR="$(python3 -m pybind11 --cmakedir)" \
      -DDRAFTJIT_FMT_INCLUDE_DIR="$PWD/.deps/include" -DDRAFTJIT_DOCTEST_INCLUDE_DIR="$PWD/.deps/include" \
      -DDRAFTJIT_TORCH_DIR="$torch_dir" >"$out/configure.log" 2>&1 || { tail -30 "$out/configure.log"; exit 1; }
    cmake --build build-device >"$out/build.log" 2>&1 || { grep -E "error|FAILED" "$out/build.log" | head -30; exit 1; }
    ;;
  run)
    bash "$0" build || exit 1
    export DRAFTJIT_CACHE_DIR="$PWD/build-device/kernel-cache"
    rm -rf "$DRAFTJIT_CACHE_DIR"
    nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
    rc=0
    build-device/tests/draftjit_gpu_tests 2>&1 | tee "$out/gpu-tests.log" | tail -40 || rc=1
    grep -q "Status: SUCCESS" "$out/gpu-tests.log" || rc=1
    build-device/tests/draftjit_unit_tests 2>&1 | tee "$out/unit-tests.log" | grep -E "ERROR|^\[doctest\]" | tail -20
    grep -q "Status: SUCCESS" "$out/unit-tests.log" || rc=1
    build-device/example_basic || rc=1
    build-device/example_cuda_graph || rc=1
    exit $rc
    ;;
  bench)
    mkdir -p "$out"
    export DRAFTJIT_CACHE_DIR="$PWD/build-device/bench-cache"
    rm -rf "$DRAFTJIT_CACHE_DIR"
    b=build-device/bench
    $b/draftjit_cache_bench cold-compile
    build-device/draftjit warmup --bs 32,33,512,513 --arch sm_90 >/dev/null 2>&1
    for _ in 1 2 3; do $b/draftjit_cache_bench first-call 32; done
    for _ in 1 2 3; do $b/draftjit_cache_bench first-call-phases 32; done
    $b/draftjit_cache_bench disk-hit 32
    $b/draftjit_cache_bench warm-overhead 32
    $b/draftjit_bench --calls "${CALLS:-5000}" --json "$out/bench.json" 2>/dev/null | tee "$out/draftjit-bench.txt"
    ;;
  python)
    mkdir -p "$out"
    export DRAFTJIT_CACHE_DIR="$PWD/build-device/python-cache"
    rc=0
    PYTHONPATH="$PWD/build-device/python" python3 -m pytest python/tests -rs -q -p no:cacheprovider \
      2>&1 | tee "$out/pytest.log" | tail -25 || rc=1
    grep -qE "[0-9]+ passed" "$out/pytest.log" && ! grep -qE "[0-9]+ (failed|error)" "$out/pytest.log" || rc=1
    rm -rf /tmp/draftjit-pip
    python3 -m pip install -q --no-build-isolation --no-deps --target /tmp/draftjit-pip \
      --config-settings=cmake.define.DRAFTJIT_FMT_INCLUDE_DIR="$PWD/.deps/include" \
      --config-settings=build-dir=/tmp/draftjit-pip-build . >"$out/pip.log" 2>&1 || { tail -20 "$out/pip.log"; rc=1; }
    (cd /tmp && PYTHONPATH=/tmp/draftjit-pip python3 -c \
      'import draftjit, torch; print("pip install: draftjit", draftjit.__version__, "from", draftjit.__file__, "ops:", hasattr(torch.ops.draftjit, "fill_draft_extend_metadata"))') || rc=1
    PYTHONPATH="$PWD/build-device/python" python3 bench/python_bench.py --calls "${CALLS:-2000}" \
      --json "$out/python-bench.json" 2>&1 | tee "$out/python-bench.txt" || rc=1
    exit $rc
    ;;
  dsa)
    bash "$0" build || exit 1
    export DRAFTJIT_CACHE_DIR="$PWD/build-device/dsa-cache"
    rm -rf "$DRAFTJIT_CACHE_DIR"
    nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
    rc=0
    build-device/bench/draftjit_dsa_bench --calls "${CALLS:-1000}" 2>"$out/dsa-bench.log" | tee "$out/dsa-bench.md" \
      || { rc=1; tail -5 "$out/dsa-bench.log"; }
    PYTHONPATH="$PWD/build-device/python" python3 bench/python_bench.py --dsa --calls "${CALLS:-1000}" \
      --json "$out/python-dsa-bench.json" 2>&1 | tee "$out/python-dsa-bench.txt" || rc=1
    exit $rc
    ;;
  ab)
    mkdir -p "$out"
    base="${BASE:-.ab-base}"
    torch_dir=$(cd / && python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null | tail -1)
    cmake -S "$base" -B "$base/build-device" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDRAFTJIT_BUILD_BENCH=ON \
      -DDRAFTJIT_BUILD_TESTS=OFF -DDRAFTJIT_FMT_INCLUDE_DIR="$PWD/.deps/include" -DDRAFTJIT_TORCH_DIR="$torch_dir" \
      >"$out/ab-configure.log" 2>&1 || { tail -20 "$out/ab-configure.log"; exit 1; }
    cmake --build "$base/build-device" --target draftjit_bench draftjit_dsa_bench >"$out/ab-build.log" 2>&1 ||
      { grep -E "error|FAILED" "$out/ab-build.log" | head -20; exit 1; }
    nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
    # Discarded: right after a heavy call (the suites) the first run measured the GPU's state, 1-4 % slower with the
    # empty kernel up to 16 % slower (docs/PERF.md, issue 27's final round).
    DRAFTJIT_CACHE_DIR="$PWD/build-device/ab-cache-new" build-device/bench/draftjit_bench --calls 200 >/dev/null 2>&1
    for round in $(seq 1 "${ROUNDS:-2}"); do
      for tree in new base; do
        dir=.; [ "$tree" = base ] && dir="$base"
        export DRAFTJIT_CACHE_DIR="$PWD/build-device/ab-cache-$tree"
        "$dir/build-device/bench/draftjit_bench" --calls "${CALLS:-2000}" >"$out/ab-$tree-$round-bench.txt" 2>&1
        "$dir/build-device/bench/draftjit_dsa_bench" --calls "${DSA_CALLS:-500}" >"$out/ab-$tree-$round-dsa.txt" 2>&1
      done
    done
    ;;
  upstream-ab)
    mkdir -p "$out"
    base="${BASE:-.ab-base}"
    [ -e "$base/.deps" ] || ln -s "$PWD/.deps" "$base/.deps"
    mkdir -p "$base/build-device/ab-logs"
    logs="$(cd "$base/build-device/ab-logs" && pwd)"
    OUT="$logs" bash "$base/tools/gpu-test.sh" build >"$logs/build.txt" 2>&1 ||
      { echo "the baseline's build failed ($logs):"; tail -20 "$logs/build.txt"; exit 1; }
    export DRAFTJIT_UPSTREAM_SGLANG="${DRAFTJIT_UPSTREAM_SGLANG:-$PWD/.upstream-sglang}"
    # tree (new or base), then the benchmark's flags
    upstream_bench() {
      local tree=$1 dir="$PWD"; shift
      [ "$tree" = base ] && dir="$(cd "$base" && pwd)"
      DRAFTJIT_CACHE_DIR="$PWD/build-device/upstream-ab-cache-$tree" PYTHONPATH="$dir/build-device/python" \
        python3 "$dir/${BENCH:-bench/upstream_dsa_bench.py}" --no-cold "$@"
    }
    # Discarded: right after a heavy call the first run measures the GPU's state (the ab case above); this one also
    # fills the new tree's kernel cache and Triton's.
    # shellcheck disable=SC2086  # ARGS: the benchmark's flags, split on purpose
    upstream_bench new ${ARGS:-} --calls 5 --repeats 1 >/dev/null 2>&1
    rc=0
    for round in $(seq 1 "${ROUNDS:-1}"); do
      order="new base"; [ $((round % 2)) = 0 ] && order="base new"
      for tree in $order; do
        # shellcheck disable=SC2086
        upstream_bench "$tree" --json "$out/upstream-ab-$tree-$round.json" ${ARGS:-} \
          >"$out/upstream-ab-$tree-$round.md" 2>&1 || rc=1
      done
    done
    exit $rc
    ;;
  upstream)
    mkdir -p "$out"
    export DRAFTJIT_UPSTREAM_SGLANG="${DRAFTJIT_UPSTREAM_SGLANG:-$PWD/.upstream-sglang}"
    export DRAFTJIT_CACHE_DIR="$PWD/build-device/upstream-cache" PYTHONPATH="$PWD/build-device/python"
    rc=0
    if [ "${SKIP_TEST:-0}" != 1 ]; then
      # every family's differential tests and upstream-signature checks: their names say "upstream"
      python3 -m pytest python/tests -k upstream -rs -q -p no:cacheprovider 2>&1 | tee "$out/upstream-test.log" |
        tail -15
      grep -qE "[0-9]+ passed" "$out/upstream-test.log" && ! grep -qE "[0-9]+ (failed|error)" "$out/upstream-test.log" ||
        rc=1
    fi
    # shellcheck disable=SC2086  # ARGS, TRTLLM_ARGS, FA3_ARGS, EAGLE_ARGS, KV_ARGS: benchmarks' flags, split on purpose
    python3 bench/upstream_dsa_bench.py --json "$out/upstream-dsa-bench.json" ${ARGS:-} 2>&1 |
      tee "$out/upstream-dsa-bench.md" || rc=1
    # shellcheck disable=SC2086
    python3 bench/upstream_trtllm_mha_bench.py --json "$out/upstream-trtllm-mha-bench.json" ${TRTLLM_ARGS:-} 2>&1 |
      tee "$out/upstream-trtllm-mha-bench.md" || rc=1
    # shellcheck disable=SC2086
    python3 bench/upstream_fa3_bench.py --json "$out/upstream-fa3-bench.json" ${FA3_ARGS:-} 2>&1 |
      tee "$out/upstream-fa3-bench.md" || rc=1
    # shellcheck disable=SC2086
    python3 bench/upstream_eagle_bench.py --json "$out/upstream-eagle-bench.json" ${EAGLE_ARGS:-} 2>&1 |
      tee "$out/upstream-eagle-bench.md" || rc=1
    # shellcheck disable=SC2086
    python3 bench/upstream_kv_indices_bench.py --json "$out/upstream-kv-indices-bench.json" ${KV_ARGS:-} 2>&1 |
      tee "$out/upstream-kv-indices-bench.md" || rc=1
    exit $rc
    ;;
  profile)
    mkdir -p "$out"
    export DRAFTJIT_CACHE_DIR="$PWD/build-device/bench-cache"
    ncu --kernel-name regex:draftjit_fused --launch-skip 200 --launch-count 1 \
      --section SpeedOfLight --section LaunchStats --section WarpStateStats --section MemoryWorkloadAnalysis \
      build-device/bench/draftjit_bench --calls 300 --bs "${BS:-4096}" >"$out/ncu.txt" 2>&1
    grep -E "Duration|Elapsed Cycles|Block Size|Grid Size|Registers|Stall|Warp Cycles|Shared Memory Config|Memory Throughput|Issued Warp" "$out/ncu.txt" | head -60
    ;;
  suites)
    # $OUT brings back 8 files at most: the logs go to build-device/suites and come back as one archive
    logs="$PWD/build-device/suites"
    rm -rf "$logs" && mkdir -p "$out" "$logs"
    trap 'tar -czf "$out/suites-logs.tgz" -C "$logs" .' EXIT
    start=$(date +%s)
    # seconds left before DEADLINE, at most $1 and at least 1 (`timeout 0` would mean no limit)
    cap() {
      local left=$(( ${DEADLINE:-540} - ($(date +%s) - start) ))
      echo $(( left < 1 ? 1 : left < $1 ? left : $1 ))
    }
    say() { echo "[+$(( $(date +%s) - start )) s] $*" | tee -a "$out/summary.txt"; }
    : >"$out/summary.txt"
    say "$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>&1)"
    OUT="$logs" timeout "$(cap 300)" bash "$0" build >"$logs/build.txt" 2>&1 ||
      { say "build failed"; tail -20 "$logs/build.txt"; exit 1; }
    say built
    export DRAFTJIT_UPSTREAM_SGLANG="${DRAFTJIT_UPSTREAM_SGLANG:-$PWD/.upstream-sglang}"
    export PYTHONPATH="$PWD/build-device/python"
    # the pytest files dealt round-robin, largest first, into PYTEST_GROUPS groups
    mapfile -t files < <(ls -S python/tests/test_*.py)
    groups=()
    for i in "${!files[@]}"; do groups[i % ${PYTEST_GROUPS:-5}]+="${files[i]} "; done
    pids=()
    for suite in gpu unit; do
      DRAFTJIT_CACHE_DIR="$PWD/build-device/cache-$suite" timeout "$(cap 600)" \
        "build-device/tests/draftjit_${suite}_tests" >"$logs/$suite-tests.log" 2>&1 &
      pids+=($!)
    done
    for n in "${!groups[@]}"; do
      # shellcheck disable=SC2086  # the group's files, split on purpose
      DRAFTJIT_CACHE_DIR="$PWD/build-device/cache-py$n" timeout "$(cap 600)" python3 -m pytest ${groups[n]} -q -rs \
        -p no:cacheprovider >"$logs/pytest-$n.log" 2>&1 &
      pids+=($!)
    done
    rc=0
    for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
    for suite in gpu unit; do
      f="$logs/$suite-tests.log"
      say "$suite: $({ grep -E '^\[doctest\] (test cases|Status)' "$f" || tail -1 "$f"; } | tr -s ' ' | paste -sd' ')"
    done
    for n in "${!groups[@]}"; do
      f="$logs/pytest-$n.log"
      say "pytest $n: $({ grep -E '[0-9]+ (passed|failed|error)' "$f" || tail -1 "$f"; } | tail -1)"
      grep -E '^(FAILED|ERROR)' "$f" | head -10 | tee -a "$out/summary.txt"
    done
    export DRAFTJIT_CACHE_DIR="$PWD/build-device/cache-examples"
    { build-device/example_basic && build-device/example_cuda_graph; } >"$logs/examples.log" 2>&1 || rc=1
    say "examples: $(tail -1 "$logs/examples.log")"
    say "rc=$rc"
    exit $rc
    ;;
  *)
    echo "usage: tools/gpu-test.sh prepare|build|run|bench|python|dsa|ab|upstream-ab|upstream|profile|suites" >&2
    exit 2
    ;;
esac
