#include <doctest/doctest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>

#include "jit/pipeline.hpp"
#include "test_prologue.hpp"

namespace {

const KernelSpec kSpec = fused_spec(7, Tuning{});

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
  // unrolled 1..24, Blelloch 128 (100..128), 256 and 512
  CHECK(DiskCache(dir.path()).list().entries.size() == 24 + 3);
  for (const fs::path& file : cache_files(dir.path())) CHECK(file.extension() == ".cubin");  // no temp file left
}

namespace {


}  // namespace

TEST_CASE("entry and temp names have one fixed form") {
  CHECK(entry_name_hash("fused_unrolled.bs5.t128.sm_90-0123456789abcdef.cubin") == 0x0123456789abcdefull);
  CHECK(entry_name_hash("x-ffffffffffffffff.cubin") == ~std::uint64_t{0});
  for (const char* name : {"notes.cubin", "-0123456789abcdef.cubin", "x-0123456789ABCDEF.cubin",
                           "x-0123456789abcde.cubin", "x_0123456789abcdef.cubin", "x-0123456789abcdef.cubin.txt"}) {
    CHECK_MESSAGE(!entry_name_hash(name), name);
  }
  const std::string entry = "k.sm_90-0123456789abcdef.cubin";
  CHECK(is_temp_name(temp_path_for(fs::path("/d") / entry).filename().string()));
  CHECK(is_temp_name(entry + ".tmp.1.0123456789abcdef"));
  for (const std::string& name :
       {entry + ".tmp.1.abc", entry + ".tmp.01.0123456789abcdef", entry + ".tmp..0123456789abcdef",
        entry + ".tmp.1.0123456789abcdeg", std::string("report.cubin.tmp.1.0123456789abcdef")}) {
    CHECK_MESSAGE(!is_temp_name(name), name);
  }
}

TEST_CASE("classify: one rule for what each name in a cache directory is, never following a symlink") {
  TempDir dir;
  WarningLog warnings;
  fetch(dir.path(), warnings);
  const fs::path entry = only_file(dir.path());
  const std::string bytes = read_file(entry);
  const std::string name = entry.filename().string();
  const auto at = [&](const std::string& file) { return dir.path() / file; };

  write_file(at("renamed.cubin"), bytes);
  write_file(at("notes.cubin"), "the user's");
  write_file(at(name + ".tmp.12.0123456789abcdef"), "");
  write_file(at(name + ".tmp.13.0123456789abcdef"), bytes.substr(0, 5));
  write_file(at(name + ".tmp.14.0123456789abcdef"), bytes);
  write_file(at(name + ".tmp.15.0123456789abcdef"), "not an entry");
  write_file(at("report.cubin.tmp.1.0123456789abcdef"), bytes);
  fs::create_symlink(entry, at("link.sm_90-0123456789abcdef.cubin"));
  fs::create_symlink(entry, at(name + ".tmp.16.0123456789abcdef"));
  fs::create_symlink(entry, at("link.cubin"));
  REQUIRE(::mkfifo(at("fifo.sm_90-1123456789abcdef.cubin").c_str(), 0644) == 0);
  fs::create_directory(at("dir.sm_90-2123456789abcdef.cubin"));

  const std::map<std::string, FileKind> expected = {
      {name, FileKind::Entry},
      {"renamed.cubin", FileKind::Entry},  // by its magic
      {"notes.cubin", FileKind::Foreign},
      {name + ".tmp.12.0123456789abcdef", FileKind::Temp},
      {name + ".tmp.13.0123456789abcdef", FileKind::Temp},
      {name + ".tmp.14.0123456789abcdef", FileKind::Temp},
      {name + ".tmp.15.0123456789abcdef", FileKind::Foreign},
      {"report.cubin.tmp.1.0123456789abcdef", FileKind::Foreign},
      {"link.sm_90-0123456789abcdef.cubin", FileKind::InTheWay},
      {name + ".tmp.16.0123456789abcdef", FileKind::Foreign},
      {"link.cubin", FileKind::Foreign},
      {"fifo.sm_90-1123456789abcdef.cubin", FileKind::InTheWay},
      {"dir.sm_90-2123456789abcdef.cubin", FileKind::InTheWay},
      {".locks", FileKind::Locks},
      {"gone.sm_90-3123456789abcdef.cubin", FileKind::Missing},
  };
  for (const auto& [file, kind] : expected) {
    CAPTURE(file);
    CHECK(classify(at(file)).kind == kind);
  }
  CHECK(classify(at("link.sm_90-0123456789abcdef.cubin")).what == "a symbolic link");
  CHECK(classify(at("fifo.sm_90-1123456789abcdef.cubin")).what == "a FIFO");
  CHECK(classify(at(name)).bytes == bytes.size());
  const CacheFile renamed = read_cache_file(at("renamed.cubin"));
  CHECK(renamed.state == FileState::Damaged);
  CHECK(renamed.problem.find("name does not carry") != std::string::npos);
}

