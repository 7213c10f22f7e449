#include <doctest/doctest.h>
#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "jit/pipeline.hpp"
#include "test_support.hpp"

using namespace draftjit::jit;
using draftjit::Tuning;
using draftjit::test::ScopedEnv;
using draftjit::test::TempDir;
using draftjit::test::WarningLog;
namespace fs = std::filesystem;

namespace {

const KernelSpec kSpec = fused_spec(7, Tuning{});
const Toolchain kSm90 = Toolchain::for_arch("sm_90");

// Compiles kSpec through a fresh cache over dir (one "process"), returning where it came from.
Origin fetch(const fs::path& dir, WarningLog& warnings, std::vector<char>* cubin = nullptr) {
  Pipeline cache(std::make_unique<DiskCache>(dir, warnings.sink()));
  Origin origin{};
  auto kernel = cache.get(kSpec, kSm90, &origin);
  if (cubin != nullptr) *cubin = kernel->cubin;
  return origin;
}

// Everything in dir but the compile locks.
std::vector<fs::path> cache_files(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().filename() != ".locks") files.push_back(entry.path());
  }
  return files;
}

fs::path only_file(const fs::path& dir) {
  const std::vector<fs::path> files = cache_files(dir);
  REQUIRE(files.size() == 1);
  return files[0];
}

