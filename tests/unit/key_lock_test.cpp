// The compile lock's owner files (jit/cache/key_lock), where flock does not work (NFS) or DRAFTJIT_LOCK=file.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "jit/cache/cache_file.hpp"
#include "jit/cache/key_lock.hpp"
#include "test_prologue.hpp"

using std::chrono::milliseconds;

namespace {

constexpr std::uint64_t kHash = 4242;
const WarningSink kQuiet = [](const std::string&) {};

fs::path owner_file(const fs::path& cache_dir, std::uint64_t hash = kHash) {
  return cache_dir / kLocksDir / fmt::format("{:02}.lock.owner", hash % KeyLock::kLockStripes);
}

// An owner file as another process (of another host, or another pid here) leaves it.
void plant_owner(const fs::path& cache_dir, const std::string& content, std::chrono::minutes age = {}) {
  fs::create_directories(cache_dir / kLocksDir);
  std::ofstream(owner_file(cache_dir), std::ios::binary) << content;
  fs::last_write_time(owner_file(cache_dir), fs::file_time_type::clock::now() - age);
}

// The owner line a process `pid` of this host (and pid namespace) writes.
std::string local_owner(pid_t pid) {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  char ns[64] = {};
  const ssize_t n = ::readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
  return fmt::format("draftjit-lock v1 host={} pidns={} pid={} start=0 seq=0\n", host, n > 0 ? ns : "unknown", pid);
}

std::string foreign_owner() {
  return "draftjit-lock v1 host=elsewhere.invalid pidns=pid:[1] pid=1 start=0 seq=0\n";
}

// What the directory .locks holds besides the owner file: nothing, once every lock is released.
std::vector<std::string> others_in_locks(const fs::path& cache_dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(cache_dir / kLocksDir)) {
    if (entry.path() != owner_file(cache_dir)) names.push_back(entry.path().filename().string());
  }
  return names;
}

}  // namespace

TEST_CASE("issue18: DRAFTJIT_LOCK is flock (the default), file, or else an error naming it (issue 30 N6)") {
  CHECK(lock_mode_from(nullptr) == LockMode::Flock);
  CHECK(lock_mode_from("flock") == LockMode::Flock);
  CHECK(lock_mode_from("file") == LockMode::File);
  CHECK_THROWS_WITH_AS(lock_mode_from("nfs"), "DRAFTJIT_LOCK='nfs' is not one of flock, file (in any case)",
                       std::invalid_argument);
}

TEST_CASE("issue18: with owner files, processes contending for one stripe hold it one at a time") {
  TempDir dir;
  constexpr int kChildren = 4;
  constexpr int kRounds = 25;
  const fs::path inside = dir.path() / "inside";  // exists only while someone holds the lock
  std::vector<pid_t> children;
  for (int child = 0; child < kChildren; ++child) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int code = 0;
      for (int round = 0; round < kRounds && code == 0; ++round) {
        const KeyLock lock(dir.path(), kHash, std::chrono::seconds(60), {}, kQuiet, LockMode::File);
        if (!lock.held()) {
          code = 2;
          break;
        }
        const int fd = ::open(inside.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) {
          code = 1;  // someone else is inside too
          break;
        }
        ::close(fd);
        std::this_thread::sleep_for(milliseconds(1));  // widens the window a second holder would show in
        ::unlink(inside.c_str());
      }
      ::_exit(code);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CAPTURE(WEXITSTATUS(status));  // 1: two holders at once; 2: a lock not had within the bound
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  }
  CHECK_FALSE(fs::exists(owner_file(dir.path())));  // every release removed its file
  CHECK(others_in_locks(dir.path()).empty());       // and left nothing aside
}

