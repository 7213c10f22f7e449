// Issue 22: which files in a cache directory are draftjit's, and what each command does with them (one rule, in
// jit/cache/cache_file's classify), plus the location, lock and output faults around it. Each case names the fault it pins
// down, and fails on the code before the fix (tests/evidence/issue22-old-code.txt). Only interfaces that existed
// before are used here, so that this file (with test_prologue.hpp) builds against that code too.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>

#include "jit/cache/cache_file.hpp"
#include "jit/hash.hpp"
#include "jit/pipeline.hpp"
#include "test_prologue.hpp"

namespace {

KernelKey key_of(int bs) { return render(fused_spec(bs, Tuning{}), kSm90).key; }

// The file the runtime and warmup use for the main kernel of bs on sm_90.
fs::path entry_path(const fs::path& dir, int bs) { return dir / (key_of(bs).stem + ".cubin"); }

void age_by(const fs::path& path, std::chrono::minutes minutes) {
  fs::last_write_time(path, fs::file_time_type::clock::now() - minutes);
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The entries of bs 1 and 2, compiled once for all cases here.
const std::string& good_entry(int bs) {
  static TempDir dir;
  static const bool warmed = run_command(cache_dir_env(dir.path()) + kCli + " warmup --bs 1-2 --arch sm_90") == 0;
  REQUIRE(warmed);
  static const std::string entries[2] = {read_file(entry_path(dir.path(), 1)), read_file(entry_path(dir.path(), 2))};
  return entries[bs - 1];
}

// A cache directory holding good entries for bs 1 and 2.
void fill(const fs::path& dir) {
  write_file(entry_path(dir, 1), good_entry(1));
  write_file(entry_path(dir, 2), good_entry(2));
}

// The CLI run without root's disregard for permission bits: as it is when not root, else as nobody through setpriv.
// Nobody must reach the binary: a build directory under /root or in a 0700 directory (mktemp -d) is out of its
// reach (issue 30 N14: `env: '.../draftjit': Permission denied`, rc 126), so it runs a copy in a directory of its own
// under the system temp dir, opened to all. Skipped, by the caller's name and saying why, when none of that can be.
struct Unprivileged {
  std::string command;  // a prefix and the CLI, to which the arguments are appended
  std::string why_not;  // when it cannot be had here
};

Unprivileged unprivileged() {
  if (::geteuid() != 0) return {"env " + kCli, {}};
  if (run_command("command -v setpriv > /dev/null") != 0) return {{}, "root without setpriv cannot drop to nobody"};
  static TempDir reachable;  // for the process: one copy of the CLI serves every test
  const fs::path cli = reachable.path() / "draftjit";
  std::error_code ec;
  if (!fs::exists(cli)) {
    fs::copy_file(kCli, cli, ec);
    fs::permissions(reachable.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                          fs::perms::others_read | fs::perms::others_exec, ec);
  }
  const std::string as_nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups env ";
  if (ec || run_command(as_nobody + "'" + cli.string() + "' --help > /dev/null 2>&1") != 0) {
    return {{}, fmt::format("nobody cannot run a copy of the CLI in {} (is the temp dir, {}, out of its reach?)",
                            reachable.path().string(), fs::temp_directory_path().string())};
  }
  return {as_nobody + "'" + cli.string() + "'", {}};
}

}  // namespace

TEST_CASE("issue22 D2: verify fails on, and clear removes, entries no load can use") {
  struct Damage {
    const char* name;
    void (*apply)(const fs::path& dir);
    const char* problem;
  };
  const Damage damages[] = {
      {"another key's entry copied under this name",
       [](const fs::path& dir) { write_file(entry_path(dir, 2), good_entry(1)); }, "another key"},
      {"two entries swapped",
       [](const fs::path& dir) {
         write_file(entry_path(dir, 1), good_entry(2));
         write_file(entry_path(dir, 2), good_entry(1));
       },
       "another key"},
      {"0 bytes", [](const fs::path& dir) { write_file(entry_path(dir, 2), ""); }, "too short"},
      {"3 bytes", [](const fs::path& dir) { write_file(entry_path(dir, 2), "DJC"); }, "too short"},
      {"7 bytes", [](const fs::path& dir) { write_file(entry_path(dir, 2), good_entry(2).substr(0, 7)); }, "too short"},
      {"a flipped magic byte",
       [](const fs::path& dir) {
         std::string bytes = good_entry(2);
         bytes[1] ^= 0x20;
         write_file(entry_path(dir, 2), bytes);
       },
       "magic"},
  };
  for (const Damage& damage : damages) {
    const std::string name = damage.name;
    CAPTURE(name);
    TempDir dir;
    fill(dir.path());
    damage.apply(dir.path());
    const std::string env = cache_dir_env(dir.path());
    std::string out;
    CHECK(run_command(env + kCli + " cache verify", &out) == 1);
    CAPTURE(out);
    CHECK(contains(out, "INVALID"));
    CHECK(contains(out, entry_path(dir.path(), 2).filename().string() + ": "));
    CHECK(contains(out, damage.problem));
    CHECK_FALSE(contains(out, "0 invalid"));
    out.clear();
    CHECK(run_command(env + kCli + " cache clear", &out) == 0);
    CHECK(contains(out, "removed 2 files"));
    CHECK_FALSE(fs::exists(entry_path(dir.path(), 2)));
  }
}

TEST_CASE("issue22 D2: verify fails on an entry it cannot read") {
  const Unprivileged as_user = unprivileged();
  if (!as_user.why_not.empty()) {
    MESSAGE((std::string("skipped 'issue22 D2: verify fails on an entry it cannot read': ") + as_user.why_not));
    return;
  }
  TempDir dir;
  fill(dir.path());
  fs::permissions(entry_path(dir.path(), 2), fs::perms::none);
  std::string out;
  CHECK(run_command("cd / && " + cache_dir_env(dir.path()) + as_user.command + " cache verify", &out) == 1);
  CAPTURE(out);
  CHECK(contains(out, entry_path(dir.path(), 2).filename().string() + ": Permission denied"));
}

TEST_CASE("issue22 D2: verify fails on the same faults in a read-only layer, and clear leaves the layer alone") {
  TempDir writable;
  TempDir layer;
  fill(layer.path());
  write_file(entry_path(layer.path(), 2), good_entry(1));
  const std::string env = cache_dir_env(writable.path()) + "DRAFTJIT_CACHE_PATH='" + layer.path().string() + "' ";
  std::string out;
  CHECK(run_command(env + kCli + " cache verify", &out) == 1);
  CAPTURE(out);
  CHECK(contains(out, "another key"));
  out.clear();
  CHECK(run_command(env + kCli + " cache clear", &out) == 0);
  CHECK(read_file(entry_path(layer.path(), 2)) == good_entry(1));
}

TEST_CASE("issue22 D3: an entry that is a symlink is never followed, used or deleted, and verify reports it") {
  TempDir dir;
  TempDir outside;
  const std::string env = cache_dir_env(dir.path());
  const fs::path link = entry_path(dir.path(), 1);

  SUBCASE("to a file without the magic (/etc/passwd)") {
    fs::create_symlink("/etc/passwd", link);
    std::string out;
    CHECK(run_command(env + kCli + " cache verify", &out) == 1);
    CAPTURE(out);
    CHECK(contains(out, link.filename().string() + ": not a regular file (a symbolic link)"));
    out.clear();
    run_command(env + kCli + " warmup --bs 1 --arch sm_90", &out);
    CHECK(contains(out, "a symbolic link"));
    CHECK_FALSE(contains(out, "magic"));  // nothing was read through it
    CHECK(fs::is_symlink(link));
    CHECK(fs::read_symlink(link) == "/etc/passwd");
  }
  SUBCASE("to a valid entry outside the cache") {
    const fs::path target = outside.path() / "target.cubin";
    write_file(target, good_entry(1));
    fs::create_symlink(target, link);
    WarningLog warnings;
    DiskCache disk(dir.path(), warnings.sink());
    CHECK_FALSE(disk.load(key_of(1)).has_value());
    REQUIRE(warnings.messages.size() == 1);
    CHECK(contains(warnings.messages[0], "symbolic link"));
    std::string out;
    CHECK(run_command(env + kCli + " cache list", &out) == 0);
    CAPTURE(out);
    CHECK(contains(out, "INVALID"));
    CHECK(contains(out, link.filename().string()));
    out.clear();
    CHECK(run_command(env + kCli + " cache clear", &out) == 0);
    CHECK(contains(out, "left"));
    CHECK(fs::is_symlink(link));
    CHECK(read_file(target) == good_entry(1));
  }
}

TEST_CASE("issue22 D4: a file that only looks like a temp file by its name is never removed") {
  TempDir dir;
  const std::string env = cache_dir_env(dir.path());
  const fs::path report = dir.path() / "report.cubin.tmp.1.a";
  write_file(report, "important\n");
  age_by(report, std::chrono::minutes(10));
  // Even draftjit's exact temp name is not enough: the content must be the start of an entry.
  const fs::path notes = entry_path(dir.path(), 3).string() + ".tmp.77.0123456789abcdef";
  write_file(notes, "my notes\n");
  age_by(notes, std::chrono::minutes(10));
  // A killed writer's temp file: removed.
  const fs::path stale = entry_path(dir.path(), 4).string() + ".tmp.78.fedcba9876543210";
  write_file(stale, good_entry(1).substr(0, 100));
  age_by(stale, std::chrono::minutes(10));

  std::string out;
  CHECK(run_command(env + kCli + " cache clear", &out) == 0);
  CAPTURE(out);
  CHECK(read_file(report) == "important\n");
  CHECK(read_file(notes) == "my notes\n");
  CHECK_FALSE(fs::exists(stale));
  write_file(stale, good_entry(1).substr(0, 100));
  age_by(stale, std::chrono::minutes(10));
  out.clear();
  CHECK(run_command(env + kCli + " warmup --bs 1 --arch sm_90", &out) == 0);
  CHECK(contains(out, "removed 1 stale temp file"));
  CHECK(read_file(report) == "important\n");
  CHECK(read_file(notes) == "my notes\n");
}

TEST_CASE("issue22 D6: a .locks that is a symlink is not followed: no lock file is made where it points") {
  TempDir dir;
  const fs::path cache = dir.path() / "C";
  const fs::path elsewhere = dir.path() / "V";
  fs::create_directories(cache);
  fs::create_directories(elsewhere);
  fs::create_directory_symlink(elsewhere, cache / ".locks");
  std::string out;
  CHECK(run_command(cache_dir_env(cache) + kCli + " warmup --bs 1-8 --arch sm_90", &out) == 0);
  CAPTURE(out);
  CHECK(fs::is_empty(elsewhere));
  CHECK(fs::is_symlink(cache / ".locks"));
  CHECK(count(out, "compile locks are off") == 1);
  KeyLock lock(cache, 1, std::chrono::milliseconds(0));
  CHECK_FALSE(lock.held());
  CHECK(fs::is_empty(elsewhere));
}

TEST_CASE("issue22 D7: a DRAFTJIT_DISABLE_DISK_CACHE value that is neither on nor off is refused, naming both") {
  TempDir dir;
  for (const std::string value : {"2", "tru"}) {
    CAPTURE(value);
    const std::string env = cache_dir_env(dir.path()) + "DRAFTJIT_DISABLE_DISK_CACHE=" + value + " ";
    for (const std::string command : {" warmup --bs 1 --arch sm_90", " cache path", " cache list"}) {
      CAPTURE(command);
      std::string out;
      CHECK(run_command(env + kCli + command, &out) == 2);
      CAPTURE(out);
      CHECK(contains(out, fmt::format("DRAFTJIT_DISABLE_DISK_CACHE='{}'", value)));
      CHECK(contains(out, "1, true, yes, on"));
      CHECK(contains(out, "0, false, no, off"));
    }
    ScopedEnv off("DRAFTJIT_DISABLE_DISK_CACHE", value);
    CHECK_THROWS_AS(cache_location_from_env(), std::invalid_argument);
  }
  CHECK(fs::is_empty(dir.path()));
}

TEST_CASE("issue22 D8: a relative location that cannot be made absolute is never used relative") {
  TempDir dir;
  const std::string gone = "cd '" + dir.path().string() + "' && mkdir g && cd g && rmdir ../g && ";
  std::string out;
  CHECK(run_command(gone + "DRAFTJIT_CACHE_DIR=rel " + kCli + " cache path", &out) != 0);
  CAPTURE(out);
  CHECK(contains(out, "cannot be made absolute"));
  CHECK_FALSE(std::regex_search(out, std::regex("(^|\n)rel\n")));
  out.clear();
  CHECK(run_command(gone + cache_dir_env(dir.path() / "abs") + "DRAFTJIT_CACHE_PATH=rel " + kCli + " cache path",
                    &out) == 0);
  CHECK(contains(out, "cannot be made absolute"));
  CHECK_FALSE(contains(out, "rel (read-only)"));
}

TEST_CASE("issue22 F1: an empty view or cubin passes no null pointer to memcpy (fails under UBSan before the fix)") {
  CHECK(hash_bytes(std::string_view()) == hash_bytes(std::string_view("", 0)));
  const KernelKey key = key_of(5);
  const std::vector<char> bytes = encode_entry(key.text, {});
  TempDir dir;
  write_file(dir.path() / (key.stem + ".cubin"), std::string(bytes.begin(), bytes.end()));
  DiskCache disk(dir.path());
  const std::optional<std::vector<char>> loaded = disk.load(key);
  REQUIRE(loaded.has_value());
  CHECK(loaded->empty());
}

TEST_CASE("issue22: a directory that cannot be searched is one warning per process, not one per kernel") {
  const Unprivileged as_user = unprivileged();
  if (!as_user.why_not.empty()) {
    MESSAGE((std::string("skipped 'issue22: a directory that cannot be searched': ") + as_user.why_not));
    return;
  }
  TempDir writable;
  TempDir layer;
  fs::permissions(writable.path(), fs::perms::all);  // the unprivileged user stores here
  fill(layer.path());
  fs::permissions(layer.path(), fs::perms::owner_all);  // and cannot look into this one
  std::string out;
  CHECK(run_command("cd / && " + cache_dir_env(writable.path()) + "DRAFTJIT_CACHE_PATH='" + layer.path().string() +
                        "' " + as_user.command + " warmup --bs 1-6 --arch sm_90",
                    &out) == 0);
  CAPTURE(out);
  CHECK(count(out, layer.path().string()) == 1);
  CHECK(contains(out, "cannot read cache directory " + layer.path().string() + ": Permission denied"));
}

TEST_CASE("issue22: cache commands whose output cannot be written exit non-zero") {
  if (!fs::exists("/dev/full")) {
    MESSAGE("skipped: no /dev/full");
    return;
  }
  TempDir dir;
  fill(dir.path());
  for (const std::string action : {"list", "verify", "path", "clear"}) {
    CAPTURE(action);
    std::string out;
    CHECK(run_command(cache_dir_env(dir.path()) + kCli + " cache " + action + " > /dev/full", &out) == 1);
    CHECK(contains(out, "No space left on device"));
  }
}

TEST_CASE("issue22: a layer named twice, or naming the writable directory, is searched once") {
  TempDir writable;
  TempDir layer;
  fill(layer.path());
  const std::string layers = fmt::format("{0}:{0}/:{1}:{0}/./:{1}/", layer.path().string(), writable.path().string());
  {
    ScopedEnv off("DRAFTJIT_DISABLE_DISK_CACHE", std::nullopt);
    ScopedEnv dir("DRAFTJIT_CACHE_DIR", writable.path().string());
    ScopedEnv path("DRAFTJIT_CACHE_PATH", layers);
    const CacheLocation location = cache_location_from_env();
    CHECK(location.read_only == std::vector<fs::path>{layer.path()});
  }
  std::string out;
  CHECK(run_command(cache_dir_env(writable.path()) + "DRAFTJIT_CACHE_PATH='" + layers + "' " + kCli + " cache list",
                    &out) == 0);
  CAPTURE(out);
  CHECK(contains(out, "2 files, 0 invalid"));
  CHECK_FALSE(contains(out, "layer 2"));
}

TEST_CASE("issue22: a long wait for another process's compile lock is said once, naming the lock file and the key") {
  TempDir dir;
  const KernelKey key = key_of(1);
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t holder = ::fork();
  REQUIRE(holder >= 0);
  if (holder == 0) {  // the child: hold the key's stripe for 2.5 s, as a slow compile in another process would
    KeyLock lock(dir.path(), key.hash, std::chrono::milliseconds(0));
    const char held = lock.held() ? '1' : '0';
    (void)!::write(ready[1], &held, 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    ::_exit(0);
  }
  char held = 0;
  REQUIRE(::read(ready[0], &held, 1) == 1);
  REQUIRE(held == '1');
  std::string out;
  CHECK(run_command(cache_dir_env(dir.path()) + kCli + " warmup --bs 1 --arch sm_90", &out) == 0);
  ::waitpid(holder, nullptr, 0);
  ::close(ready[0]);
  ::close(ready[1]);
  CAPTURE(out);
  const std::string lock_file =
      (dir.path() / ".locks" / fmt::format("{:02}.lock", key.hash % KeyLock::kLockStripes)).string();
  CHECK(count(out, "waiting") == 1);
  CHECK(contains(out, lock_file));
  CHECK(contains(out, key.stem));
}

TEST_CASE("issue20: a child forked while a key lock is held does not keep it once the parent releases it") {
  TempDir dir;
  constexpr std::uint64_t kHash = 777;
  auto lock = std::make_unique<KeyLock>(dir.path(), kHash, std::chrono::milliseconds(0));
  REQUIRE(lock->held());
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {  // holds a copy of the lock's descriptor until killed, as a forked worker would
    ::pause();
    ::_exit(0);
  }
  lock.reset();
  // Another process, then a fresh open here, get it at once while the child and its copy still live.
  const fs::path file = dir.path() / ".locks" / fmt::format("{:02}.lock", kHash % KeyLock::kLockStripes);
  if (run_command("command -v flock > /dev/null") == 0) {
    CHECK(run_command("flock -n '" + file.string() + "' true") == 0);
  }
  const KeyLock again(dir.path(), kHash, std::chrono::milliseconds(0));
  CHECK(again.held());
  CHECK(::waitpid(child, nullptr, WNOHANG) == 0);  // the child was alive throughout
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
}
