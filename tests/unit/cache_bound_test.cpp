// Issue 18, item 5: a bounded disk cache (DRAFTJIT_CACHE_MAX_BYTES, `draftjit cache prune`), least recently used
// entries evicted first, and never anything that is not draftjit's or that changed since it was listed.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include "jit/cache/cache_prune.hpp"
#include "jit/cache/disk_cache.hpp"
#include "jit/hash.hpp"
#include "test_prologue.hpp"

namespace {

// A key of the entry format's shape that needs no NVRTC: these tests are about files, not kernels.
KernelKey test_key(int i) {
  KernelKey key;
  key.text = fmt::format("draftjit test | sm_90 | t{:02} (spec 0) |", i);
  key.hash = hash_bytes(key.text);
  key.stem = fmt::format("t{:02}.sm_90-{:016x}", i, key.hash);
  return key;
}

const std::vector<char> kCubin(1000, 'c');

// The entry's file size for test_key(i) holding kCubin.
std::uintmax_t entry_bytes(int i) { return encode_entry(test_key(i).text, kCubin).size(); }

// Sets the file's mtime (its last use) to hours_ago before now.
void set_used(const fs::path& path, int hours_ago) {
  const struct timespec now = {::time(nullptr) - hours_ago * 3600L, 0};
  const struct timespec times[2] = {now, now};
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0);
}

// The entries left in dir, as "t00 t03" (what test_key's stems start with, sorted): a string, so a failure shows it.
std::string entries_in(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& file : fs::directory_iterator(dir)) {
    const std::string name = file.path().filename().string();
    if (file.is_regular_file() && !file.is_symlink() && name.ends_with(".cubin") && name[0] == 't') {
      names.insert(name.substr(0, 3));
    }
  }
  return fmt::format("{}", fmt::join(names, " "));
}

std::size_t temp_files_in(const fs::path& dir) {
  std::size_t temps = 0;
  for (const auto& file : fs::directory_iterator(dir)) temps += is_temp_name(file.path().filename().string());
  return temps;
}

}  // namespace

TEST_CASE("issue18: sizes and ages parse with their units, and bad ones name the argument and the text") {
  CHECK(parse_byte_size("0", "--max-bytes") == 0);
  CHECK(parse_byte_size("4096", "--max-bytes") == 4096);
  CHECK(parse_byte_size("512K", "--max-bytes") == 512ULL << 10);
  CHECK(parse_byte_size("64m", "--max-bytes") == 64ULL << 20);
  CHECK(parse_byte_size("2G", "--max-bytes") == 2ULL << 30);
  CHECK(parse_byte_size("2GB", "--max-bytes") == 2ULL << 30);  // issue 30 N6: units as a user writes them
  CHECK(parse_byte_size("2gib", "--max-bytes") == 2ULL << 30);
  CHECK(parse_byte_size("1T", "--max-bytes") == 1ULL << 40);
  CHECK(parse_byte_size("100b", "--max-bytes") == 100);
  for (const char* bad : {"", "K", "12Q", "-1", "1.5G", "12KBB", "12iB", "12Gi", " 12", "12 "}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(parse_byte_size(bad, "--max-bytes"),
                         doctest::Contains(fmt::format("--max-bytes: '{}' is not a size in bytes", bad).c_str()),
                         std::invalid_argument);
  }
  CHECK_THROWS_WITH_AS(parse_byte_size("99999999999999999999", "X"), "X: '99999999999999999999' is too large",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_byte_size("17179869184G", "X"), "X: '17179869184G' is too large", std::invalid_argument);

  CHECK(parse_age("45s", "--older-than") == std::chrono::seconds(45));
  CHECK(parse_age("30m", "--older-than") == std::chrono::minutes(30));
  CHECK(parse_age("12h", "--older-than") == std::chrono::hours(12));
  CHECK(parse_age("7d", "--older-than") == std::chrono::hours(7 * 24));
  for (const char* bad : {"", "30", "d", "5w", "1.5h", "-2d", "7D"}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(parse_age(bad, "--older-than"),
                         doctest::Contains(fmt::format("--older-than: '{}' is not an age", bad).c_str()),
                         std::invalid_argument);
  }
  CHECK_THROWS_WITH_AS(parse_age("99999999d", "X"), doctest::Contains("too large"), std::invalid_argument);
}

