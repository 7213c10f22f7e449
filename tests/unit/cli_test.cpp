#include <doctest/doctest.h>

#include <string>

#include "draftjit/draftjit.hpp"
#include "test_prologue.hpp"

TEST_CASE("cli: usage errors exit 2 with a message") {
  std::string out;
  CHECK(run_command(kCli, &out) == 2);
  CHECK(contains(out, "usage:"));
  out.clear();
  CHECK(run_command(kCli + " emit --bs 1048577", &out) == 2);
  CHECK(contains(out, "outside the supported range [0, 1048576]"));
  out.clear();
  CHECK(run_command(kCli + " emit --bs 3 --bogus", &out) == 2);
  CHECK(contains(out, "unknown argument '--bogus'"));
  out.clear();
  CHECK(run_command(kCli + " warmup --bs 5-2 --arch sm_90", &out) == 2);
  CHECK(contains(out, "runs backwards"));
  out.clear();
  CHECK(run_command(kCli + " warmup --bs 1 --arch compute_9x", &out) == 2);
  CHECK(contains(out, "not a real GPU architecture"));
}

// Every kind's summary starts in one column, however long the longest kind's name ("trtllm-mha-table").
TEST_CASE("cli: the usage lists every kind with its summary in one column") {
  std::string out;
  CHECK(run_command(kCli, &out) == 2);
  const std::size_t list = out.find("KIND (default main):\n");
  REQUIRE(list != std::string::npos);
  std::size_t column = std::string::npos;
  int kinds = 0;
  for (std::size_t at = out.find('\n', list) + 1; at < out.size() && out.compare(at, 2, "  ") == 0;) {
    const std::size_t end = out.find('\n', at);
    const std::string line = out.substr(at, end - at);
    const std::size_t summary = line.find_first_not_of(' ', line.find(' ', 2));
    CAPTURE(line);
    if (column == std::string::npos) column = summary;
    CHECK(summary == column);
    CHECK(line[summary - 1] == ' ');
    ++kinds;
    at = end + 1;
  }
  CHECK(kinds >= 10);
}

TEST_CASE("cli: warmup without --arch needs a GPU and says so") {
  if (draftjit::cuda_available()) return;  // with a GPU the device's arch is the default, tested on the device
  std::string out;
  CHECK(run_command("DRAFTJIT_DISABLE_DISK_CACHE=1 " + kCli + " warmup --bs 1", &out) == 2);
  CHECK(contains(out, "pass --arch"));
}

TEST_CASE("cli: warmup fills the cache, a second run finds it, cache verify/list/clear/path manage it") {
  TempDir dir;
  const std::string env = cache_dir_env(dir.path());
  std::string out;
  REQUIRE(run_command(env + kCli + " warmup --bs 1-4,200 --arch sm_90,sm_100 --jobs 2", &out) == 0);
  CAPTURE(out);
  CHECK(contains(out, "warmup: 10 kernels for 5 bs on sm_90,sm_100 with "));
  CHECK(contains(out, "10 compiled, 0 already cached, 0 failed, 0 not stored"));
  out.clear();
  REQUIRE(run_command(env + kCli + " warmup --bs 1-4,200 --arch sm_90,sm_100", &out) == 0);
  CHECK(contains(out, "0 compiled, 10 already cached, 0 failed"));
  out.clear();
  CHECK(run_command(env + kCli + " cache verify", &out) == 0);
  CHECK(contains(out, "10 files, 0 invalid, 0 temp"));
  out.clear();
  CHECK(run_command(env + kCli + " cache list", &out) == 0);
  CHECK(contains(out, "fused_blelloch.s256.c1.t128.sm_100-"));
  out.clear();
  CHECK(run_command(env + kCli + " cache path", &out) == 0);
  CHECK(contains(out, dir.path().string()));
  out.clear();
  run_command("printf 'DJCUBIN\\0junk' > '" + (dir.path() / "x.cubin").string() + "'");  // magic, then damage
  CHECK(run_command(env + kCli + " cache verify", &out) == 1);
  CHECK(contains(out, "INVALID"));
  out.clear();
  CHECK(run_command(env + kCli + " cache clear", &out) == 0);
  CHECK(contains(out, "removed 11 files"));
}

TEST_CASE("cli: emit --cubin-info compiles and reports the key") {
  std::string out;
  REQUIRE(run_command(kCli + " emit --bs 3 --cubin-info --arch sm_100", &out) == 0);
  CHECK(contains(out, "kernel: fused_unrolled.bs3.t128.sm_100-"));
  CHECK(contains(out, "entry: draftjit_fused"));
}

TEST_CASE("cli: warmup with stderr unwritable still warms the cache and exits 0") {
  // Progress and warnings that cannot be written are dropped; they used to throw inside a catch and abort (134).
  TempDir dir;
  std::string out;
  CHECK(run_command(cache_dir_env(dir.path()) + kCli + " warmup --bs 1-4 --arch sm_90 2>/dev/full", &out) == 0);
  CAPTURE(out);
  CHECK(contains(out, "4 compiled, 0 already cached, 0 failed, 0 not stored"));
}