TEST_CASE("issue18: an owner file left by a holder killed with SIGKILL is broken by the next taker, without a wait") {
  TempDir dir;
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t holder = ::fork();
  REQUIRE(holder >= 0);
  if (holder == 0) {
    const KeyLock lock(dir.path(), kHash, milliseconds(0), {}, kQuiet, LockMode::File);
    const char held = lock.held() ? '1' : '0';
    (void)!::write(ready[1], &held, 1);
    ::pause();
    ::_exit(0);
  }
  char held = 0;
  REQUIRE(::read(ready[0], &held, 1) == 1);
  REQUIRE(held == '1');
  ::kill(holder, SIGKILL);
  REQUIRE(::waitpid(holder, nullptr, 0) == holder);
  ::close(ready[0]);
  ::close(ready[1]);
  REQUIRE(fs::exists(owner_file(dir.path())));  // SIGKILL ran no release
  CHECK(contains(read_file(owner_file(dir.path())), fmt::format(" pid={} ", holder)));

  WarningLog warnings;
  const KeyLock next(dir.path(), kHash, std::chrono::seconds(30), "the key", warnings.sink(), LockMode::File);
  CHECK(next.held());
  CHECK_FALSE(next.waited());  // broken at the first look, not after the bound
  REQUIRE(warnings.messages.size() == 1);
  CHECK(contains(warnings.messages[0], "removed the stale compile lock " + owner_file(dir.path()).string()));
  CHECK(contains(warnings.messages[0], fmt::format("pid {} on this host, which is no longer running", holder)));
  CHECK(contains(read_file(owner_file(dir.path())), fmt::format(" pid={} ", ::getpid())));
}

TEST_CASE("issue18: another host's owner file is waited on (bounded) while fresh and broken once old") {
  TempDir dir;
  plant_owner(dir.path(), foreign_owner());
  WarningLog warnings;
  {
    const KeyLock fresh(dir.path(), kHash, milliseconds(100), {}, warnings.sink(), LockMode::File);
    CHECK_FALSE(fresh.held());
    CHECK(fresh.waited());
  }
  CHECK(read_file(owner_file(dir.path())) == foreign_owner());  // a failed taker leaves it alone
  REQUIRE(warnings.messages.size() == 1);  // that it gave up, and compiles without the lock (issue 30 N12)
  CHECK(contains(warnings.messages[0], "gave up after 0.1 s waiting"));

  fs::last_write_time(owner_file(dir.path()), fs::file_time_type::clock::now() - std::chrono::hours(1));
  {
    const KeyLock old(dir.path(), kHash, std::chrono::seconds(30), {}, warnings.sink(), LockMode::File);
    CHECK(old.held());
    CHECK_FALSE(old.waited());
    REQUIRE(warnings.messages.size() == 2);
    CHECK(contains(warnings.messages[1], "host elsewhere.invalid, pid 1, 3600 s old"));
  }
  CHECK_FALSE(fs::exists(owner_file(dir.path())));
  CHECK(others_in_locks(dir.path()).empty());
}

TEST_CASE("issue18: a fresh owner file of a live process here, or one still being written, is waited on") {
  TempDir live;
  TempDir dir;
  // Our own pid: alive. An empty file: a taker between its create and its write. Each in a directory of its own: a
  // stripe whose wait ran out is not waited on again by this process (issue 30 N12).
  for (const auto& [where, content] :
       {std::pair{&live, local_owner(::getpid())}, std::pair{&dir, std::string()}}) {
    CAPTURE(content);
    plant_owner(where->path(), content);
    {
      const KeyLock lock(where->path(), kHash, milliseconds(50), {}, kQuiet, LockMode::File);
      CHECK_FALSE(lock.held());
      CHECK(lock.waited());
    }
    CHECK(read_file(owner_file(where->path())) == content);
  }
  // The empty one, once old, is broken like any other.
  fs::last_write_time(owner_file(dir.path()), fs::file_time_type::clock::now() - std::chrono::hours(1));
  const KeyLock lock(dir.path(), kHash, std::chrono::seconds(30), {}, kQuiet, LockMode::File);
  CHECK(lock.held());
}

TEST_CASE("issue18: a release never removes an owner file that is not ours") {
  TempDir dir;
  auto lock = std::make_unique<KeyLock>(dir.path(), kHash, milliseconds(0), "", kQuiet, LockMode::File);
  REQUIRE(lock->held());
  // Someone judged ours stale, broke it and took the lock with a file of its own.
  const fs::path replacement = dir.path() / "replacement";
  std::ofstream(replacement) << foreign_owner();
  fs::rename(replacement, owner_file(dir.path()));
  lock.reset();
  CHECK(read_file(owner_file(dir.path())) == foreign_owner());
  CHECK(others_in_locks(dir.path()).empty());  // the file it moved aside to check went back, nothing else is left

  // Ours removed by someone else meanwhile: the release finds nothing and does nothing.
  fs::remove(owner_file(dir.path()));
  lock = std::make_unique<KeyLock>(dir.path(), kHash, milliseconds(0), "", kQuiet, LockMode::File);
  REQUIRE(lock->held());
  fs::remove(owner_file(dir.path()));
  CHECK_NOTHROW(lock.reset());
  CHECK(others_in_locks(dir.path()).empty());
}

