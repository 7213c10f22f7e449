// Issue 30 N6: one rule for every environment variable that takes a word or a size (jit/environment): case and
// surrounding blanks do not matter, an unknown value is an error at first use and a failing `draftjit doctor`, and
// a safety switch (DRAFTJIT_JIT=strict) never fails open.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <stdexcept>
#include <string>

#include "draftjit/errors.hpp"
#include "jit/nvrtc/compile_policy.hpp"
#include "jit/cache/disk_cache.hpp"
#include "jit/cache/key_lock.hpp"
#include "jit/log.hpp"
#include "test_prologue.hpp"


namespace {

// freeze() under DRAFTJIT_JIT=value, then whether a compile is refused; the policy is reset after.
bool refused_after_freeze(const char* value) {
  reset_compile_policy_for_test(value);
  bool refused = false;
  try {
    freeze();
    check_compile_allowed("t00.sm_90-0000000000000000");
  } catch (const std::exception&) {
    refused = true;
  }
  reset_compile_policy_for_test(nullptr);
  return refused;
}

}  // namespace

TEST_CASE("issue30 N6: DRAFTJIT_JIT in any case or with blanks is strict, and an unknown value never fails open") {
  for (const char* value : {"strict", "STRICT", "Strict", "strict ", " strict\t", "bogus", "stric"}) {
    const std::string shown = value;
    CAPTURE(shown);
    CHECK(refused_after_freeze(value));
  }
  for (const char* value : {"allow", "ALLOW", " warn "}) {
    const std::string shown = value;
    CAPTURE(shown);
    CHECK_FALSE(refused_after_freeze(value));
  }
}

TEST_CASE("issue30 N6: DRAFTJIT_LOCK, DRAFTJIT_LOG and DRAFTJIT_CACHE_MAX_BYTES take any case, blanks and units") {
  CHECK(lock_mode_from("FILE") == LockMode::File);
  CHECK(lock_mode_from(" Flock ") == LockMode::Flock);
  CHECK_THROWS_WITH_AS(lock_mode_from("nfs"), doctest::Contains("DRAFTJIT_LOCK='nfs' is not one of flock, file"),
                       std::invalid_argument);

  set_log_threshold_for_test("INFO");
  CHECK(log_threshold() == LogLevel::Info);
  set_log_threshold_for_test(" Debug ");
  CHECK(log_threshold() == LogLevel::Debug);
  set_log_threshold_for_test(nullptr);

  TempDir dir;
  for (const char* value : {"2GB", "2G", "2g", "2GiB", " 2GB ", "2gib"}) {
    const std::string shown = value;
    CAPTURE(shown);
    ScopedEnv bound("DRAFTJIT_CACHE_MAX_BYTES", value);
    CHECK(DiskCache(dir.path()).max_bytes() == 2ULL << 30);
  }
  ScopedEnv bad("DRAFTJIT_CACHE_MAX_BYTES", "2 gigs");
  CHECK_THROWS_WITH_AS(DiskCache(dir.path()), doctest::Contains("DRAFTJIT_CACHE_MAX_BYTES: '2 gigs' is not a size"),
                       std::invalid_argument);
}

TEST_CASE("issue30 N6: an unknown value fails the CLI's first use and doctor, naming the variable and the value") {
  TempDir dir;
  for (const std::string setting :
       {"DRAFTJIT_JIT=stict", "DRAFTJIT_LOG=loud", "DRAFTJIT_LOCK=nfs", "DRAFTJIT_CACHE_MAX_BYTES=2gigs"}) {
    CAPTURE(setting);
    const std::string value = setting.substr(setting.find('=') + 1);
    std::string out;
    CHECK(run_command(cache_dir_env(dir.path()) + setting + " " + kCli + " doctor", &out) != 0);
    CHECK(contains(out, "doctor: NOT ok"));
    CHECK(contains(out, setting.substr(0, setting.find('='))));
    CHECK(contains(out, "'" + value + "'"));
    out.clear();
    CHECK(run_command(cache_dir_env(dir.path()) + setting + " " + kCli + " warmup --bs 1 --arch sm_90", &out) == 2);
    CHECK(contains(out, value));
  }
  std::string out;
  CHECK(run_command(cache_dir_env(dir.path()) + "DRAFTJIT_JIT=' Strict' DRAFTJIT_LOG=INFO DRAFTJIT_LOCK=FILE " +
                        "DRAFTJIT_CACHE_MAX_BYTES=2GB " + kCli + " doctor",
                    &out) == 0);
  CAPTURE(out);
  CHECK(contains(out, "doctor: ok"));
}
