// The kernel manifest (jit/cache/manifest): its one format, recording from many processes, and warmup from it.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "jit/log.hpp"
#include "jit/cache/manifest.hpp"
#include "jit/outside_text.hpp"
#include "test_prologue.hpp"

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// What read_manifest says of a manifest whose third line is `line`: it skips that line (issue 30 N5: a damaged line
// no longer refuses the file) and still gives the second.
std::string error_for(const fs::path& path, const std::string& line, bool newline = true) {
  write_file(path, "# header\nv1 fill bs=0 slots=1 chunk=1 threads=256 arch=sm_90\n" + line + (newline ? "\n" : ""));
  std::vector<std::string> said;
  const std::vector<ManifestEntry> entries =
      read_manifest(path, true, [&](const std::string& message) { said.push_back(message); });
  if (entries.size() != 1 || said.size() != 1) return "(not one line skipped)";
  return said[0];
}

// Makes the recording of this test process go to path for the scope, then off again.
struct ScopedRecord {
  explicit ScopedRecord(const fs::path& path) { set_record_path_for_test(path.c_str()); }
  ~ScopedRecord() { set_record_path_for_test(nullptr); }
};

// Collects the "record" events for the scope.
struct RecordEvents {
  std::vector<std::string> warnings;
  RecordEvents() {
    set_log_threshold_for_test("warn");
    set_log_sink([this](LogLevel level, std::string_view event, std::string_view message) {
      if (level == LogLevel::Warn && event == "record") warnings.emplace_back(message);
    });
  }
  ~RecordEvents() {
    set_log_sink({});
    set_log_threshold_for_test(nullptr);
  }
};

}  // namespace

TEST_CASE("issue18: a manifest line is readable text that parses back to the same kernel") {
  CHECK(format_manifest_entry({fused_spec(5, {}), "sm_90"}) ==
        "v1 fused_unrolled bs=5 slots=8 chunk=1 threads=128 arch=sm_90");
  std::vector<int> batch_sizes;
  for (int bs = 0; bs <= 300; ++bs) batch_sizes.push_back(bs);
  for (int bs : {4096, 4097, 8192, 8193, 100000, draftjit::kMaxBs}) batch_sizes.push_back(bs);
  Tuning small;
  small.unroll_max_bs = 0;
  small.fused_max_bs = 64;
  small.fused_unrolled_threads = 96;
  small.fused_blelloch_min_threads = 32;
  small.fused_blelloch_max_threads = 1024;
  small.fill_threads = 1024;
  std::size_t checked = 0;
  for (const Tuning& tuning : {Tuning{}, small}) {
    for (const KernelSpec& spec : kernels_for(batch_sizes, tuning)) {
      for (const char* arch : {"sm_90", "sm_100a", "compute_90"}) {
        const ManifestEntry entry{spec, arch};
        const std::string line = format_manifest_entry(entry);
        CAPTURE(line);
        CHECK(parse_manifest_entry(line) == entry);
        CHECK(line.size() < 128);  // far below PIPE_BUF, so one write() appends it whole
        ++checked;
      }
    }
  }
  CHECK(checked > 150);  // both tunings, small and large bs, three archs
}