TEST_CASE("issue18: a child forked while an owner-file lock is held does not release it") {
  TempDir dir;
  auto lock = std::make_unique<KeyLock>(dir.path(), kHash, milliseconds(0), "", kQuiet, LockMode::File);
  REQUIRE(lock->held());
  const std::string ours = read_file(owner_file(dir.path()));
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {  // destroys its copy, as a forked worker's unwinding would
    lock.reset();
    ::_exit(0);
  }
  REQUIRE(::waitpid(child, nullptr, 0) == child);
  CHECK(read_file(owner_file(dir.path())) == ours);
  const KeyLock other(dir.path(), kHash, milliseconds(20), "", kQuiet, LockMode::File);
  CHECK_FALSE(other.held());
  lock.reset();
  CHECK_FALSE(fs::exists(owner_file(dir.path())));
}

TEST_CASE("issue18: in file mode a long wait is said once, naming the owner file and its holder") {
  TempDir dir;
  plant_owner(dir.path(), foreign_owner());
  WarningLog warnings;
  const KeyLock lock(dir.path(), kHash, std::chrono::milliseconds(1200), "the.key", warnings.sink(), LockMode::File);
  CHECK_FALSE(lock.held());
  REQUIRE(warnings.messages.size() == 2);  // the notice at 1 s, then that it gave up (issue 30 N12)
  CHECK(contains(warnings.messages[1], "gave up after 1.2 s"));
  CHECK(contains(warnings.messages[0], owner_file(dir.path()).string()));
  CHECK(contains(warnings.messages[0], "the.key"));
  CHECK(contains(warnings.messages[0], "pid 1 on host elsewhere.invalid holds it"));
}

TEST_CASE("issue18: something other than a regular file in the owner file's place is left alone, with no lock") {
  TempDir dir;
  fs::create_directories(dir.path() / kLocksDir);
  const fs::path target = dir.path() / "target";
  std::ofstream(target) << "not ours";
  fs::create_symlink(target, owner_file(dir.path()));
  WarningLog warnings;
  const KeyLock lock(dir.path(), kHash, std::chrono::seconds(30), {}, warnings.sink(), LockMode::File);
  CHECK_FALSE(lock.held());
  CHECK_FALSE(lock.waited());
  REQUIRE(warnings.messages.size() == 1);
  CHECK(contains(warnings.messages[0], "is not a regular file and is left alone"));
  CHECK(fs::is_symlink(owner_file(dir.path())));
  CHECK(read_file(target) == "not ours");
}

TEST_CASE("issue18: where flock fails with ENOLCK, EOPNOTSUPP or ENOSYS the default mode uses owner files") {
  for (const int error : {ENOLCK, EOPNOTSUPP, ENOSYS}) {
    CAPTURE(error);
    TempDir dir;
    struct FlockFails {
      explicit FlockFails(int e) { set_flock_error_for_test(e); }
      ~FlockFails() { set_flock_error_for_test(0); }
    } fails(error);
    auto lock = std::make_unique<KeyLock>(dir.path(), kHash, milliseconds(0), "", kQuiet, LockMode::Flock);
    CHECK(lock->held());
    CHECK(contains(read_file(owner_file(dir.path())), fmt::format(" pid={} ", ::getpid())));
    {
      const KeyLock other(dir.path(), kHash, milliseconds(20), "", kQuiet, LockMode::Flock);
      CHECK_FALSE(other.held());
      CHECK(other.waited());
    }
    lock.reset();
    CHECK_FALSE(fs::exists(owner_file(dir.path())));
  }
  TempDir dir;  // any other failure still means no lock, compiled anyway, as before
  set_flock_error_for_test(EBADF);
  const KeyLock lock(dir.path(), kHash, std::chrono::seconds(30), "", kQuiet, LockMode::Flock);
  set_flock_error_for_test(0);
  CHECK_FALSE(lock.held());
  CHECK_FALSE(lock.waited());
  CHECK_FALSE(fs::exists(owner_file(dir.path())));
}