bool all_valid(const fs::path& dir) {
  for (const DiskCache::Entry& e : DiskCache(dir).list().entries) {
    if (e.file.state != FileState::Valid) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("default cache dir follows DRAFTJIT_CACHE_DIR, XDG_CACHE_HOME, HOME and the off switch") {
  ScopedEnv off("DRAFTJIT_DISABLE_DISK_CACHE", std::nullopt);
  {
    ScopedEnv dir("DRAFTJIT_CACHE_DIR", "/x/y");
    CHECK(cache_location_from_env().writable == fs::path("/x/y"));
  }
  ScopedEnv no_dir("DRAFTJIT_CACHE_DIR", std::nullopt);
  {
    ScopedEnv xdg("XDG_CACHE_HOME", "/xdg");
    CHECK(cache_location_from_env().writable == fs::path("/xdg/draftjit"));
  }
  ScopedEnv no_xdg("XDG_CACHE_HOME", std::nullopt);
  ScopedEnv home("HOME", "/home/u");
  CHECK(cache_location_from_env().writable == fs::path("/home/u/.cache/draftjit"));
  ScopedEnv disable("DRAFTJIT_DISABLE_DISK_CACHE", "1");
  CHECK_FALSE(cache_location_from_env().writable.has_value());
}

TEST_CASE("a file has a header with magic, version, key, size and checksum, and round-trips") {
  TempDir dir;
  WarningLog warnings;
  std::vector<char> cubin;
  CHECK(fetch(dir.path(), warnings, &cubin) == Origin::Compiled);
  const CacheFile file = read_cache_file(only_file(dir.path()));
  CHECK(file.problem.empty());
  CHECK(file.cubin_bytes == cubin.size());
  CHECK(file.key.find("fused_unrolled.bs7.t128") != std::string::npos);
  CHECK(fetch(dir.path(), warnings) == Origin::Disk);
  CHECK(warnings.messages.empty());
}

TEST_CASE("a truncated or corrupted file is detected, recompiled and rewritten, with a warning") {
  for (const char* damage : {"truncate-body", "truncate-header", "flip-byte", "garbage", "huge-size"}) {
    CAPTURE(damage);
    TempDir dir;
    WarningLog warnings;
    std::vector<char> good;
    fetch(dir.path(), warnings, &good);
    const fs::path path = only_file(dir.path());
    const auto size = fs::file_size(path);
    if (std::string(damage) == "truncate-body") fs::resize_file(path, size - 10);
    if (std::string(damage) == "truncate-header") fs::resize_file(path, 5);
    if (std::string(damage) == "flip-byte") {
      std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(static_cast<std::streamoff>(size - 100));
      f.put('\x5a');
    }
    if (std::string(damage) == "garbage") std::ofstream(path, std::ios::binary | std::ios::trunc) << "not a cubin";
    if (std::string(damage) == "huge-size") {  // a size field that would wrap the bounds arithmetic
      std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(16);  // magic (8), format version (4), key size (4), then the cubin size
      const std::uint64_t huge = ~std::uint64_t{0} - 40;
      f.write(reinterpret_cast<const char*>(&huge), sizeof huge);
    }
    CHECK_FALSE(read_cache_file(path).problem.empty());

    std::vector<char> rebuilt;
    CHECK(fetch(dir.path(), warnings, &rebuilt) == Origin::Compiled);
    CHECK(rebuilt == good);
    REQUIRE(warnings.messages.size() == 1);
    CHECK(warnings.messages[0].find("rebuilt") != std::string::npos);
    CHECK(read_cache_file(only_file(dir.path())).problem.empty());
    CHECK(fetch(dir.path(), warnings) == Origin::Disk);
  }
}

TEST_CASE("a file under another key (other NVRTC, driver or library version) is never a stale hit") {
  TempDir dir;
  WarningLog warnings;
  DiskCache disk(dir.path(), warnings.sink());
  KernelKey key = make_key(kSpec, kSm90);
  KernelKey other = key;
  other.text.replace(other.text.find("nvrtc "), 6, "nvrtc 99.");
  CHECK(disk.store(other, {'a', 'b'}));  // same file name, different full key
  CHECK_FALSE(disk.load(key).has_value());
  REQUIRE(warnings.messages.size() == 1);
  CHECK(warnings.messages[0].find("another key") != std::string::npos);
}

TEST_CASE("an unusable cache directory falls back to memory with one warning") {
  TempDir dir;
  const fs::path blocker = dir.path() / "file";
  std::ofstream(blocker) << "x";
  // A directory that cannot exist (its parent is a file) and one that exists but refuses new files even to root.
  for (const fs::path& bad : {blocker / "cache", fs::path("/proc/self")}) {
    CAPTURE(bad.string());
    WarningLog warnings;
    Pipeline cache(std::make_unique<DiskCache>(bad, warnings.sink()));
    Origin origin{};
    cache.get(kSpec, kSm90, &origin);
    CHECK(origin == Origin::Compiled);
    cache.get(fused_spec(8, Tuning{}), kSm90, &origin);
    CHECK(origin == Origin::Compiled);
    cache.get(kSpec, kSm90, &origin);
    CHECK(origin == Origin::Memory);
    CHECK(warnings.messages.size() == 1);
    CHECK(warnings.messages[0].find("memory only") != std::string::npos);
  }
}

TEST_CASE("a full disk leaves no partial file and falls back to memory with one warning") {
  TempDir dir;
  WarningLog warnings;
  // RLIMIT_FSIZE makes write() fail part-way with EFBIG, as ENOSPC would on a full disk.
  rlimit old{};
  REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
  auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = 64;
  REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
  Pipeline cache(std::make_unique<DiskCache>(dir.path(), warnings.sink()));
  Origin origin{};
  cache.get(kSpec, kSm90, &origin);
  cache.get(fused_spec(9, Tuning{}), kSm90, &origin);
  setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);

  CHECK(origin == Origin::Compiled);
  CHECK(warnings.messages.size() == 1);
  CHECK(warnings.messages[0].find("memory only") != std::string::npos);
  CHECK(cache_files(dir.path()).empty());  // the temp file was removed, nothing partial was renamed into place
}

TEST_CASE("list, verify and clear see draftjit's entries only") {
  TempDir dir;
  WarningLog warnings;
  fetch(dir.path(), warnings);
  DiskCache disk(dir.path());
  REQUIRE(disk.list().entries.size() == 1);
  const fs::path entry = only_file(dir.path());
  std::ofstream(dir.path() / "damaged.cubin") << std::string("DJCUBIN\0", 8) << "then junk";
  std::ofstream(dir.path() / "bogus.cubin") << "junk";
  std::ofstream(dir.path() / "unrelated.txt") << "keep me";
  const DiskCache::Listing listing = disk.list();
  CHECK(listing.entries.size() == 2);
  CHECK(listing.others == 2);
  CHECK(!all_valid(dir.path()));
  CHECK(disk.remove(/*entries=*/true).removed == 2);
  CHECK(disk.list().entries.empty());
  CHECK_FALSE(fs::exists(entry));
  CHECK(fs::exists(dir.path() / "bogus.cubin"));
  CHECK(fs::exists(dir.path() / "unrelated.txt"));
}

TEST_CASE("two processes warming the same keys at once both succeed and leave only valid files") {
  TempDir dir;
  const std::string env = draftjit::test::cache_dir_env(dir.path());
  const std::string warm = env + DRAFTJIT_CLI + " warmup --bs 1-24,100-300 --arch sm_90 --jobs 2 > /dev/null 2>&1";
  std::string out;
  const int rc = draftjit::test::run_command("(" + warm + ") & (" + warm + ") & wait %1; a=$?; wait %2; b=$?; "
                                             "echo rc $a $b; [ $a -eq 0 ] && [ $b -eq 0 ]",
                                             &out);
  CAPTURE(out);
  CHECK(rc == 0);
  CHECK(all_valid(dir.path()));
  // unrolled 1..24 and 100..128, Blelloch 256 and 512
  CHECK(DiskCache(dir.path()).list().entries.size() == 24 + 29 + 2);
  for (const fs::path& file : cache_files(dir.path())) CHECK(file.extension() == ".cubin");  // no temp file left
}