TEST_CASE("issue18: every malformed manifest line is skipped and said, naming path:line and what is wrong") {
  TempDir dir;
  const fs::path path = dir.path() / "kernels.manifest";
  const std::string at = path.string() + ":3: ";
  const std::string good_tail = " arch=sm_90";
  struct Case {
    std::string line;
    std::string what;
  };
  const std::vector<Case> cases = {
      {"fill bs=0 slots=1 chunk=1 threads=256 arch=sm_90", "expected 'v1 <kind> bs=N"},
      {"v2 fill bs=0 slots=1 chunk=1 threads=256 arch=sm_90", "format version 'v2' is not one this draftjit reads"},
      {"v1 fill bs=0 slots=1 chunk=1", "expected 7 fields"},
      {"v1 fill bs=0 slots=1 chunk=1 threads=256 arch=sm_90 extra=1", "found 8"},
      {"v1 filler bs=0 slots=1 chunk=1 threads=256 arch=sm_90", "unknown kernel kind 'filler'"},
      {"v1 fill slots=1 bs=0 chunk=1 threads=256 arch=sm_90", "field 3 is 'slots=1', expected bs="},
      {"v1 fill bs=x slots=1 chunk=1 threads=256 arch=sm_90", "bs='x' is not a non-negative integer"},
      {"v1 fill bs=-1 slots=1 chunk=1 threads=256 arch=sm_90", "bs='-1' is not a non-negative integer"},
      {"v1 fill bs=0 slots=1 chunk=1 threads=99999999999 arch=sm_90", "threads='99999999999' is not"},
      {"v1 fill bs=0 slots=1 chunk=1 threads=100 arch=sm_90", "threads must be a multiple of 32"},
      {"v1 fill bs=3 slots=1 chunk=1 threads=256 arch=sm_90", "bs must be 0, slots and chunk 1"},
      {"v1 fused_unrolled bs=2000 slots=2048 chunk=1 threads=128 arch=sm_90", "bs must be in [0, 1024]"},
      {"v1 fused_unrolled bs=5 slots=4 chunk=1 threads=128 arch=sm_90", "slots must be 8"},
      {"v1 scan_unrolled bs=5 slots=8 chunk=1 threads=128 arch=sm_90", "threads must be 1"},
      {"v1 fused_blelloch bs=0 slots=3 chunk=1 threads=128 arch=sm_90", "slots must be a power of two"},
      {"v1 fused_blelloch bs=0 slots=4096 chunk=2 threads=128 arch=sm_90", "slots * chunk <= 4096"},
      {"v1 fused_blelloch bs=0 slots=256 chunk=1 threads=2048 arch=sm_90", "threads must be a power of two"},
      {"v1 fused_blelloch bs=7 slots=256 chunk=1 threads=128 arch=sm_90", "bs must be 0"},
      {"v1 scan_blelloch bs=0 slots=1024 chunk=2 threads=512 arch=sm_90", "chunk > 1 needs slots = 8192"},
      {"v1 scan_blelloch bs=0 slots=1024 chunk=1 threads=128 arch=sm_90", "threads must be 512 for these slots"},
      {"v1 fill bs=0 slots=1 chunk=1 threads=256 arch=sm_9x", "arch 'sm_9x' is not a real GPU architecture"},
      {"v1 fill bs=0 slots=1 chunk=1 threads=256 arch=sm_20", "is not supported by NVRTC"},
      {"v1 fill bs=0 slots=1 chunk=1 threads=256 arch=", "arch '' is not"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.line);
    const std::string error = error_for(path, c.line);
    CHECK(contains(error, at));
    CHECK(contains(error, c.what));
    CHECK(contains(error, c.line.substr(0, 40)));  // quotes the line
  }
  SUBCASE("a last line cut short is skipped, even when what is left would parse") {
    for (const std::string torn : {"v1 fill bs=0 slots=1 chunk=1 threads=256 arch=sm_90", "v1 fill bs=0 slo"}) {
      const std::string error = error_for(path, torn, /*newline=*/false);
      CHECK(contains(error, at));
      CHECK(contains(error, "the last line has no newline"));
    }
  }
  SUBCASE("control bytes are not echoed") {
    const std::string error = error_for(path, std::string("v1 fill\x1b[2J bs=0"));
    CHECK(contains(error, at));
    CHECK_FALSE(contains(error, "\x1b"));
  }
}

TEST_CASE("issue18: a manifest skips header lines anywhere and blank lines, and collapses duplicates in order") {
  TempDir dir;
  const fs::path path = dir.path() / "m";
  const ManifestEntry a{fused_spec(3, {}), "sm_90"};
  const ManifestEntry b{fill_spec({}), "sm_90"};
  const ManifestEntry c{fused_spec(3, {}), "compute_90"};
  write_file(path, format_manifest_entry(a) + "\n# draftjit kernel manifest\n\n" + format_manifest_entry(b) +
                       "\n  \n" + format_manifest_entry(a) + "\n# again\n" + format_manifest_entry(c) + "\n" +
                       format_manifest_entry(b) + "\n");
  CHECK(read_manifest(path) == std::vector<ManifestEntry>{a, b, c});
  write_file(path, "");
  CHECK(read_manifest(path).empty());
}

TEST_CASE("issue18: a manifest that is missing, a directory or a FIFO is an error naming it, and never hangs") {
  TempDir dir;
  const fs::path missing = dir.path() / "missing";
  CHECK_THROWS_AS(read_manifest(missing), std::system_error);
  try {
    (void)read_manifest(missing);
  } catch (const std::system_error& e) {
    CHECK(contains(e.what(), missing.string()));
    CHECK(contains(e.what(), "No such file"));
  }
  CHECK_THROWS_WITH_AS(read_manifest(dir.path()), doctest::Contains("is not a regular file"), std::invalid_argument);
  const fs::path fifo = dir.path() / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_WITH_AS(read_manifest(fifo), doctest::Contains("is not a regular file"), std::invalid_argument);
}