TEST_CASE("issue18: DRAFTJIT_CACHE_MAX_BYTES sets the bound, a bad value is an error naming it (issue 30 N6)") {
  TempDir dir;
  {
    ScopedEnv bound("DRAFTJIT_CACHE_MAX_BYTES", "64K");
    CHECK(DiskCache(dir.path()).max_bytes() == 64U << 10);
  }
  {
    ScopedEnv unset("DRAFTJIT_CACHE_MAX_BYTES", std::nullopt);
    CHECK_FALSE(DiskCache(dir.path()).max_bytes());
  }
  ScopedEnv bad("DRAFTJIT_CACHE_MAX_BYTES", "12Q");
  CHECK_THROWS_WITH_AS(DiskCache(dir.path()), doctest::Contains("DRAFTJIT_CACHE_MAX_BYTES: '12Q' is not a size in bytes"),
                       std::invalid_argument);
}

TEST_CASE("issue18: prune evicts the least recently used entries, and a load counts as a use") {
  TempDir dir;
  ScopedEnv unset("DRAFTJIT_CACHE_MAX_BYTES", std::nullopt);
  DiskCache cache(dir.path());
  for (int i = 0; i < 6; ++i) {
    REQUIRE(cache.store(test_key(i), kCubin));
    set_used(cache.path_for(test_key(i)), 10 - i);  // t00 used longest ago ... t05 most recently
  }
  // A load of t00 from the writable directory makes it the most recently used, in this process or a later one.
  const auto loaded = DiskCache(dir.path()).load(test_key(0));
  REQUIRE(loaded);
  CHECK(*loaded == kCubin);

  const PruneResult result = cache.prune({3 * entry_bytes(0), std::nullopt, {}});
  CHECK(result.listed == 6);
  CHECK(result.removed == 3);
  CHECK(result.removed_bytes == 3 * entry_bytes(0));
  CHECK(result.kept_bytes == 3 * entry_bytes(0));
  CHECK(result.failures.empty());
  CHECK(entries_in(dir.path()) == "t00 t04 t05");
  CHECK(temp_files_in(dir.path()) == 0);
}

TEST_CASE("issue18: prune --older-than removes only entries last used before then") {
  TempDir dir;
  ScopedEnv unset("DRAFTJIT_CACHE_MAX_BYTES", std::nullopt);
  DiskCache cache(dir.path());
  for (int i = 0; i < 4; ++i) {
    REQUIRE(cache.store(test_key(i), kCubin));
    set_used(cache.path_for(test_key(i)), 24 * i);  // used 0, 1, 2, 3 days ago
  }
  PruneResult result = cache.prune({std::nullopt, std::chrono::hours(36), {}});
  CHECK(result.removed == 2);
  CHECK(entries_in(dir.path()) == "t00 t01");
  // Both rules: the age first, then the bound over what is left.
  result = cache.prune({entry_bytes(0), std::chrono::hours(12), {}});
  CHECK(result.removed == 1);
  CHECK(entries_in(dir.path()) == "t00");
}

TEST_CASE("issue18: prune never touches foreign files, temp files, what is in an entry's place, or read-only layers") {
  TempDir dir;
  TempDir layer;
  ScopedEnv unset("DRAFTJIT_CACHE_MAX_BYTES", std::nullopt);
  REQUIRE(DiskCache(layer.path()).store(test_key(9), kCubin));
  DiskCache cache(CacheLocation{dir.path(), {layer.path()}, {}});
  for (int i = 0; i < 3; ++i) REQUIRE(cache.store(test_key(i), kCubin));
  std::ofstream(dir.path() / "notes.txt") << std::string(100000, 'n');  // foreign, and large
  std::ofstream(dir.path() / "other.cubin") << "not an entry";          // foreign: no magic
  const fs::path temp = temp_path_for(cache.path_for(test_key(5)));     // a store in flight
  std::ofstream(temp, std::ios::binary) << std::string("DJCUBIN");
  const fs::path fifo = cache.path_for(test_key(6));
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  const fs::path link = cache.path_for(test_key(7));
  fs::create_symlink(layer.path() / (test_key(9).stem + ".cubin"), link);

  const PruneResult result = cache.prune({0, std::nullopt, {}});
  CHECK(result.listed == 3);
  CHECK(result.removed == 3);
  CHECK(result.kept_bytes == 0);
  CHECK(entries_in(dir.path()) == "");
  CHECK(fs::exists(dir.path() / "notes.txt"));
  CHECK(fs::exists(dir.path() / "other.cubin"));
  CHECK(fs::exists(temp));
  CHECK(fs::is_fifo(fs::symlink_status(fifo)));
  CHECK(fs::is_symlink(fs::symlink_status(link)));
  CHECK(entries_in(layer.path()) == "t09");
}

