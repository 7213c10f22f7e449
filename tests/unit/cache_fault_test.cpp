// Faults around the disk cache and the CLI (issue 9): each case names the defect it pins down.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>

#include "jit/pipeline.hpp"
#include "test_prologue.hpp"

namespace {

// The file the runtime and warmup use for the main kernel of bs on sm_90.
fs::path entry_path(const fs::path& dir, int bs) {
  return dir / (render(fused_spec(bs, Tuning{}), kSm90).key.stem + ".cubin");
}

void make_old(const fs::path& path) {  // an hour ago: older than any in-flight write
  const auto an_hour_ago = fs::file_time_type::clock::now() - std::chrono::hours(1);
  fs::last_write_time(path, an_hour_ago);
}

// The sum of "N compiled" over every warmup summary line in out.
int compiled_in(const std::string& out) {
  static const std::regex summary(R"((\d+) compiled, )");
  int total = 0;
  for (std::sregex_iterator it(out.begin(), out.end(), summary), end; it != end; ++it) total += std::stoi((*it)[1]);
  return total;
}

}  // namespace

TEST_CASE("fault 1: a FIFO in an entry's place never blocks warmup, verify or list, and is left alone") {
  TempDir dir;
  const fs::path fifo = entry_path(dir.path(), 1);
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  for (const char* command : {"warmup --bs 1-2 --arch sm_90", "cache verify", "cache list"}) {
    CAPTURE(command);
    std::string out;
    const int rc = run_command("timeout 20 env " + cache_dir_env(dir.path()) + kCli + " " + command, &out);
    CAPTURE(out);
    CHECK(rc != 124);  // timeout's code: the command hung
  }
  std::string out;
  run_command(cache_dir_env(dir.path()) + kCli + " warmup --bs 1 --arch sm_90", &out);
  CHECK(contains(out, "not a regular file"));
  CHECK(fs::is_fifo(fifo));
}

TEST_CASE("fault 2: a cache file grown to 3 GiB is rejected from its size, without reading it") {
  if (draftjit::test::kAddressSanitizer) {
    MESSAGE("skipped 'fault 2': under ASan the CLI reserves terabytes of address space, which ulimit -v forbids");
    return;
  }
  TempDir dir;
  const std::string env = cache_dir_env(dir.path());
  REQUIRE(run_command(env + kCli + " warmup --bs 1 --arch sm_90") == 0);
  fs::resize_file(entry_path(dir.path(), 1), std::uintmax_t{3} << 30);  // sparse: costs no disk
  // 1 GB of address space: enough for NVRTC, far too little to read the file whole.
  std::string out;
  CHECK(run_command("ulimit -v 1000000; " + env + kCli + " cache verify", &out) == 1);
  CHECK(contains(out, "INVALID"));
  CHECK_FALSE(contains(out, "bad_alloc"));
  out.clear();
  CHECK(run_command("ulimit -v 1000000; " + env + kCli + " warmup --bs 1 --arch sm_90", &out) == 0);
  CAPTURE(out);
  CHECK(contains(out, "1 compiled"));
  CHECK(fs::file_size(entry_path(dir.path(), 1)) < 1 << 20);
}

TEST_CASE("fault 3: cache clear removes draftjit's entries and stale temp files only") {
  TempDir dir;
  TempDir outside;
  const std::string env = cache_dir_env(dir.path());
  REQUIRE(run_command(env + kCli + " warmup --bs 1-2 --arch sm_90") == 0);
  const std::string entry_bytes = read_file(entry_path(dir.path(), 1));
  write_file(dir.path() / "notes.cubin", "the user's own file");
  fs::create_directory(dir.path() / "empty.cubin");
  write_file(outside.path() / "target.cubin", entry_bytes);
  fs::create_symlink(outside.path() / "target.cubin", dir.path() / "link.cubin");
  const fs::path in_flight = entry_path(dir.path(), 3).string() + ".tmp.4242.0123456789abcdef";
  write_file(in_flight, entry_bytes.substr(0, 100));  // a warmup writing right now
  const fs::path stale = entry_path(dir.path(), 4).string() + ".tmp.4243.fedcba9876543210";
  write_file(stale, entry_bytes.substr(0, 100));  // left by a killed warmup
  make_old(stale);

  std::string out;
  CHECK(run_command(env + kCli + " cache clear", &out) == 0);
  CAPTURE(out);
  CHECK(contains(out, "removed 3 files"));  // two entries and the stale temp file
  CHECK_FALSE(fs::exists(entry_path(dir.path(), 1)));
  CHECK_FALSE(fs::exists(stale));
  CHECK(read_file(dir.path() / "notes.cubin") == "the user's own file");
  CHECK(fs::is_directory(dir.path() / "empty.cubin"));
  CHECK(fs::is_symlink(dir.path() / "link.cubin"));
  CHECK(fs::exists(outside.path() / "target.cubin"));
  CHECK(fs::exists(in_flight));
}