TEST_CASE("issue18: record_kernel appends each kernel once per process, under one header") {
  TempDir dir;
  const fs::path path = dir.path() / "recorded.manifest";
  const Toolchain sm90 = Toolchain::for_arch("sm_90");
  const Toolchain ptx = Toolchain::for_arch("compute_90");
  {
    set_record_path_for_test(nullptr);
    record_kernel(fused_spec(1, {}), sm90);  // off: nothing is written, nothing created
    CHECK_FALSE(fs::exists(path));
  }
  {
    const ScopedRecord record(path);
    for (int round = 0; round < 3; ++round) {
      record_kernel(fused_spec(1, {}), sm90);
      record_kernel(fill_spec({}), sm90);
      record_kernel(fused_spec(1, {}), ptx);
    }
  }
  const std::string text = read_file(path);
  CAPTURE(text);
  const std::vector<std::string> lines = lines_of(text);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].rfind("# draftjit kernel manifest", 0) == 0);
  CHECK(lines[1] == format_manifest_entry({fused_spec(1, {}), "sm_90"}));
  CHECK(read_manifest(path) == std::vector<ManifestEntry>{{fused_spec(1, {}), "sm_90"},
                                                          {fill_spec({}), "sm_90"},
                                                          {fused_spec(1, {}), "compute_90"}});
  {  // a new "process" (a fresh recorder) appends to the file it finds, without a second header
    const ScopedRecord record(path);
    record_kernel(fused_spec(2, {}), sm90);
  }
  const std::vector<std::string> after = lines_of(read_file(path));
  CHECK(after.size() == 5);
  CHECK(std::count_if(after.begin(), after.end(), [](const std::string& l) { return l[0] == '#'; }) == 1);
}

TEST_CASE("issue18: a manifest that cannot be written is one warning, never an exception, and is tried again") {
  TempDir dir;
  const fs::path path = dir.path() / "no-such-dir" / "m";
  const Toolchain sm90 = Toolchain::for_arch("sm_90");
  RecordEvents events;
  {
    const ScopedRecord record(path);
    CHECK_NOTHROW(record_kernel(fused_spec(1, {}), sm90));
    CHECK_NOTHROW(record_kernel(fused_spec(2, {}), sm90));
    CHECK_NOTHROW(record_kernel(fused_spec(1, {}), sm90));
    REQUIRE(events.warnings.size() == 1);
    CHECK(contains(events.warnings[0], path.string()));
    CHECK(contains(events.warnings[0], "fused_unrolled.bs1.t128.sm_90"));
    CHECK(contains(events.warnings[0], "No such file or directory"));
    fs::create_directories(path.parent_path());  // fixed: the kernel that failed is recorded at its next load
    record_kernel(fused_spec(1, {}), sm90);
  }
  CHECK(read_manifest(path) == std::vector<ManifestEntry>{{fused_spec(1, {}), "sm_90"}});
  CHECK(events.warnings.size() == 1);
}