TEST_CASE("issue18: a prune removes only the file it listed, unchanged: a store or a use since then survives") {
  TempDir dir;
  ScopedEnv unset("DRAFTJIT_CACHE_MAX_BYTES", std::nullopt);
  DiskCache cache(dir.path());
  const KernelKey key = test_key(1);
  const fs::path path = cache.path_for(key);
  REQUIRE(cache.store(key, kCubin));
  std::string failure;
  SUBCASE("stored again after the listing: the new entry stays") {
    const std::optional<PruneCandidate> listed = prune_candidate(path);
    REQUIRE(listed);
    const std::vector<char> rebuilt(kCubin.size(), 'r');  // the same size: only the file's identity differs
    REQUIRE(cache.store(key, rebuilt));
    CHECK(evict(*listed, &failure) == Eviction::Changed);
    CHECK(DiskCache(dir.path()).load(key) == rebuilt);
  }
  SUBCASE("used after the listing: it stays") {
    set_used(path, 5);
    const std::optional<PruneCandidate> listed = prune_candidate(path);
    REQUIRE(listed);
    set_used(path, 0);
    CHECK(evict(*listed, &failure) == Eviction::Changed);
    CHECK(DiskCache(dir.path()).load(key) == kCubin);
  }
  SUBCASE("removed by another prune since: nothing to do") {
    const std::optional<PruneCandidate> listed = prune_candidate(path);
    REQUIRE(listed);
    REQUIRE(evict(*listed, &failure) == Eviction::Removed);
    CHECK(evict(*listed, &failure) == Eviction::Gone);
    CHECK_FALSE(fs::exists(path));
  }
  SUBCASE("unchanged: removed") {
    const std::optional<PruneCandidate> listed = prune_candidate(path);
    REQUIRE(listed);
    CHECK(evict(*listed, &failure) == Eviction::Removed);
    CHECK_FALSE(fs::exists(path));
  }
  CHECK(failure.empty());
  CHECK(temp_files_in(dir.path()) == 0);
}

TEST_CASE("issue18: a store under DRAFTJIT_CACHE_MAX_BYTES evicts the least recently used, keeping the newest") {
  TempDir dir;
  const std::uintmax_t bound = 5 * entry_bytes(0);
  ScopedEnv env("DRAFTJIT_CACHE_MAX_BYTES", std::to_string(bound));
  DiskCache cache(dir.path());
  REQUIRE(cache.max_bytes() == bound);
  std::uintmax_t total = 0;
  for (int i = 0; i < 12; ++i) {
    REQUIRE(cache.store(test_key(i), kCubin));
    set_used(cache.path_for(test_key(i)), 100 - i);  // use order = store order, whatever the clock's resolution
    total = 0;
    for (const auto& file : fs::directory_iterator(dir.path())) total += file.is_regular_file() ? file.file_size() : 0;
    CHECK(total <= bound);  // one process: it knows every byte stored, so it prunes as soon as the bound is passed
  }
  // Pruned at the first store (nothing known yet), then at the 6th, 8th, 10th and 12th, when what it stored could
  // pass the bound, each time down to 90% of it: 4 entries, the most recently used.
  CHECK(entries_in(dir.path()) == "t08 t09 t10 t11");
}

TEST_CASE("issue18: a bound smaller than one entry never evicts the entry a store just wrote") {
  TempDir dir;
  ScopedEnv env("DRAFTJIT_CACHE_MAX_BYTES", "1");
  DiskCache cache(dir.path());
  for (int i = 0; i < 3; ++i) {
    REQUIRE(cache.store(test_key(i), kCubin));
    set_used(cache.path_for(test_key(i)), 100 - i);
    CHECK(cache.load(test_key(i)) == kCubin);  // reported stored, and it is
  }
  CHECK(entries_in(dir.path()) == "t02");
}

TEST_CASE("issue18: a load racing prunes and stores of its entry gets the right bytes or a miss, never damage") {
  TempDir dir;
  ScopedEnv unset("DRAFTJIT_CACHE_MAX_BYTES", std::nullopt);
  WarningLog warnings;
  DiskCache cache(dir.path(), warnings.sink());
  const KernelKey key = test_key(3);
  std::vector<char> big(512 * 1024);  // large enough that a read is several syscalls
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  std::atomic<bool> done{false};
  std::atomic<int> hits{0};
  std::atomic<int> wrong{0};
  std::thread reader([&] {
    while (!done.load()) {
      try {
        const auto got = cache.load(key);
        if (got) (*got == big ? hits : wrong).fetch_add(1);
      } catch (...) {
        wrong.fetch_add(1);
      }
    }
  });
  for (int i = 0; i < 200; ++i) {
    REQUIRE(cache.store(key, big));
    REQUIRE(cache.prune({0, std::nullopt, {}}).failures.empty());
  }
  done = true;
  reader.join();
  CHECK(wrong.load() == 0);
  CHECK(warnings.messages.empty());  // no "ignoring cache file ...: damaged"
  CHECK(temp_files_in(dir.path()) == 0);
}

