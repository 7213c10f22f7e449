#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: doctest unit tests, FileCheck tests and the GPU suite.
# Without a CUDA device each GPU test reports itself skipped by name; skipped tests never count as passed.
set -uo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh || exit 1
tools/build.sh || exit 1
cd build
ctest --output-on-failure -j "$(nproc)" --output-junit ctest-junit.xml
rc=$?
python3 - <<'PY'
import xml.etree.ElementTree as ET
cases = ET.parse("ctest-junit.xml").getroot().iter("testcase")
status = [c.get("status", "") for c in cases]
passed = sum(s == "run" for s in status)
failed = sum(s == "fail" for s in status)
skipped = len(status) - passed - failed
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
exit $rc