TEST_CASE("issue18: many processes recording at once give exactly the union, one header and no torn line") {
  TempDir dir;
  const fs::path path = dir.path() / "shared.manifest";
  constexpr int kChildren = 8;
  constexpr int kShared = 20;  // kernels every child records
  const Toolchain sm90 = Toolchain::for_arch("sm_90");
  const ScopedRecord record(path);
  int start[2];
  REQUIRE(::pipe(start) == 0);
  std::vector<pid_t> children;
  for (int child = 0; child < kChildren; ++child) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(start[1]);
      char go = 0;
      (void)!::read(start[0], &go, 1);  // EOF when the parent closes its end: all start together
      for (int bs = 1; bs <= kShared; ++bs) {
        record_kernel(fused_spec(bs, {}), sm90);
        record_kernel(fused_spec(100 + child, {}), sm90);  // repeated: recorded once
      }
      Tuning own;
      own.fill_threads = 32 * (child + 1);
      record_kernel(fill_spec(own), sm90);
      ::_exit(0);
    }
    children.push_back(pid);
  }
  ::close(start[0]);
  ::close(start[1]);
  for (pid_t pid : children) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  }
  std::set<std::string> expected;
  for (int bs = 1; bs <= kShared; ++bs) expected.insert(format_manifest_entry({fused_spec(bs, {}), "sm_90"}));
  for (int child = 0; child < kChildren; ++child) {
    Tuning own;
    own.fill_threads = 32 * (child + 1);
    expected.insert(format_manifest_entry({fused_spec(100 + child, {}), "sm_90"}));
    expected.insert(format_manifest_entry({fill_spec(own), "sm_90"}));
  }
  std::set<std::string> read;
  std::vector<std::string> skipped;  // none torn
  for (const ManifestEntry& entry : read_manifest(path, true, [&](const std::string& m) { skipped.push_back(m); })) {
    read.insert(format_manifest_entry(entry));
  }
  CHECK(read == expected);
  CHECK(skipped.empty());
  const std::string text = read_file(path);
  std::vector<std::string> lines = lines_of(text);
  // An append that saw another's write half done (the size grows page by page) puts a '\n' before its line, in case
  // that was a tear (issue 30 N5): a blank line, which readers skip.
  std::erase_if(lines, [](const std::string& l) { return l.empty(); });
  CHECK(text.back() == '\n');
  CHECK(std::count_if(lines.begin(), lines.end(), [](const std::string& l) { return l[0] == '#'; }) == 1);
  CHECK(lines.size() == 1 + kChildren * (kShared + 2));  // each child wrote each of its kernels once
}

TEST_CASE("issue18: draftjit warmup --manifest compiles exactly the manifest's kernels, each for its arch") {
  TempDir cache;
  TempDir work;
  const fs::path manifest = work.path() / "kernels.manifest";
  const std::vector<ManifestEntry> entries = {
      {fused_spec(3, {}), "sm_90"}, {scan_spec(5000, {}), "sm_90"}, {fill_spec({}), "compute_90"}};
  std::string text = "# draftjit kernel manifest\n";
  for (const ManifestEntry& e : entries) text += format_manifest_entry(e) + "\n";
  text += format_manifest_entry(entries[0]) + "\n";  // a duplicate adds nothing
  write_file(manifest, text);

  const std::string command =
      draftjit::test::cache_dir_env(cache.path()) + kCli + " warmup --manifest '" + manifest.string() + "' --jobs 2";
  std::string out;
  CHECK(run_command(command, &out) == 0);
  CAPTURE(out);
  CHECK(contains(out,
                 fmt::format("warmup: 3 kernels from the manifest {} on sm_90,compute_90 with", manifest.string())));
  CHECK(contains(out, "3 compiled, 0 already cached, 0 failed, 0 not stored"));
  std::set<std::string> stems;
  for (const auto& file : fs::directory_iterator(cache.path())) {
    const std::string name = file.path().filename().string();
    if (name == ".locks") continue;
    CHECK(file.path().extension() == ".cubin");
    stems.insert(name.substr(0, name.rfind('-')));
  }
  CHECK(stems == std::set<std::string>{fused_spec(3, {}).name() + ".sm_90", scan_spec(5000, {}).name() + ".sm_90",
                                       fill_spec({}).name() + ".compute_90"});
  out.clear();
  CHECK(run_command(command, &out) == 0);
  CHECK(contains(out, "0 compiled, 3 already cached"));
}

TEST_CASE("issue18: draftjit warmup --manifest refuses what would contradict it, and a manifest of no kernels") {
  TempDir cache;
  TempDir work;
  const fs::path manifest = work.path() / "m";
  write_file(manifest, "v1 fill bs=0 slots=1 chunk=1 threads=256 arch=sm_90\n");
  const std::string run = draftjit::test::cache_dir_env(cache.path()) + kCli + " warmup --manifest '" +
                          manifest.string() + "'";
  for (const char* extra : {" --arch sm_90", " --bs 1", " --fused-max 8", " --unroll-max 4"}) {
    std::string out;
    CHECK(run_command(run + extra, &out) == 2);
    CHECK(contains(out, "--manifest cannot be combined with"));
  }
  write_file(manifest, "v1 fill bs=0\n");  // a bad line is skipped and said (issue 30 N5): then nothing is left
  std::string out;
  CHECK(run_command(run, &out) == 1);
  CHECK(contains(out, manifest.string() + ":1: skipped: expected 7 fields"));
  CHECK(contains(out, "names no kernels"));
  write_file(manifest, "# draftjit kernel manifest\n");
  out.clear();
  CHECK(run_command(run, &out) == 1);
  CHECK(contains(out, "names no kernels"));
  out.clear();
  CHECK(run_command(draftjit::test::cache_dir_env(cache.path()) + kCli + " warmup --manifest '" +
                        (work.path() / "absent").string() + "'",
                    &out) == 1);
  CHECK(contains(out, "No such file or directory"));
  CHECK(fs::is_empty(cache.path()));  // nothing was compiled for any of them
}

