#include <doctest/doctest.h>
#include <fmt/format.h>

#include <string>

#include "jit/kernel_family.hpp"
#include "ops/draft_extend/family.hpp"
#include "jit/nvrtc/codegen.hpp"
#include "jit/nvrtc/cubin_arch.hpp"
#include "draftjit/errors.hpp"
#include "jit/kernel_key.hpp"
#include "jit/nvrtc/nvrtc_compiler.hpp"
#include "jit/pipeline.hpp"
#include "jit/nvrtc/templates.hpp"
#include "test_support.hpp"

using namespace draftjit;
using namespace draftjit::jit;
using namespace draftjit::ops::draft_extend;

namespace {

bool is_elf(const std::vector<char>& cubin) {
  return cubin.size() > 4 && cubin[0] == 0x7f && cubin[1] == 'E' && cubin[2] == 'L' && cubin[3] == 'F';
}

}  // namespace

TEST_CASE("every kernel kind compiles to a cubin for sm_90 and sm_100 without a GPU") {
  const Tuning tuning;
  for (const char* arch : {"sm_90", "sm_100"}) {
    const Toolchain toolchain = Toolchain::for_arch(arch);
    for (const KernelSpec& spec : {fused_spec(0, tuning), fused_spec(1, tuning), fused_spec(64, tuning),
                                   fused_spec(200, tuning), fused_spec(kMaxFusedBs, tuning), scan_spec(0, tuning),
                                   scan_spec(33, tuning), scan_spec(1000, tuning), scan_spec(kMaxBs, tuning),
                                   fill_spec(tuning)}) {
      CAPTURE(arch);
      CAPTURE(spec.name());
      const RenderedKernel rendered = render(spec, toolchain);
      const CompileOutput out = compile(rendered.source, toolchain, rendered.key.stem, true);
      CHECK(is_elf(out.cubin));
      CHECK(out.ptx.find(std::string(".entry ") + spec.variant_info().entry) != std::string::npos);
    }
  }
}

TEST_CASE("every header of templates/ compiles on its own with NVRTC") {
  const Toolchain toolchain = Toolchain::for_arch("sm_90");
  for (const EmbeddedTemplate& header : embedded_templates()) {
    CAPTURE(header.file_name);
    // Only the header's own #includes are resolved: one that leans on a name defined by another it does not include
    // fails here.
    CHECK_NOTHROW(compile(inline_headers(fmt::format("#include \"{}\"\n", header.file_name)), toolchain,
                          header.file_name));
  }
}

TEST_CASE("a compile error carries the kernel key and NVRTC's log") {
  try {
    compile("extern \"C\" __global__ void broken() { this_is_not_cuda; }", Toolchain::for_arch("sm_90"),
            "broken.key");
    FAIL("no exception");
  } catch (const CompileError& e) {
    CHECK(e.key() == "broken.key");
    CHECK(e.log().find("this_is_not_cuda") != std::string::npos);
    const std::string what = e.what();
    CHECK(what.find("broken.key") != std::string::npos);
    CHECK(what.find("this_is_not_cuda") != std::string::npos);
  }
}

