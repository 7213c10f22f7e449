// Virtual archs (compute_XX): NVRTC emits PTX, stored where a cubin would be, and the driver finishes it at load.
// That is what a GPU newer than NVRTC's list gets (choose_toolchain_for_device), and what --arch compute_XX asks for.
#include <doctest/doctest.h>

#include <regex>
#include <string>

#include "draftjit/errors.hpp"
#include "jit/nvrtc/codegen.hpp"
#include "jit/kernel_key.hpp"
#include "jit/nvrtc/nvrtc_compiler.hpp"
#include "jit/nvrtc/toolchain.hpp"
#include "test_prologue.hpp"

using namespace draftjit;

TEST_CASE("virtual arch: for_arch takes compute_XX when NVRTC lists XX, and its kernels are NUL-terminated PTX") {
  const Toolchain toolchain = Toolchain::for_arch("compute_90");
  CHECK(toolchain.arch == "compute_90");
  CHECK(toolchain.emits_ptx());
  CHECK_FALSE(Toolchain::for_arch("sm_90").emits_ptx());
  CHECK(toolchain.options.front() == "--gpu-architecture=compute_90");
  CHECK(Toolchain::for_arch("compute_90a").emits_ptx());
  CHECK_THROWS_WITH_AS(Toolchain::for_arch("compute_35"), doctest::Contains("is not supported by NVRTC"),
                       std::invalid_argument);

  const KernelSpec spec = fused_spec(5, Tuning{});
  const CompileOutput out = compile(render_source(spec), toolchain, "virtual", /*want_ptx=*/true);
  REQUIRE(!out.cubin.empty());
  CHECK(out.cubin.back() == '\0');  // what cuModuleLoadData needs to read PTX
  const std::string stored(out.cubin.data(), out.cubin.size() - 1);
  CHECK(stored == out.ptx);
  CHECK(contains(stored, ".target sm_90"));
  CHECK(contains(stored, ".entry draftjit_fused("));
  // PTX and cubins never share a key or a file.
  const KernelKey ptx_key = make_key(spec, toolchain);
  CHECK(ptx_key.hash != make_key(spec, Toolchain::for_arch("sm_90")).hash);
  CHECK(arch_of_stem(ptx_key.stem) == "compute_90");
  CHECK(is_virtual_arch(arch_of_stem(ptx_key.stem + ".cubin")));
  CHECK_FALSE(is_virtual_arch(arch_of_stem(make_key(spec, Toolchain::for_arch("sm_90")).stem)));
}

TEST_CASE("virtual arch: a device gets cubins for an arch NVRTC knows, else PTX of the newest one below it") {
  CHECK(choose_toolchain_for_device("sm_90").arch == "sm_90");
  CHECK_FALSE(choose_toolchain_for_device("sm_90").emits_ptx());
  const std::vector<std::string> archs = supported_archs();
  const std::string newest = "compute_" + archs.back().substr(3);
  const Toolchain far = choose_toolchain_for_device("sm_990");
  CHECK(far.arch == newest);
  CHECK(far.emits_ptx());
  CHECK_THROWS_WITH_AS(choose_toolchain_for_device("sm_10"), doctest::Contains("sm_10"), Error);
  const std::string named_version = "NVRTC " + nvrtc_version();
  CHECK_THROWS_WITH_AS(choose_toolchain_for_device("sm_10"), doctest::Contains(named_version.c_str()), Error);
  CHECK_THROWS_WITH_AS(choose_toolchain_for_device("sm_10"), doctest::Contains(archs.front().c_str()), Error);
}

TEST_CASE("cli: warmup --arch compute_90 stores PTX entries, and cache list marks them") {
  TempDir dir;
  const std::string env = cache_dir_env(dir.path());
  std::string out;
  REQUIRE(run_command(env + kCli + " warmup --bs 1,300 --arch compute_90,sm_90", &out) == 0);
  CAPTURE(out);
  CHECK(contains(out, "4 compiled, 0 already cached, 0 failed"));
  out.clear();
  CHECK(run_command(env + kCli + " cache list", &out) == 0);
  CHECK(std::regex_search(out, std::regex(R"(ok +\d+ +\d+s +0 ptx    fused_unrolled\.bs1\.t128\.compute_90-)")));
  CHECK(std::regex_search(out, std::regex(R"(ok +\d+ +\d+s +0 cubin  fused_unrolled\.bs1\.t128\.sm_90-)")));
  out.clear();
  CHECK(run_command(env + kCli + " cache verify", &out) == 0);
  out.clear();
  CHECK(run_command(env + kCli + " doctor", &out) == 0);
  CHECK(contains(out, "4 entries, "));
  CHECK(contains(out, ", 2 of them PTX"));
}

TEST_CASE("cli: emit --arch compute_90 prints PTX, or its size with --cubin-info") {
  std::string out;
  CHECK(run_command(kCli + " emit --bs 5 --arch compute_90 --ptx", &out) == 0);
  CHECK(contains(out, ".entry draftjit_fused("));
  out.clear();
  CHECK(run_command(kCli + " emit --bs 5 --arch compute_90 --cubin-info", &out) == 0);
  CHECK(contains(out, "kernel: fused_unrolled.bs5.t128.compute_90-"));
  CHECK(contains(out, "(PTX: a virtual arch, finished by the driver at load)"));
  out.clear();
  CHECK(run_command(kCli + " emit --bs 5 --arch compute_90", &out) == 0);  // the source: no NVRTC needed
  CHECK(contains(out, "draftjit_fused("));
}