// Run by the next test in a process of its own, where DRAFTJIT_RECORD is read as a process reads it: once, at the
// first record. Does nothing in the ordinary run.
TEST_CASE("issue18: helper run as a child process: records with DRAFTJIT_RECORD set") {
  if (std::getenv("DRAFTJIT_TEST_RECORD_CHILD") == nullptr) return;
  const Toolchain sm90 = Toolchain::for_arch("sm_90");
  record_kernel(fused_spec(7, {}), sm90);
  REQUIRE(::chdir("/") == 0);  // the relative path was made absolute at the first record
  record_kernel(fused_spec(7, {}), sm90);
  record_kernel(fill_spec({}), sm90);
}

TEST_CASE("issue18: DRAFTJIT_RECORD is read at the first record, a relative path taken from the directory then") {
  TempDir dir;
  std::string out;
  const int rc = run_command("cd '" + dir.path().string() +
                                 "' && DRAFTJIT_TEST_RECORD_CHILD=1 DRAFTJIT_RECORD=relative.manifest /proc/" +
                                 std::to_string(::getpid()) + "/exe -tc='*helper run as a child process*'",
                             &out);
  CAPTURE(out);
  CHECK(rc == 0);
  CHECK(read_manifest(dir.path() / "relative.manifest") ==
        std::vector<ManifestEntry>{{fused_spec(7, {}), "sm_90"}, {fill_spec({}), "sm_90"}});
  CHECK(lines_of(read_file(dir.path() / "relative.manifest")).size() == 3);
}

TEST_CASE("issue18: a malformed line's error shows its fields bounded and without control bytes (raw-message)") {
  for (const std::string& line : {std::string("v\x1b[2J"), std::string("v1 fused_unrolled bs=\x1b[2J"),
                                  std::string(5000, 'v'), "v1 " + std::string(5000, 'k'),
                                  "v1 fill bs=0 slots=1 chunk=1 threads=256 arch=sm_\x1b" + std::string(300, '9')}) {
    try {
      parse_manifest_entry(line);
      FAIL("accepted a malformed line");
    } catch (const std::invalid_argument& error) {
      const std::string message = error.what();
      // One piece of outside text, at most 4 * kShownBytes + 32 bytes as shown (jit/outside_text), and fixed text.
      CHECK(message.size() < 4 * kShownBytes + 32 + 200);
      CHECK(std::none_of(message.begin(), message.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f;
      }));
    }
  }
}

namespace {

// Collects the "manifest" warnings (read_manifest's skipped lines) for the scope.
struct ManifestEvents {
  std::vector<std::string> warnings;
  ManifestEvents() {
    set_log_threshold_for_test("warn");
    set_log_sink([this](LogLevel level, std::string_view event, std::string_view message) {
      if (level == LogLevel::Warn && event == "manifest") warnings.emplace_back(message);
    });
  }
  ~ManifestEvents() {
    set_log_sink({});
    set_log_threshold_for_test(nullptr);
  }
};

}  // namespace

// Issue 30 N5: a full disk mid-append leaves a torn line without its '\n'; the next process's append joined it
// (`v1 fused_uv1 fill ...`) and every reader refused the whole file.
TEST_CASE("issue30 N5: an append after a torn line keeps it apart, and the reader skips it, naming path:line") {
  TempDir dir;
  const fs::path path = dir.path() / "fleet.manifest";
  write_file(path, "# draftjit kernel manifest\nv1 fill bs=0 slots=1 chunk=1 threads=256 arch=sm_90\nv1 fused_u");
  const Toolchain sm90 = Toolchain::for_arch("sm_90");
  {
    const ScopedRecord record(path);
    record_kernel(fused_spec(2, {}), sm90);
  }
  ManifestEvents events;
  std::vector<ManifestEntry> entries;
  CHECK_NOTHROW(entries = read_manifest(path));
  CHECK(entries == std::vector<ManifestEntry>{{fill_spec({}), "sm_90"}, {fused_spec(2, {}), "sm_90"}});
  REQUIRE(events.warnings.size() == 1);
  CHECK(contains(events.warnings[0], path.string() + ":3: "));
  CHECK(contains(events.warnings[0], "'v1 fused_u'"));

  // The CLI warms up what is readable, rc 0, and says which line it skipped.
  TempDir cache;
  std::string out;
  CHECK(run_command(draftjit::test::cache_dir_env(cache.path()) + kCli + " warmup --manifest '" + path.string() + "'",
                    &out) == 0);
  CAPTURE(out);
  CHECK(contains(out, path.string() + ":3: "));
}

