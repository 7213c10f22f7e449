#pragma once
// The names the unit tests of the JIT core, the caches and the CLI use unqualified, declared once: such a test file
// includes this header instead of test_support.hpp and opens no namespace of its own. For test files only (it brings
// names into the global namespace of whatever includes it).
#include <filesystem>

#include "draftjit/tuning.hpp"
#include "jit/nvrtc/toolchain.hpp"
#include "ops/draft_extend/family.hpp"
#include "test_support.hpp"

using namespace draftjit::jit;
using namespace draftjit::ops::draft_extend;  // the draft-extend specs most tests compile
using draftjit::Tuning;
using draftjit::test::cache_dir_env;
using draftjit::test::contains;
using draftjit::test::kCli;
using draftjit::test::read_file;
using draftjit::test::run_command;
using draftjit::test::ScopedEnv;
using draftjit::test::TempDir;
using draftjit::test::WarningLog;
using draftjit::test::write_file;
namespace fs = std::filesystem;

namespace draftjit::test {

// The arch the tests compile for when the kernel, not the device, is what they are about.
inline const jit::Toolchain kSm90 = jit::Toolchain::for_arch("sm_90");

}  // namespace draftjit::test

using draftjit::test::kSm90;
