#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang (ASan + UBSan) into build-fuzz/ and runs them (docs/FUZZ.md).
#   tools/fuzz.sh TARGET SECONDS [libFuzzer flags...]   run TARGET (a name, or `all`: one after the other) for
#                                                       SECONDS each (0: no time limit, e.g. with -runs=N)
#   tools/fuzz.sh ci                                    every target for a bounded -runs (a few seconds each);
#                                                       writes build-fuzz/fuzz-junit.xml; fails on any finding
#   tools/fuzz.sh build                                 only build
# Each run works on a copy of fuzz/corpus/TARGET in build-fuzz/run/TARGET/ (new inputs never go into the
# repository); what it finds is left in build-fuzz/run/TARGET/artifacts/ and named on stderr. FUZZ_SKIP=a,b leaves
# those input classes out (docs/FUZZ.md); CI never sets it. FUZZ_CXX picks the compiler (default clang++-14),
# FUZZ_BUILD_DIR the build folder (default build-fuzz).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
targets=(entry_reader cli_options environment manifest_reader bundle_reader)
# Executions per target in CI: each takes a few seconds on two cores (docs/FUZZ.md has the rates).
declare -A ci_runs=([entry_reader]=3000 [cli_options]=15000 [environment]=20000 [manifest_reader]=20000
  [bundle_reader]=10000)
# Longest input per target: values and argv words longer than this find nothing new and run slower (the checks of a
# DRAFTJIT_CACHE_PATH of hundreds of layers are quadratic); manifest_reader: a few dozen lines. entry_reader and
# bundle_reader: their largest seed, a real entry (alone, or in a bundle).
declare -A max_len=([entry_reader]=0 [cli_options]=512 [environment]=512 [manifest_reader]=2048 [bundle_reader]=0)
build_dir="${FUZZ_BUILD_DIR:-build-fuzz}"  # another build* folder (git ignores those) for runs beside CI's

usage() {
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

build() {
  tools/install-deps.sh --fuzz || return 1
  local cxx="${FUZZ_CXX:-clang++-14}"
  command -v "$cxx" >/dev/null || cxx=clang++
  cmake -S fuzz -B "$build_dir" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
    cmake --build "$build_dir"
}

# run_one TARGET LIBFUZZER-FLAGS...: 0 when it found nothing. Its log is build-fuzz/run/TARGET/log.
run_one() {
  local target=$1
  shift
  local work="$build_dir/run/$target"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/tmp" "$work/artifacts"
  find fuzz/corpus/"$target" -maxdepth 1 -type f -exec cp -t "$work/corpus/" {} +
  # The targets' private directories: on a tmpfs where there is one (files are made and removed on every input),
  # else under the run's folder; removed afterwards, so that a crashed run leaves nothing behind.
  local scratch="$PWD/$work/tmp"
  if [ -d /dev/shm ] && [ -w /dev/shm ]; then scratch=$(mktemp -d /dev/shm/draftjit-fuzz-"$target".XXXXXX); fi
  local start=$SECONDS
  FUZZ_SCRATCH="$scratch" TMPDIR="$PWD/$work/tmp" "$build_dir/fuzz_$target" \
    -artifact_prefix="$work/artifacts/" \
    -print_final_stats=1 -max_len="${max_len[$target]}" "$@" "$work/corpus" >"$work/log" 2>&1
  local rc=$?
  rm -rf "$scratch"
  local elapsed=$((SECONDS - start))
  local execs cov ft
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$work/log" | tail -1)
  ft=$(grep -o 'ft: [0-9]*' "$work/log" | tail -1)
  local found
  found=$(find "$work/artifacts" -type f | sort)
  echo "fuzz $target: ${execs:-?} executions in ${elapsed} s, ${cov:-cov: ?}, ${ft:-ft: ?}, exit $rc"
  if [ $rc -ne 0 ] || [ -n "$found" ]; then
    grep -E 'PROPERTY VIOLATED|ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error:|SUMMARY:' \
      "$work/log" | head -5 >&2
    [ -z "$found" ] || echo "fuzz $target: found: $found" >&2
    echo "fuzz $target: FAILED (log: $work/log)" >&2
    return 1
  fi
}

junit() {  # junit NAME PASSED SECONDS MESSAGE
  if [ "$2" -eq 0 ]; then
    printf '  <testcase classname="fuzz" name="fuzz/%s" time="%s"/>\n' "$1" "$3"
  else
    printf '  <testcase classname="fuzz" name="fuzz/%s" time="%s"><failure message="%s"/></testcase>\n' \
      "$1" "$3" "$4"
  fi
}

[ $# -ge 1 ] || usage
case "$1" in
  build)
    build
    ;;
  ci)
    results="$build_dir/fuzz-junit.xml"
    mkdir -p "$build_dir"
    rm -f "$results"
    cases=""
    failures=0
    if ! build; then
      for target in "${targets[@]}"; do cases+=$(junit "$target" 1 0 "the fuzz build failed")$'\n'; done
      failures=${#targets[@]}
    else
      for target in "${targets[@]}"; do
        start=$SECONDS
        if run_one "$target" -runs="${ci_runs[$target]}" -max_total_time=120 -timeout=20 -rss_limit_mb=4096; then
          cases+=$(junit "$target" 0 $((SECONDS - start)))$'\n'
        else
          cases+=$(junit "$target" 1 $((SECONDS - start)) "a finding: see $build_dir/run/$target/log")$'\n'
          failures=$((failures + 1))
        fi
      done
    fi
    printf '<testsuite name="fuzz" tests="%s" failures="%s">\n%s</testsuite>\n' "${#targets[@]}" "$failures" \
      "$cases" >"$results"
    [ "$failures" -eq 0 ]
    ;;
  *)
    [ $# -ge 2 ] || usage
    target=$1
    seconds=$2
    shift 2
    if [ "$target" = all ]; then
      chosen=("${targets[@]}")
    elif [[ " ${targets[*]} " == *" $target "* ]]; then
      chosen=("$target")
    else
      echo "fuzz.sh: unknown target '$target' (one of: ${targets[*]}, all)" >&2
      exit 2
    fi
    build || exit 1
    status=0
    for t in "${chosen[@]}"; do
      run_one "$t" -max_total_time="$seconds" "$@" || status=1
    done
    exit $status
    ;;
esac