// Issue 30 N11: an owner file the waiter cannot read (another user's, 0600) was never judged stale, however old:
// every process waited the whole bound for each kernel of its stripe. Its age comes from fstatat, which needs no
// read permission. As root, the waiter is a child that drops to nobody; else the file is made unreadable (0000).
TEST_CASE("issue30 N11: an hour-old owner file the waiter cannot read is broken, without a wait") {
  TempDir dir;
  plant_owner(dir.path(), foreign_owner(), std::chrono::minutes(60));
  fs::permissions(owner_file(dir.path()), fs::perms::owner_read | fs::perms::owner_write);
  fs::permissions(dir.path(), fs::perms::all);
  fs::permissions(dir.path() / kLocksDir, fs::perms::all);
  const bool root = ::geteuid() == 0;
  if (!root) fs::permissions(owner_file(dir.path()), fs::perms::none);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (root && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(3);
    if (::access(owner_file(dir.path()).c_str(), R_OK) == 0) ::_exit(4);  // then this test would show nothing
    const KeyLock lock(dir.path(), kHash, milliseconds(300), {}, kQuiet, LockMode::File);
    ::_exit(!lock.held() ? 1 : lock.waited() ? 2 : 0);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CAPTURE(WEXITSTATUS(status));  // 1: not taken (waited the bound out); 2: taken after a wait; 3, 4: setup
  CHECK(WEXITSTATUS(status) == 0);
}

// Issue 30 N12: a stopped holder (SIGSTOP) made a warmup wait the whole bound for every kernel of its stripe, one
// after another. A stripe that timed out is remembered by the process: its next kernels try it once and go on.
TEST_CASE("issue30 N12: after one timed-out wait for a stripe, the process no longer waits for it") {
  for (const LockMode mode : {LockMode::Flock, LockMode::File}) {
    CAPTURE(static_cast<int>(mode));
    TempDir dir;
    int ready[2];
    int done[2];
    REQUIRE(::pipe(ready) == 0);
    REQUIRE(::pipe(done) == 0);
    const pid_t holder = ::fork();
    REQUIRE(holder >= 0);
    if (holder == 0) {  // holds the stripe until told to let go (or the test ends), as a stopped process would
      ::close(ready[0]);
      ::close(done[1]);
      const KeyLock lock(dir.path(), kHash, milliseconds(0), {}, kQuiet, mode);
      const char held = lock.held() ? '1' : '0';
      (void)!::write(ready[1], &held, 1);
      char go = 0;
      (void)!::read(done[0], &go, 1);  // EOF when the test closes its end
      ::_exit(0);
    }
    ::close(ready[1]);
    ::close(done[0]);
    char held = 0;
    const bool holding = ::read(ready[0], &held, 1) == 1 && held == '1';
    WarningLog warnings;
    const std::uint64_t same_stripe = kHash + KeyLock::kLockStripes;
    if (holding) {
      {
        const KeyLock first(dir.path(), kHash, milliseconds(200), "first.key", warnings.sink(), mode);
        CHECK_FALSE(first.held());
        CHECK(first.waited());
      }
      for (int i = 0; i < 3; ++i) {
        const KeyLock next(dir.path(), same_stripe, milliseconds(200), "next.key", warnings.sink(), mode);
        CHECK_FALSE(next.held());
        CHECK_FALSE(next.waited());
      }
    }
    ::close(done[1]);  // the holder lets go
    ::close(ready[0]);
    REQUIRE(::waitpid(holder, nullptr, 0) == holder);
    REQUIRE(holding);
    REQUIRE(warnings.messages.size() == 1);  // said once, at the wait that timed out
    CHECK(contains(warnings.messages[0], "first.key"));
    CHECK(contains(warnings.messages[0], "not wait for it again"));
    const KeyLock free_again(dir.path(), same_stripe, milliseconds(200), {}, kQuiet, mode);
    CHECK(free_again.held());  // one try each time: once the holder is gone the stripe is taken again
  }
}

TEST_CASE("issue30: a lock stripe that is a directory or a symlink is left alone, and said, never silently") {
  for (const bool symlink : {false, true}) {
    CAPTURE(symlink);
    TempDir dir;
    fs::create_directories(dir.path() / kLocksDir);
    fs::path stripe = owner_file(dir.path());
    stripe.replace_extension();  // NN.lock
    const fs::path target = dir.path() / "target";
    std::ofstream(target) << "not ours";
    if (symlink) {
      fs::create_symlink(target, stripe);
    } else {
      fs::create_directory(stripe);
    }
    WarningLog warnings;
    const KeyLock lock(dir.path(), kHash, std::chrono::seconds(30), {}, warnings.sink(), LockMode::Flock);
    CHECK_FALSE(lock.held());
    REQUIRE(warnings.messages.size() == 1);
    CHECK(contains(warnings.messages[0], stripe.string()));
    CHECK(contains(warnings.messages[0], symlink ? "a symbolic link" : "a directory"));
    CHECK(read_file(target) == "not ours");
  }
}