TEST_CASE("fault 4: one entry that cannot be stored does not stop the others, and warmup says so") {
  TempDir dir;
  const fs::path squatter = entry_path(dir.path(), 1);
  fs::create_directories(squatter / "inside");  // a non-empty directory in the entry's place
  std::string out;
  CHECK(run_command(cache_dir_env(dir.path()) + kCli + " warmup --bs 1-3 --arch sm_90 --jobs 1", &out) == 1);
  CAPTURE(out);
  CHECK(contains(out, "1 not stored"));
  CHECK(fs::is_directory(squatter / "inside"));
  CHECK(fs::is_regular_file(entry_path(dir.path(), 2)));
  CHECK(fs::is_regular_file(entry_path(dir.path(), 3)));
}

TEST_CASE("fault 5: failures are never reported as success") {
  TempDir dir;
  const fs::path file = dir.path() / "a-file";
  write_file(file, "x");
  for (const char* action : {"list", "verify", "clear"}) {
    CAPTURE(action);
    std::string out;
    CHECK(run_command(cache_dir_env(file) + kCli + " cache " + action, &out) == 1);
    CHECK(contains(out, "Not a directory"));
  }
  std::string out;
  CHECK(run_command(cache_dir_env(file / "cache") + kCli + " warmup --bs 1-2 --arch sm_90", &out) == 1);
  CAPTURE(out);
  CHECK(contains(out, "2 not stored"));
  CHECK_FALSE(contains(out, "bytes of cubin in"));
}

TEST_CASE("fault 6: a transient read error (EMFILE) is a miss, not corruption: the file is kept") {
  TempDir dir;
  WarningLog warnings;
  const KernelKey key = render(fused_spec(7, Tuning{}), kSm90).key;
  DiskCache disk(dir.path(), warnings.sink());
  REQUIRE(disk.store(key, {'c', 'u', 'b', 'i', 'n'}));
  const std::string before = read_file(disk.path_for(key));

  rlimit old{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &old) == 0);
  rlimit low = old;
  low.rlim_cur = 64;
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
  std::vector<int> fds;
  for (int fd; (fd = ::open("/dev/null", O_RDONLY)) >= 0;) fds.push_back(fd);
  const bool hit = disk.load(key).has_value();
  for (int fd : fds) ::close(fd);
  ::setrlimit(RLIMIT_NOFILE, &old);

  CHECK_FALSE(hit);
  CHECK(read_file(disk.path_for(key)) == before);
  REQUIRE(warnings.messages.size() == 1);
  CHECK(contains(warnings.messages[0], "Too many open files"));
  CHECK(disk.load(key).has_value());
}

TEST_CASE("fault 7: with no HOME, XDG_CACHE_HOME or DRAFTJIT_CACHE_DIR the tools name those, not the off switch") {
  std::string out;
  const std::string unset = "env -u HOME -u XDG_CACHE_HOME -u DRAFTJIT_CACHE_DIR -u DRAFTJIT_DISABLE_DISK_CACHE ";
  run_command(unset + kCli + " cache path", &out);
  CAPTURE(out);
  CHECK_FALSE(contains(out, "DRAFTJIT_DISABLE_DISK_CACHE"));
  CHECK(contains(out, "HOME"));
  out.clear();
  CHECK(run_command(unset + kCli + " cache list", &out) == 1);
  CHECK_FALSE(contains(out, "DRAFTJIT_DISABLE_DISK_CACHE"));
}

TEST_CASE("fault 8: a killed warmup's temp files are listed, and the next warmup removes the stale ones") {
  TempDir dir;
  const std::string env = cache_dir_env(dir.path());
  REQUIRE(run_command(env + kCli + " warmup --bs 1 --arch sm_90") == 0);
  const std::string entry_bytes = read_file(entry_path(dir.path(), 1));
  const fs::path stale = entry_path(dir.path(), 2).string() + ".tmp.4243.fedcba9876543210";
  write_file(stale, entry_bytes.substr(0, 100));
  make_old(stale);
  const fs::path in_flight = entry_path(dir.path(), 3).string() + ".tmp.4242.0123456789abcdef";
  write_file(in_flight, entry_bytes.substr(0, 100));

  std::string out;
  CHECK(run_command(env + kCli + " cache list", &out) == 0);
  CAPTURE(out);
  CHECK(contains(out, stale.filename().string()));
  CHECK(contains(out, in_flight.filename().string()));
  out.clear();
  CHECK(run_command(env + kCli + " warmup --bs 1 --arch sm_90", &out) == 0);
  CHECK(contains(out, "removed 1 stale temp file"));
  CHECK_FALSE(fs::exists(stale));
  CHECK(fs::exists(in_flight));
}

