// `draftjit doctor` and draftjit::doctor(): what this machine can do, one line per fact.
#include <doctest/doctest.h>

#include <string>

#include "doctor.hpp"
#include "jit/nvrtc/nvrtc_library.hpp"
#include "test_prologue.hpp"

TEST_CASE("doctor: ok here, naming the NVRTC it loaded, its archs and every variable it reads") {
  const draftjit::DoctorReport report = draftjit::doctor();
  CAPTURE(report.text);
  CHECK(report.ok);
  CHECK(contains(report.text, "nvrtc: loaded " + draftjit::jit::nvrtc_search().path));
  CHECK(contains(report.text, "compiles for sm_"));
  CHECK(contains(report.text, "env: DRAFTJIT_NVRTC_LIBRARY"));
  CHECK(contains(report.text, "env: CUDA_HOME"));
  CHECK(contains(report.text, "\ndoctor: ok"));
}

TEST_CASE("cli: draftjit doctor exits 0 here and reports the cache's entries") {
  TempDir dir;
  REQUIRE(run_command(cache_dir_env(dir.path()) + kCli + " warmup --bs 1 --arch sm_90") == 0);
  std::string out;
  CHECK(run_command(cache_dir_env(dir.path()) + "DRAFTJIT_CACHE_PATH=/nonexistent-layer DRAFTJIT_TYPO=1 " + kCli +
                        " doctor",
                    &out) == 0);
  CAPTURE(out);
  CHECK(contains(out, "nvrtc: loaded " + draftjit::jit::nvrtc_search().path));
  CHECK(contains(out, "cache: directory " + dir.path().string() + ": 1 entries, "));
  CHECK(contains(out, "; writable\n"));
  CHECK(contains(out, "cache: read-only layer /nonexistent-layer: 0 entries, 0 bytes; read-only to draftjit, and "
                      "missing"));
  CHECK(contains(out, "env: DRAFTJIT_TYPO=1 (not read by draftjit"));
  if (!contains(out, "driver: none")) return;  // on a GPU machine the device lines are checked by the GPU run
  CHECK(contains(out, "kernel calls will fail"));
}

TEST_CASE("cli: draftjit doctor exits 1 without NVRTC, naming every place tried") {
  std::string out;
  CHECK(run_command("DRAFTJIT_NVRTC_LIBRARY=/nonexistent " + kCli + " doctor", &out) == 1);
  CAPTURE(out);
  CHECK(contains(out, "nvrtc: NOT loaded"));
  CHECK(contains(out, "nvrtc: tried /nonexistent (DRAFTJIT_NVRTC_LIBRARY): not found"));
  CHECK(contains(out, "doctor: NOT ok: no NVRTC"));
  CHECK(run_command(kCli + " doctor --bogus", &out) == 2);
}