TEST_CASE("load, list, verify and clear follow the one rule: what list calls valid loads, nothing else does") {
  WarningLog ignored;
  std::vector<char> good;
  std::string good_bytes;
  {
    TempDir dir;
    fetch(dir.path(), ignored, &good);
    good_bytes = read_file(only_file(dir.path()));
  }
  const KernelKey key = make_key(kSpec, kSm90);
  const std::vector<char> other = encode_entry(make_key(fused_spec(8, Tuning{}), kSm90).text, {'x'});
  std::string bad_checksum = good_bytes;
  bad_checksum.back() ^= 1;
  std::string bad_magic = good_bytes;
  bad_magic[0] = 'X';
  struct Fixture {
    const char* name;
    std::string bytes;  // written as a regular file, unless link
    bool link = false;
  };
  const Fixture fixtures[] = {
      {"valid", good_bytes},
      {"another key", std::string(other.begin(), other.end())},
      {"empty", ""},
      {"5 bytes", good_bytes.substr(0, 5)},
      {"bad magic", bad_magic},
      {"bad checksum", bad_checksum},
      {"symlink to a valid entry", good_bytes, true},
  };
  for (const Fixture& fixture : fixtures) {
    const std::string name = fixture.name;
    CAPTURE(name);
    TempDir dir;
    TempDir outside;
    WarningLog warnings;
    DiskCache disk(dir.path(), warnings.sink());
    const fs::path path = dir.path() / (key.stem + ".cubin");
    if (fixture.link) {
      write_file(outside.path() / "target", fixture.bytes);
      fs::create_symlink(outside.path() / "target", path);
    } else {
      write_file(path, fixture.bytes);
    }
    const DiskCache::Listing listing = disk.list();
    REQUIRE(listing.entries.size() == 1);  // every one is reported: none is "another file"
    CHECK(listing.others == 0);
    const bool listed_valid = listing.entries[0].file.state == FileState::Valid;
    const bool loaded = disk.load(key).has_value();
    CHECK(loaded == listed_valid);
    CHECK(listed_valid == (std::string(fixture.name) == "valid"));
    const DiskCache::Removal removal = disk.remove(/*entries=*/true);
    if (fixture.link) {
      CHECK(removal.removed == 0);
      CHECK(removal.left.size() == 1);
      CHECK(fs::is_symlink(path));
      CHECK(read_file(outside.path() / "target") == fixture.bytes);
    } else {
      CHECK(!fs::exists(path));  // by clear, or already by the load that found it damaged
    }
  }
}

// Issue 20 item 11: a load that found a damaged entry used to remove the path, which by then could name a valid
// entry another process had renamed into its place. Then it compared the inode before unlinking by name, which left a
// window between the two. Now it removes the file as a prune evicts one (jit/cache/cache_prune's evict: moved aside under
// a name of its own, compared there, unlinked or put back), so only the file that was read is ever removed.
TEST_CASE("a damaged entry is removed only while the path still names the file that was read") {
  TempDir dir;
  const fs::path hashed = DiskCache(dir.path()).path_for(make_key(kSpec, kSm90));
  for (const fs::path& path : {dir.path() / "entry.cubin", hashed}) {  // renamed by hand, or a key's name
    CAPTURE(path);
    std::ofstream(path) << "damaged";
    const CacheFile damaged = read_cache_file(path);
    REQUIRE(damaged.state == FileState::Damaged);
    const fs::path fresh = dir.path() / "fresh.tmp";
    std::ofstream(fresh) << "another process's new entry";
    fs::rename(fresh, path);
    std::string failure;
    CHECK(evict(PruneCandidate{path, damaged.identity}, &failure) == Eviction::Changed);
    CHECK(fs::exists(path));
    CHECK(evict(PruneCandidate{path, read_cache_file(path).identity}, &failure) == Eviction::Removed);
    CHECK_FALSE(fs::exists(path));
    CHECK(failure.empty());
  }
  CHECK(cache_files(dir.path()).empty());  // nothing left aside
}

// The same through DiskCache::load: its warning about the damaged file comes between its read and the removal, so a
// sink that stores there is another process's store landing in that window.
TEST_CASE("a valid entry stored between a load's read of a damaged entry and its removal survives") {
  TempDir dir;
  ScopedEnv unset("DRAFTJIT_CACHE_MAX_BYTES", std::nullopt);
  const KernelKey key = make_key(kSpec, kSm90);
  const std::vector<char> cubin = {'n', 'e', 'w'};
  DiskCache other(dir.path(), [](const std::string&) {});
  bool stored = false;
  WarningLog warnings;
  DiskCache cache(dir.path(), [&](const std::string& message) {
    warnings.messages.push_back(message);
    if (draftjit::test::contains(message, "it will be rebuilt")) stored = other.store(key, cubin);
  });
  std::ofstream(cache.path_for(key)) << "damaged";
  CHECK_FALSE(cache.load(key).has_value());
  REQUIRE(warnings.messages.size() == 1);
  CHECK(draftjit::test::contains(warnings.messages[0], "ignoring cache file " + cache.path_for(key).string()));
  REQUIRE(stored);
  CHECK(DiskCache(dir.path()).load(key) == cubin);
  CHECK(cache_files(dir.path()).size() == 1);  // the new entry, and nothing moved aside

  // Without a store in between, the damaged one is removed.
  std::ofstream(cache.path_for(key)) << "damaged again";
  CHECK_FALSE(DiskCache(dir.path(), [](const std::string&) {}).load(key).has_value());
  CHECK(cache_files(dir.path()).empty());
}

TEST_CASE("an entry renamed onto another kernel's name, its hash kept, is listed as damaged") {
  // No load looks a kernel up under another spec's or arch's name, so such a file serves nobody; `cache verify`
  // must not call it valid (the hash in the name alone matches).
  TempDir dir;
  WarningLog warnings;
  fetch(dir.path(), warnings);
  const fs::path entry = only_file(dir.path());
  const std::string name = entry.filename().string();
  const std::string renamed = "fused_unrolled.bs999.t128.sm_80" + name.substr(name.rfind('-'));
  fs::rename(entry, dir.path() / renamed);
  const DiskCache::Listing listing = DiskCache(dir.path()).list();
  REQUIRE(listing.entries.size() == 1);
  CHECK(listing.entries[0].file.state == FileState::Damaged);
  CHECK(listing.entries[0].file.problem.find("does not name the kernel its key is for") != std::string::npos);
}