TEST_CASE("fault 9: --bs ranges are merged before they are expanded") {
  if (draftjit::test::kAddressSanitizer) {
    MESSAGE("skipped 'fault 9': under ASan the CLI reserves terabytes of address space, which ulimit -v forbids");
    return;
  }
  std::string bs = "0-1048576";
  for (int i = 1; i < 200; ++i) bs += ",0-1048576";
  // 400 MB of address space: the expanded list alone would take 800 MB. sm_35 then stops the run before compiling.
  std::string out;
  CHECK(run_command("ulimit -v 400000; DRAFTJIT_DISABLE_DISK_CACHE=1 " + kCli + " warmup --arch sm_35 --bs " + bs,
                    &out) == 2);
  CAPTURE(out);
  CHECK(contains(out, "sm_35"));
}

TEST_CASE("fault 10: weak spots of the CLI and the environment") {
  std::string out;
  SUBCASE("a repeated flag is a usage error") {
    CHECK(run_command(kCli + " emit --bs 3 --bs 4", &out) == 2);
    CHECK(contains(out, "--bs given more than once"));
  }
  SUBCASE("--ptx and --cubin-info together are a usage error, not one silently dropped") {
    CHECK(run_command(kCli + " emit --bs 3 --ptx --cubin-info", &out) == 2);
    CHECK(contains(out, "exclude each other"));
  }
  SUBCASE("emit checks --arch even when it compiles nothing") {
    CHECK(run_command(kCli + " emit --bs 3 --arch garbage", &out) == 2);
    CHECK(contains(out, "not a real GPU architecture"));
  }
  SUBCASE("an arch NVRTC cannot target is one usage error, not one NVRTC failure per kernel") {
    CHECK(run_command("DRAFTJIT_DISABLE_DISK_CACHE=1 " + kCli + " warmup --bs 1-300 --arch sm_35", &out) == 2);
    CHECK(contains(out, "is not supported by NVRTC"));
    CHECK_FALSE(contains(out, "FAILED"));
  }
  SUBCASE("an integer too large is out of range, not 'not an integer'") {
    CHECK(run_command(kCli + " emit --bs 99999999999", &out) == 2);
    CHECK(contains(out, "out of range"));
  }
  SUBCASE("--jobs is capped at the machine's cores") {
    TempDir dir;
    CHECK(run_command(cache_dir_env(dir.path()) + kCli + " warmup --bs 1-3 --arch sm_90 --jobs 1000", &out) == 0);
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    CHECK(contains(out, fmt::format("with {} threads", std::min(cores, 3u))));
  }
  SUBCASE("DRAFTJIT_DISABLE_DISK_CACHE=0|false|no|off leaves the cache on, 1|true|yes|on turns it off") {
    ScopedEnv dir("DRAFTJIT_CACHE_DIR", "/x/y");
    for (const char* value : {"0", "false", "no", "off", "FALSE"}) {
      ScopedEnv off("DRAFTJIT_DISABLE_DISK_CACHE", value);
      CHECK_MESSAGE(cache_location_from_env().writable.has_value(), value);
    }
    for (const char* value : {"1", "true", "yes", "on"}) {
      ScopedEnv off("DRAFTJIT_DISABLE_DISK_CACHE", value);
      CHECK_MESSAGE(!cache_location_from_env().writable.has_value(), value);
    }
  }
  SUBCASE("a relative DRAFTJIT_CACHE_DIR is made absolute once, where it is read") {
    ScopedEnv off("DRAFTJIT_DISABLE_DISK_CACHE", std::nullopt);
    ScopedEnv dir("DRAFTJIT_CACHE_DIR", "rel/cache");
    CHECK(cache_location_from_env().writable == fs::current_path() / "rel/cache");
  }
  SUBCASE("a file holding another key is reported as such, not as a hash collision") {
    TempDir dir;
    WarningLog warnings;
    DiskCache disk(dir.path(), warnings.sink());
    const KernelKey key = render(fused_spec(7, Tuning{}), kSm90).key;
    KernelKey other = key;
    other.text += " (another build)";
    REQUIRE(disk.store(other, {'a', 'b'}));  // same file name, another key
    CHECK_FALSE(disk.load(key).has_value());
    REQUIRE(warnings.messages.size() == 1);
    CHECK(contains(warnings.messages[0], "another key"));
    CHECK_FALSE(contains(warnings.messages[0], "collision"));
  }
}