// Issue 22 D5: these passed validation and then failed in NVRTC for every kernel (rc 1) instead of a usage error.
TEST_CASE("issue22 D5: arch names NVRTC cannot take are usage errors, before any compile") {
  for (const char* arch : {"sm_090", "sm_0090", "sm_090a", "sm_90f", "sm_80a", "compute_090"}) {
    CAPTURE(arch);
    std::string out;
    CHECK(run_command("DRAFTJIT_DISABLE_DISK_CACHE=1 " + kCli + " warmup --bs 1 --arch " + arch, &out) == 2);
    CHECK(contains(out, "not a real GPU architecture"));
  }
  std::string out;
  CHECK(run_command("DRAFTJIT_DISABLE_DISK_CACHE=1 " + kCli + " warmup --bs 1 --arch sm_90a,sm_100f", &out) == 0);
}

// Issue 22 D9: the option made NVRTC build sm_100 code that was stored under an sm_90 name; -time made it write a
// file. Both are refused with the variable named, and nothing is stored.
TEST_CASE("issue22 D9: NVRTC options that change the target or write files are refused") {
  for (const char* option : {"--gpu-architecture=sm_100", "-arch=sm_100", "-time=/tmp/draftjit-nvrtc-time.csv",
                             "-fdevice-time-trace=trace.json"}) {
    CAPTURE(option);
    TempDir dir;
    std::string out;
    CHECK(run_command(cache_dir_env(dir.path()) + "DRAFTJIT_NVRTC_OPTIONS='" + option + "' " + kCli +
                          " warmup --bs 1 --arch sm_90",
                      &out) == 2);
    CHECK(contains(out, "DRAFTJIT_NVRTC_OPTIONS"));
    CHECK(contains(out, "is refused"));
  }
}

// Issue 22, "also": the same arch twice built every kernel twice; output lost to a full stdout exited 0.
TEST_CASE("issue22: an arch given twice is built once, and a warmup whose output is lost exits non-zero") {
  TempDir dir;
  std::string out;
  CHECK(run_command(cache_dir_env(dir.path()) + kCli + " warmup --bs 1-2 --arch sm_90,sm_90", &out) == 0);
  CHECK(contains(out, "warmup: 2 kernels"));
  out.clear();
  CHECK(run_command(cache_dir_env(dir.path()) + kCli + " warmup --bs 1-2 --arch sm_90 >/dev/full", &out) == 1);
  CHECK(contains(out, "its output could not be written"));
}

TEST_CASE("issue21: warmup --kind dsa-* builds one mode's kernels for its switches, emit prints them") {
  TempDir dir;
  const std::string env = cache_dir_env(dir.path());
  std::string out;
  // 1, 2, 3 unrolled; 40 and 64 share the Blelloch kernel of 64 slots.
  REQUIRE(run_command(env + kCli + " warmup --bs 1-3,40,64 --kind dsa-extend --paged --seq64 --arch sm_90", &out) == 0);
  CAPTURE(out);
  CHECK(contains(out, "4 compiled, 0 already cached, 0 failed"));
  out.clear();
  REQUIRE(run_command(env + kCli + " cache list", &out) == 0);
  CHECK(contains(out, "dsa_draft_extend_blelloch.s64.c1.t256.seq64.paged.sm_90-"));
  out.clear();
  REQUIRE(run_command(kCli + " emit --bs 2 --kind dsa-verify --ctx2d --cubin-info", &out) == 0);
  CHECK(contains(out, "kernel: dsa_target_verify_unrolled.bs2.t256.ctx2d.sm_90-"));
  CHECK(contains(out, "entry: draftjit_dsa_target_verify"));
  out.clear();
  CHECK(run_command(kCli + " emit --bs 2 --kind dsa-decode --ctx2d", &out) == 2);
  CHECK(contains(out, "the dsa-decode kind's switches are seq64, pool32, paged, kpool, realonly, not 'ctx2d'"));
  out.clear();
  CHECK(run_command(kCli + " emit --bs 2 --paged", &out) == 2);
  CHECK(contains(out, "the main kind takes no switches, not 'paged'"));
  out.clear();
  CHECK(run_command(kCli + " warmup --bs 2 --kind dsa-nope --arch sm_90", &out) == 2);
  CHECK(contains(out, "kind must be one of main, fused, scan, fill, dsa-decode, dsa-verify, dsa-extend, trtllm-mha, "
                      "trtllm-mla, trtllm-mha-table, fa3-decode, fa3-extend, fa3-swa-spec, fa3-kv-splits, draft-locs, "
                      "draft-kv, kv-indices, flashmla, chunked-prefix, not 'dsa-nope'"));
  out.clear();
  CHECK(run_command(kCli + " emit --bs 65537 --kind dsa-decode", &out) == 2);
  CHECK(contains(out, "outside the supported range [0, 65536]"));
}
