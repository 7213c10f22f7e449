#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: doctest unit tests, FileCheck tests, the package test and
# the GPU suite through CTest, then the unit and CLI tests again under ASan + UBSan (build-asan/), then the Python
# suite through pytest (with $PYTHON, default /usr/bin/python3), then the fuzz targets for a bounded count each
# (tools/fuzz.sh ci, with clang), then clang-tidy (tools/tidy.sh). The builds have warnings as errors
# (tools/build.sh).
# Without a CUDA device each GPU test reports itself skipped by name; skipped tests never count as passed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
python="${PYTHON:-/usr/bin/python3}"
tools/install-deps.sh || exit 1
tools/build.sh || exit 1
(cd build && ctest --output-on-failure -j "$(nproc)" --output-junit ctest-junit.xml)
ctest_rc=$?
# The unit tests and the CLI they run (cli, cache, manifest, lock tests) and the FileCheck tests over `draftjit emit`,
# built with ASan + UBSan (-DDRAFTJIT_SANITIZE, every finding fatal) into build-asan/: undefined behaviour such as an
# int64 overflow of a file time (issue 30 N10) fails CI here. Only those two targets are built (Python, bench and
# the GPU tests off): 11 minutes to build and 70 s to run on two cores shared with other builds.
rm -f build-asan/ctest-junit.xml
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" \
  -DDRAFTJIT_SANITIZE=address,undefined -DDRAFTJIT_BUILD_PYTHON=OFF -DDRAFTJIT_BUILD_BENCH=OFF -DDRAFTJIT_WERROR=ON \
  >/dev/null &&
  cmake --build build-asan --target draftjit_unit_tests draftjit_cli &&
  (cd build-asan && UBSAN_OPTIONS=print_stacktrace=1 ctest -R '^(unit|filecheck)/' --output-on-failure -j "$(nproc)" \
    --output-junit ctest-junit.xml)
asan_rc=$?
# LeakSanitizer's own stop-the-world tracer sometimes crashes at a process's exit on loaded machines ("Tracer caught
# signal 11 ... LeakSanitizer has encountered a fatal error": google/sanitizers#1353, not a leak report; seen here once
# in a CLI child of the cache concurrency test). Where every failed case shows that signature, those cases run once
# more, and their second result counts; any other failure stands.
rm -f build-asan/ctest-junit-rerun.xml
if [ $asan_rc -ne 0 ] && "$python" - <<'PY'
import sys
import xml.etree.ElementTree as ET
failed = [case for case in ET.parse("build-asan/ctest-junit.xml").getroot().iter("testcase")
          if case.get("status") == "fail"]
sys.exit(0 if failed and all("LeakSanitizer has encountered a fatal error" in "".join(case.itertext())
                             for case in failed) else 1)
PY
then
  echo "ASan stage: LeakSanitizer's tracer crashed in every failed case; running those once more"
  (cd build-asan && UBSAN_OPTIONS=print_stacktrace=1 ctest --rerun-failed --output-on-failure \
    --output-junit ctest-junit-rerun.xml)
  asan_rc=$?
fi
PYTHONPATH="$PWD/build/python" "$python" -m pytest python/tests -rs -q --junitxml=build/pytest-junit.xml
pytest_rc=$?
# The libFuzzer targets (docs/FUZZ.md), built with clang into build-fuzz/ and run for a bounded count each.
tools/fuzz.sh ci
fuzz_rc=$?
# clang-tidy (.clang-tidy: bugprone, concurrency, cert) over every C++ source, no findings allowed.
tools/tidy.sh
tidy_rc=$?
"$python" - "$tidy_rc" <<'PY'
import sys
import xml.etree.ElementTree as ET
passed = failed = skipped = 0
for case in ET.parse("build/ctest-junit.xml").getroot().iter("testcase"):
    status = case.get("status", "")
    passed += status == "run"
    failed += status == "fail"
    skipped += status not in ("run", "fail")
try:
    asan = list(ET.parse("build-asan/ctest-junit.xml").getroot().iter("testcase"))
except (OSError, ET.ParseError):  # the sanitizer build failed before its tests ran
    asan, failed = [], failed + 1
try:  # the cases run again after a LeakSanitizer tracer crash: their second status counts
    rerun = {case.get("name"): case.get("status", "")
             for case in ET.parse("build-asan/ctest-junit-rerun.xml").getroot().iter("testcase")}
except (OSError, ET.ParseError):
    rerun = {}
for case in asan:
    status = rerun.get(case.get("name"), case.get("status", ""))
    passed += status == "run"
    failed += status == "fail"
    skipped += status not in ("run", "fail")
for case in ET.parse("build/pytest-junit.xml").getroot().iter("testcase"):
    outcome = {child.tag for child in case}
    failed += bool(outcome & {"failure", "error"})
    skipped += "skipped" in outcome and not outcome & {"failure", "error"}
    passed += not outcome & {"failure", "error", "skipped"}
try:
    fuzz = ET.parse("build-fuzz/fuzz-junit.xml").getroot().iter("testcase")
except (OSError, ET.ParseError):  # tools/fuzz.sh did not get as far as writing it
    fuzz, failed = [], failed + 1
for case in fuzz:
    bad = any(child.tag == "failure" for child in case)
    failed += bad
    passed += not bad
tidy_failed = int(sys.argv[1]) != 0
failed += tidy_failed
passed += not tidy_failed
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
[ $ctest_rc -eq 0 ] && [ $asan_rc -eq 0 ] && [ $pytest_rc -eq 0 ] && [ $fuzz_rc -eq 0 ] && [ $tidy_rc -eq 0 ]