TEST_CASE("new: warmup processes started together compile each kernel once between them") {
  TempDir dir;
  const std::string warm = cache_dir_env(dir.path()) + kCli + " warmup --bs 1-60,100-200 --arch sm_90 --jobs 2";
  std::string out;
  REQUIRE(run_command("(" + warm + ") & (" + warm + ") & (" + warm + ") & (" + warm + ") & wait", &out) == 0);
  CAPTURE(out);
  const std::size_t kernels = kernels_for([] {
    std::vector<int> bs;
    for (int b = 1; b <= 60; ++b) bs.push_back(b);
    for (int b = 100; b <= 200; ++b) bs.push_back(b);
    return bs;
  }(), Tuning{}).size();
  CHECK(compiled_in(out) == static_cast<int>(kernels));
  std::string verify;
  CHECK(run_command(cache_dir_env(dir.path()) + kCli + " cache verify", &verify) == 0);
  CHECK(contains(verify, fmt::format("{} files, 0 invalid", kernels)));
}

TEST_CASE("new: read-only layers are searched after the writable directory, never written, cleaned or repaired") {
  TempDir writable;
  TempDir layer;
  REQUIRE(run_command(cache_dir_env(layer.path()) + kCli + " warmup --bs 1-3 --arch sm_90") == 0);
  const std::string damaged = "DJCUBIN" + std::string(1, '\0') + "damaged";
  write_file(entry_path(layer.path(), 3), damaged);  // a bad entry baked into the image
  const std::string env =
      cache_dir_env(writable.path()) + "DRAFTJIT_CACHE_PATH='/nonexistent:" + layer.path().string() + "' ";

  std::string out;
  CHECK(run_command(env + kCli + " warmup --bs 1-4 --arch sm_90", &out) == 0);
  CAPTURE(out);
  CHECK(contains(out, "2 compiled, 2 already cached"));  // bs 1, 2 from the layer; 3 (damaged) and 4 compiled
  CHECK(contains(out, "skipping " + entry_path(layer.path(), 3).string() + " in the read-only cache layer"));
  CHECK(read_file(entry_path(layer.path(), 3)) == damaged);
  CHECK_FALSE(fs::exists(entry_path(writable.path(), 1)));
  CHECK(fs::exists(entry_path(writable.path(), 3)));
  CHECK(fs::exists(entry_path(writable.path(), 4)));

  out.clear();
  CHECK(run_command(env + kCli + " cache list", &out) == 0);
  CHECK(contains(out, "layer 0: " + writable.path().string() + " (writable)"));
  CHECK(contains(out, "layer 2: " + layer.path().string() + " (read-only)"));
  const std::regex layer_row(R"(ok +\d+ +\d+s +2 cubin  )" + entry_path(layer.path(), 1).filename().string());
  CHECK(std::regex_search(out, layer_row));
  out.clear();
  CHECK(run_command(env + kCli + " cache clear", &out) == 0);
  CHECK(contains(out, "removed 2 files"));
  CHECK(fs::exists(entry_path(layer.path(), 1)));
}

TEST_CASE("new: cache list shows each entry's size and age") {
  TempDir dir;
  REQUIRE(run_command(cache_dir_env(dir.path()) + kCli + " warmup --bs 1 --arch sm_90") == 0);
  make_old(entry_path(dir.path(), 1));
  std::string out;
  CHECK(run_command(cache_dir_env(dir.path()) + kCli + " cache list", &out) == 0);
  CAPTURE(out);
  const auto bytes = fs::file_size(entry_path(dir.path(), 1));
  CHECK(std::regex_search(out, std::regex(fmt::format(R"(ok +{} +60m +0 cubin  fused_unrolled\.bs1\.)", bytes))));
}

TEST_CASE("new: the compile lock waits for a live holder, with a bound, and a killed holder blocks nobody") {
  TempDir dir;
  constexpr std::uint64_t kHash = 12345;
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t holder = ::fork();
  REQUIRE(holder >= 0);
  if (holder == 0) {  // the child: take the lock, say so, then wait to be killed
    KeyLock lock(dir.path(), kHash, std::chrono::milliseconds(0));
    const char held = lock.held() ? '1' : '0';
    (void)!::write(ready[1], &held, 1);
    ::pause();
    ::_exit(0);
  }
  char held = 0;
  REQUIRE(::read(ready[0], &held, 1) == 1);
  CHECK(held == '1');
  {
    KeyLock blocked(dir.path(), kHash, std::chrono::milliseconds(200));
    CHECK_FALSE(blocked.held());
    CHECK(blocked.waited());
    KeyLock other_stripe(dir.path(), kHash + 1, std::chrono::milliseconds(0));
    CHECK(other_stripe.held());
  }
  ::kill(holder, SIGKILL);
  ::waitpid(holder, nullptr, 0);
  KeyLock after(dir.path(), kHash, std::chrono::seconds(5));
  CHECK(after.held());
  ::close(ready[0]);
  ::close(ready[1]);
}
