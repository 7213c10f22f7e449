#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: doctest unit tests, FileCheck tests, the package test and
# the GPU suite through CTest, then the Python suite through pytest (with $PYTHON, default /usr/bin/python3).
# Without a CUDA device each GPU test reports itself skipped by name; skipped tests never count as passed.
set -uo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-/usr/bin/python3}"
tools/install-deps.sh || exit 1
tools/build.sh || exit 1
(cd build && ctest --output-on-failure -j "$(nproc)" --output-junit ctest-junit.xml)
ctest_rc=$?
PYTHONPATH="$PWD/build/python" "$python" -m pytest python/tests -rs -q --junitxml=build/pytest-junit.xml
pytest_rc=$?
"$python" - <<'PY'
import xml.etree.ElementTree as ET
passed = failed = skipped = 0
for case in ET.parse("build/ctest-junit.xml").getroot().iter("testcase"):
    status = case.get("status", "")
    passed += status == "run"
    failed += status == "fail"
    skipped += status not in ("run", "fail")
for case in ET.parse("build/pytest-junit.xml").getroot().iter("testcase"):
    outcome = {child.tag for child in case}
    failed += bool(outcome & {"failure", "error"})
    skipped += "skipped" in outcome and not outcome & {"failure", "error"}
    passed += not outcome & {"failure", "error", "skipped"}
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
[ $ctest_rc -eq 0 ] && [ $pytest_rc -eq 0 ]