TEST_CASE("issue30 N5: a manifest cut short, or with a damaged line in the middle, gives its other lines") {
  TempDir dir;
  const fs::path path = dir.path() / "m";
  ManifestEvents events;
  write_file(path, "v1 fill bs=0 slots=1 chunk=1 threads=256 arch=sm_90\nv1 fill bs=0 slots=1 chunk=1 thr");
  CHECK(read_manifest(path) == std::vector<ManifestEntry>{{fill_spec({}), "sm_90"}});
  write_file(path, "v1 fused_uv1 fill bs=0 slots=1 chunk=1 threads=256 arch=sm_90\n" +
                       format_manifest_entry({fused_spec(3, {}), "sm_90"}) + "\n");
  // A tear that an append raced (it looked before the tear, wrote after): the appended line is the text from the
  // last "v1 " on, and is read; the torn part is said.
  CHECK(read_manifest(path) == std::vector<ManifestEntry>{{fill_spec({}), "sm_90"}, {fused_spec(3, {}), "sm_90"}});
  REQUIRE(events.warnings.size() == 2);
  CHECK(contains(events.warnings[0], path.string() + ":2: "));
  CHECK(contains(events.warnings[1], path.string() + ":1: skipped: a torn line joined by the next one"));
  CHECK(contains(events.warnings[1], "'v1 fused_u'"));
  write_file(path, "v1 nonsense\n" + format_manifest_entry({fused_spec(3, {}), "sm_90"}) + "\n");
  CHECK(read_manifest(path) == std::vector<ManifestEntry>{{fused_spec(3, {}), "sm_90"}});
  REQUIRE(events.warnings.size() == 3);
  CHECK(contains(events.warnings[2], path.string() + ":1: skipped: unknown kernel kind 'nonsense'"));
}

TEST_CASE("issue30 N5: a CRLF manifest is read as its lines") {
  TempDir dir;
  const fs::path path = dir.path() / "m";
  write_file(path, "# draftjit kernel manifest\r\nv1 fill bs=0 slots=1 chunk=1 threads=256 arch=sm_90\r\n\r\n" +
                       format_manifest_entry({fused_spec(3, {}), "sm_90"}) + "\r\n");
  CHECK(read_manifest(path) == std::vector<ManifestEntry>{{fill_spec({}), "sm_90"}, {fused_spec(3, {}), "sm_90"}});
}

TEST_CASE("issue30: DRAFTJIT_RECORD never follows a symlink nor appends to a file that is not a manifest") {
  TempDir dir;
  const Toolchain sm90 = Toolchain::for_arch("sm_90");
  const fs::path target = dir.path() / "target";
  write_file(target, "precious\n");
  const fs::path link = dir.path() / "link";
  fs::create_symlink(target, link);
  const fs::path other = dir.path() / "notes.txt";
  write_file(other, "my notes\n");
  for (const fs::path& path : {link, other}) {
    CAPTURE(path);
    RecordEvents events;
    const ScopedRecord record(path);
    record_kernel(fused_spec(1, {}), sm90);
    record_kernel(fused_spec(2, {}), sm90);
    REQUIRE(events.warnings.size() == 1);
    CHECK(contains(events.warnings[0], path.string()));
  }
  CHECK(read_file(target) == "precious\n");
  CHECK(read_file(other) == "my notes\n");
  const fs::path empty = dir.path() / "empty";  // made by `touch` beforehand: a manifest to be
  write_file(empty, "");
  {
    const ScopedRecord record(empty);
    record_kernel(fused_spec(1, {}), sm90);
  }
  CHECK(read_manifest(empty) == std::vector<ManifestEntry>{{fused_spec(1, {}), "sm_90"}});
}