TEST_CASE("issue18: cache prune refuses bad arguments, exit 2, naming them") {
  TempDir dir;
  const std::string cli = cache_dir_env(dir.path()) + kCli;
  std::string out;
  CHECK(run_command(cli + " cache prune", &out) == 2);
  CHECK(contains(out, "cache prune needs --max-bytes N, --older-than D, or both"));
  out.clear();
  CHECK(run_command(cli + " cache prune --max-bytes 12Q", &out) == 2);
  CHECK(contains(out, "--max-bytes: '12Q' is not a size in bytes"));
  out.clear();
  CHECK(run_command(cli + " cache prune --older-than 30", &out) == 2);
  CHECK(contains(out, "--older-than: '30' is not an age"));
  out.clear();
  CHECK(run_command(cli + " cache prune --max-bytes 1M --bogus", &out) == 2);
  CHECK(contains(out, "unknown argument '--bogus'"));
  out.clear();
  CHECK(run_command(cli + " cache list --max-bytes 1M", &out) == 2);
  CHECK(contains(out, "unknown argument '--max-bytes'"));
  out.clear();
  CHECK(run_command(cli + " cache prune --max-bytes 1M", &out) == 0);
  CHECK(contains(out, "removed 0 entries (0 bytes); 0 entries (0 bytes) left"));
}

TEST_CASE("issue18: warmups and prunes in several processes at once leave a cache verify finds clean") {
  TempDir dir;
  const std::string env = cache_dir_env(dir.path());
  // Three warmups (one under a store-time bound) and two prune loops, all at once on one directory.
  const std::string warm = env + kCli + " warmup --bs 1-12 --arch sm_90,sm_100 --jobs 1 >/dev/null";
  const std::string bounded =
      env + "DRAFTJIT_CACHE_MAX_BYTES=40K " + kCli + " warmup --bs 1-12 --arch sm_90,sm_100 >/dev/null";
  const std::string prunes =
      "for i in $(seq 25); do " + env + kCli + " cache prune --max-bytes 30K >/dev/null || exit 1; done";
  std::string out;
  const int rc = run_command("(" + warm + ") & p1=$!; (" + warm + ") & p2=$!; (" + bounded + ") & p3=$!; (" + prunes +
                                 ") & p4=$!; (" + prunes + ") & p5=$!; " +
                                 "rc=0; for p in $p1 $p2 $p3 $p4 $p5; do wait $p || rc=1; done; exit $rc",
                             &out);
  CAPTURE(out);
  CHECK(rc == 0);
  std::string verify;
  CHECK(run_command(env + kCli + " cache verify", &verify) == 0);
  CAPTURE(verify);
  CHECK(contains(verify, " 0 invalid, 0 temp,"));
  // The last prune's bound holds once nothing else runs.
  out.clear();
  REQUIRE(run_command(env + kCli + " cache prune --max-bytes 30K", &out) == 0);
  std::uintmax_t total = 0;
  for (const DiskCache::Entry& entry : DiskCache(dir.path()).list().entries) total += entry.bytes;
  CHECK(total <= 30 * 1024);
}

// Issue 30 N10: an mtime is outside data (`touch -d 2263-01-01` works, so does a restored backup); 64-bit
// nanoseconds end in April 2262, so the conversion overflowed (UB; in practice a wrap to 1678) and the entry used
// in 2263 was judged the least recently used.
TEST_CASE("issue30 N10: an mtime after 2262 is later than one in 1990, for prune and for classify") {
  TempDir dir;
  ScopedEnv unset("DRAFTJIT_CACHE_MAX_BYTES", std::nullopt);
  DiskCache cache(dir.path());
  REQUIRE(cache.store(test_key(0), kCubin));
  REQUIRE(cache.store(test_key(1), kCubin));
  const auto set_mtime = [](const fs::path& path, std::int64_t seconds) {
    const struct timespec when = {static_cast<time_t>(seconds), 0};
    const struct timespec times[2] = {when, when};
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0);
  };
  constexpr std::int64_t k1990 = 631152000;    // 1990-01-01
  constexpr std::int64_t k2263 = 9259228800;   // 2263-06-01: past int64 nanoseconds
  set_mtime(cache.path_for(test_key(0)), k2263);
  set_mtime(cache.path_for(test_key(1)), k1990);
  CHECK(classify(cache.path_for(test_key(0))).modified > classify(cache.path_for(test_key(1))).modified);

  const PruneResult result = cache.prune({entry_bytes(0), std::nullopt, {}});
  CHECK(result.removed == 1);
  CHECK(entries_in(dir.path()) == "t00");  // t01, used in 1990, goes first
}
