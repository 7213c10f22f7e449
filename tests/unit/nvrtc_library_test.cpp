// NVRTC is opened at run time (jit/nvrtc/nvrtc_library): found here, searched in order, and absent without breaking what
// needs no compiler. The search runs once per process, so the cases that change it run the CLI.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "draftjit/errors.hpp"
#include "jit/nvrtc/nvrtc_library.hpp"
#include "jit/nvrtc/toolchain.hpp"
#include "test_prologue.hpp"

namespace {

const std::string kMissing = "/nonexistent/libnvrtc.so.13";

}  // namespace

TEST_CASE("nvrtc: this machine's NVRTC is found and answers") {
  const draftjit::jit::NvrtcSearch& search = draftjit::jit::nvrtc_search();
  CAPTURE(search.error);
  REQUIRE_FALSE(search.path.empty());
  CHECK(contains(search.path, "libnvrtc.so"));
  CHECK_FALSE(search.origin.empty());
  CHECK(search.error.empty());
  int major = 0;
  int minor = 0;
  REQUIRE(draftjit::jit::nvrtc().nvrtcVersion(&major, &minor) == NVRTC_SUCCESS);
  CHECK(draftjit::jit::nvrtc_version() == std::to_string(major) + "." + std::to_string(minor));
}

TEST_CASE("nvrtc: an override that does not load fails the first compile only, naming the path and the variable") {
  const std::string env = "DRAFTJIT_DISABLE_DISK_CACHE=1 DRAFTJIT_NVRTC_LIBRARY=" + kMissing + " ";
  std::string out;
  CHECK(run_command(env + kCli + " emit --bs 4", &out) == 0);  // the source needs no compiler
  CHECK(contains(out, "draftjit_fused("));
  CHECK(run_command("DRAFTJIT_NVRTC_LIBRARY=" + kMissing + " " + kCli + " cache path", &out) == 0);
  for (const char* command : {" emit --bs 4 --ptx", " emit --bs 4 --cubin-info", " warmup --bs 1 --arch sm_90"}) {
    CAPTURE(command);
    out.clear();
    CHECK(run_command(env + kCli + command, &out) == 1);
    CAPTURE(out);
    CHECK(contains(out, kMissing + " (DRAFTJIT_NVRTC_LIBRARY): not found"));
    CHECK(contains(out, "nothing else is tried"));
  }
  out.clear();  // an arch of the wrong shape is still a usage error, found without NVRTC
  CHECK(run_command(env + kCli + " emit --bs 4 --arch garbage", &out) == 2);
  CHECK(contains(out, "not a real GPU architecture"));
}

TEST_CASE("nvrtc: an override that is not NVRTC is refused with the loader's reason") {
  TempDir dir;
  const fs::path fake = dir.path() / "libnvrtc.so.13";
  run_command("head -c 4096 /dev/zero > '" + fake.string() + "'");  // long enough to have an ELF header
  std::string out;
  CHECK(run_command("DRAFTJIT_NVRTC_LIBRARY='" + fake.string() + "' " + kCli + " emit --bs 4 --ptx", &out) == 1);
  CHECK(contains(out, fake.string() + " (DRAFTJIT_NVRTC_LIBRARY): "));
  CHECK(contains(out, "invalid ELF header"));  // dlerror's words
}

TEST_CASE("nvrtc: pip's wheel directories under DRAFTJIT_PYTHON_SITE_PACKAGES come before the toolkit") {
  const std::string real = draftjit::jit::nvrtc_search().path;
  REQUIRE_FALSE(real.empty());
  TempDir site;
  const fs::path wheel = site.path() / "nvidia" / "cuda_nvrtc" / "lib";
  fs::create_directories(wheel);
  // NVRTC opens its builtins from beside itself: the wheel has both, like nvidia-cuda-nvrtc.
  for (const auto& file : fs::directory_iterator(fs::path(real).parent_path())) {
    const std::string name = file.path().filename().string();
    if (name.starts_with("libnvrtc.so") || name.starts_with("libnvrtc-builtins.so")) {
      fs::create_symlink(file.path(), wheel / name);
    }
  }
  const std::string empty_site = (site.path() / "empty").string();
  std::string out;
  REQUIRE(run_command("DRAFTJIT_PYTHON_SITE_PACKAGES='" + empty_site + ":" + site.path().string() + "' " + kCli +
                          " doctor",
                      &out) == 0);
  CAPTURE(out);
  CHECK(contains(out, "nvrtc: loaded " + (wheel / "libnvrtc.so.13").string() +
                          " (found by DRAFTJIT_PYTHON_SITE_PACKAGES)"));
  CHECK(contains(out, empty_site + "/nvidia/cu13/lib (DRAFTJIT_PYTHON_SITE_PACKAGES): not found"));
  CHECK(contains(out, site.path().string() + "/nvidia/cu13/lib (DRAFTJIT_PYTHON_SITE_PACKAGES): not found"));
  // And it compiles from there.
  out.clear();
  CHECK(run_command("DRAFTJIT_PYTHON_SITE_PACKAGES='" + site.path().string() + "' " + kCli +
                        " emit --bs 4 --cubin-info",
                    &out) == 0);
  CHECK(contains(out, "cubin bytes:"));
}

TEST_CASE("nvrtc: the CLI does not link libnvrtc") {
  std::string out;
  const int rc = run_command("readelf -d '" + kCli + "'", &out);
  if (rc == 127) return;  // no binutils here
  REQUIRE(rc == 0);
  CHECK(contains(out, "NEEDED"));
  CHECK_FALSE(contains(out, "libnvrtc"));
}