TEST_CASE("a toolchain is validated once: real architectures this NVRTC supports, else a usage error") {
  for (const char* good : {"sm_90", "sm_90a", "sm_100"}) {
    CAPTURE(good);
    const Toolchain toolchain = Toolchain::for_arch(good);
    CHECK(toolchain.arch == good);
    CHECK(toolchain.options.front() == std::string("--gpu-architecture=") + good);
  }
  for (const char* bad : {"compute_", "compute_9x", "sm_", "sm_9x", "90", "sm_90b", "sm_90a_"}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(Toolchain::for_arch(bad), doctest::Contains("not a real GPU architecture"),
                         std::invalid_argument);
  }
  // Shaped right but too old for this NVRTC: one clear error naming what it supports, before any compile.
  CHECK_THROWS_WITH_AS(Toolchain::for_arch("sm_35"), doctest::Contains("is not supported by NVRTC"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(Toolchain::for_arch("sm_35"), doctest::Contains("sm_90"), std::invalid_argument);
}

TEST_CASE("kernel keys change with everything that changes the cubin") {
  const KernelSpec spec = fused_spec(5, Tuning{});
  const Toolchain sm90 = Toolchain::for_arch("sm_90");
  const KernelKey a = make_key(spec, sm90);
  CHECK(a.text == make_key(spec, sm90).text);
  CHECK(a.hash == make_key(spec, sm90).hash);
  CHECK(a.hash != make_key(spec, Toolchain::for_arch("sm_100")).hash);
  CHECK(a.hash != make_key(fused_spec(6, Tuning{}), sm90).hash);
  KernelSpec more_slots = spec;  // a field the name does not show still changes the key
  more_slots.slots *= 2;
  CHECK(a.hash != make_key(more_slots, sm90).hash);
  Toolchain other_nvrtc = sm90;
  other_nvrtc.nvrtc_version = "99.0";
  CHECK(a.hash != make_key(spec, other_nvrtc).hash);
  // The renderer's build-time digest stands for the source: edits to templates/ or jit/nvrtc/codegen change it.
  CHECK(a.text.find(fmt::format("headers {}", templates_digest())) != std::string::npos);
  CHECK(templates_digest().size() == 16);
  CHECK(a.text.find("nvrtc " + sm90.nvrtc_version) != std::string::npos);
  CHECK(a.text.find("draftjit 0.") != std::string::npos);
  CHECK(a.text.find("--gpu-architecture=sm_90") != std::string::npos);
  CHECK(a.stem.rfind("fused_unrolled.bs5.t128.sm_90-", 0) == 0);
}

// In a process of its own: the options are read once per process, at the first toolchain.
TEST_CASE("DRAFTJIT_NVRTC_OPTIONS adds options to the toolchain and so to every key") {
  const std::string emit = std::string(DRAFTJIT_CLI) + " emit --bs 5 --kind fused --cubin-info";
  std::string plain;
  std::string extra;
  REQUIRE(draftjit::test::run_command(emit, &plain) == 0);
  REQUIRE(draftjit::test::run_command("DRAFTJIT_NVRTC_OPTIONS=' --Ofast-compile=min  -lineinfo ' " + emit, &extra) ==
          0);
  CAPTURE(extra);
  CHECK(draftjit::test::contains(extra, "--Ofast-compile=min -lineinfo"));  // in the key text, in order
  CHECK(!draftjit::test::contains(plain, "-lineinfo"));
}

// Issue 30 N8: ptxas options (-Xptxas=--gpu-name=..., --ptxas-options=...) retarget the cubin behind the arch's back,
// past the option refusal: what a compile returns must be checked for its ELF's arch, whatever the options said.
TEST_CASE("issue30 N8: a cubin ptxas made for another arch is refused, whichever option asked for it") {
  const KernelSpec spec = fill_spec(Tuning{});
  for (const std::vector<std::string>& extra : std::vector<std::vector<std::string>>{
           {"-Xptxas=--gpu-name=sm_100"}, {"--ptxas-options=--gpu-name=sm_100"}, {"-Xptxas", "--gpu-name=sm_100"}}) {
    CAPTURE(extra[0]);
    Toolchain toolchain = Toolchain::for_arch("sm_90");
    toolchain.options.insert(toolchain.options.end(), extra.begin(), extra.end());
    CHECK_THROWS_WITH_AS(compile(render_source(spec), toolchain, "k"), doctest::Contains("sm_100"), Error);
  }
  test::TempDir dir;
  std::string out;
  CHECK(test::run_command(test::cache_dir_env(dir.path()) + "DRAFTJIT_NVRTC_OPTIONS=-Xptxas=--gpu-name=sm_100 " +
                              test::kCli + " warmup --bs 1 --arch sm_90",
                          &out) != 0);
  CAPTURE(out);
  CHECK(test::contains(out, "sm_100"));
  for (const auto& file : std::filesystem::directory_iterator(dir.path())) {
    CHECK_FALSE(file.path().extension() == ".cubin");
  }
}

TEST_CASE("issue30 N8: cubin_sm reads the SM of both ELF flag encodings, and nothing from what is not a CUDA ELF") {
  const std::vector<char> sm90 = compile(render_source(fill_spec(Tuning{})), Toolchain::for_arch("sm_90"), "k").cubin;
  CHECK(cubin_sm(std::string_view(sm90.data(), sm90.size())) == 90);
  // The old encoding (ELF ABI version 7, CUDA 12.x and older): the SM in e_flags' low byte, e.g. 0x5a005a.
  std::string old_abi(sm90.begin(), sm90.end());
  old_abi[8] = 7;
  for (const auto& [at, byte] : {std::pair{48, 0x5a}, {49, 0x00}, {50, 0x5a}, {51, 0x00}}) {
    old_abi[static_cast<std::size_t>(at)] = static_cast<char>(byte);
  }
  CHECK(cubin_sm(old_abi) == 90);
  CHECK_FALSE(cubin_sm(old_abi.substr(0, 40)));  // a header cut short
  std::string not_cuda = old_abi;
  not_cuda[18] = 62;  // EM_X86_64
  CHECK_FALSE(cubin_sm(not_cuda));
  CHECK_FALSE(cubin_sm("// PTX\n.version 8.0\n"));
}
