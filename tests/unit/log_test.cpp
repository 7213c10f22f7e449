// Issue 18 without a GPU: the event log (levels, sink, front ends), the pipeline's counters, the compile policy
// after freeze(), DRAFTJIT_DUMP_DIR, and the README's worked example through the CLI.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "draftjit/errors.hpp"
#include "jit/nvrtc/compile_dump.hpp"
#include "jit/nvrtc/compile_policy.hpp"
#include "jit/log.hpp"
#include "jit/cache/manifest.hpp"
#include "jit/pipeline.hpp"
#include "test_prologue.hpp"

namespace {

struct Logged {
  LogLevel level;
  std::string event;
  std::string message;
};

// Collects the events of its scope at a threshold, then restores stderr and the default threshold.
class CapturedLog {
 public:
  explicit CapturedLog(const char* threshold) {
    set_log_sink([this](LogLevel level, std::string_view event, std::string_view message) {
      events.push_back({level, std::string(event), std::string(message)});
    });
    set_log_threshold_for_test(threshold);
  }
  ~CapturedLog() {
    set_log_sink({});
    set_log_threshold_for_test(nullptr);
  }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;

  std::vector<Logged> of(const std::string& event) const {
    std::vector<Logged> found;
    for (const Logged& e : events) {
      if (e.event == event) found.push_back(e);
    }
    return found;
  }
  std::vector<Logged> events;
};

// The compile policy for a scope: DRAFTJIT_JIT as given, not frozen; restored (unset, not frozen) after.
struct ScopedPolicy {
  explicit ScopedPolicy(const char* mode) { reset_compile_policy_for_test(mode); }
  ~ScopedPolicy() { reset_compile_policy_for_test(nullptr); }
  ScopedPolicy(const ScopedPolicy&) = delete;
  ScopedPolicy& operator=(const ScopedPolicy&) = delete;
};

}  // namespace

TEST_CASE("issue18: a compile, a disk hit and a front end are logged at info, with the key") {
  TempDir dir;
  WarningLog warnings;
  CapturedLog log("info");
  const KernelSpec spec = fused_spec(7, Tuning{});
  std::string stem;
  {
    Pipeline first(std::make_unique<DiskCache>(dir.path(), warnings.sink()));
    const FrontEndScope front_end("log test");
    stem = first.get(spec, kSm90)->key.stem;
  }
  const auto compiles = log.of("compile");
  REQUIRE(compiles.size() == 1);
  CHECK(compiles[0].level == LogLevel::Info);
  CHECK(contains(compiles[0].message, stem));
  CHECK(contains(compiles[0].message, "for sm_90 in "));
  CHECK(contains(compiles[0].message, " ms (log test)"));
  CHECK(log.of("disk hit").empty());

  Pipeline second(std::make_unique<DiskCache>(dir.path(), warnings.sink()));  // a new process, in effect
  second.get(spec, kSm90);
  const auto hits = log.of("disk hit");
  REQUIRE(hits.size() == 1);
  CHECK(contains(hits[0].message, stem + " in layer 0 (" + dir.path().string() + ")"));
  CHECK(log.of("compile").size() == 1);
  CHECK(std::string(current_front_end()) == "C++");  // the scope ended
}

TEST_CASE("issue18: below the threshold nothing is logged, an unknown DRAFTJIT_LOG is one warning") {
  {
    CapturedLog log("warn");
    Pipeline pipeline;
    pipeline.get(fused_spec(9, Tuning{}), kSm90);
    CHECK(log.events.empty());
    log_event(LogLevel::Warn, "test", "shown");
    log_event(LogLevel::Debug, "test", "not shown");
    REQUIRE(log.events.size() == 1);
    CHECK(log.events[0].message == "shown");
  }
  {
    CapturedLog log("loud");
    REQUIRE(log.events.size() == 1);
    CHECK(log.events[0].level == LogLevel::Warn);
    CHECK(contains(log.events[0].message, "DRAFTJIT_LOG='loud' is not one of error, warn, info, debug"));
    CHECK(log_threshold() == LogLevel::Warn);
  }
  CapturedLog log("error");
  log_event(LogLevel::Warn, "test", "not shown");
  CHECK(log.events.empty());
}

TEST_CASE("issue18: the pipeline counts compiles, their time, disk hits per layer and bytes stored, reset zeroes") {
  TempDir dir;
  WarningLog warnings;
  Pipeline pipeline(std::make_unique<DiskCache>(dir.path(), warnings.sink()));
  const auto first = pipeline.get(fused_spec(11, Tuning{}), kSm90);
  const auto second = pipeline.get(fused_spec(12, Tuning{}), kSm90);
  pipeline.get(fused_spec(11, Tuning{}), kSm90);
  Pipeline::Stats stats = pipeline.stats();
  CHECK(stats.compiles == 2);
  CHECK(stats.memory_hits == 1);
  CHECK(stats.disk_hits == 0);
  CHECK(stats.disk_hits_per_layer == std::vector<std::size_t>{0});
  CHECK(stats.compile_ms_total > 0);
  CHECK(stats.compile_ms_max > 0);
  CHECK(stats.compile_ms_max <= stats.compile_ms_total);
  CHECK(stats.bytes_stored == first->cubin.size() + second->cubin.size());

  pipeline.reset_stats();
  stats = pipeline.stats();
  CHECK(stats.compiles == 0);
  CHECK(stats.memory_hits == 0);
  CHECK(stats.compile_ms_total == 0);
  CHECK(stats.compile_ms_max == 0);
  CHECK(stats.bytes_stored == 0);

  // A new process whose writable directory is empty and that reads the first one as a read-only layer.
  TempDir other;
  Pipeline reader(std::make_unique<DiskCache>(CacheLocation{other.path(), {dir.path()}, {}}, warnings.sink()));
  reader.get(fused_spec(12, Tuning{}), kSm90);
  reader.get(fused_spec(11, Tuning{}), kSm90);
  reader.get(fused_spec(10, Tuning{}), kSm90);  // compiled, stored in the writable layer
  Pipeline again(std::make_unique<DiskCache>(CacheLocation{other.path(), {dir.path()}, {}}, warnings.sink()));
  again.get(fused_spec(10, Tuning{}), kSm90);
  CHECK(reader.stats().disk_hits == 2);
  CHECK(reader.stats().disk_hits_per_layer == std::vector<std::size_t>{0, 2});
  CHECK(reader.stats().compiles == 1);
  CHECK(again.stats().disk_hits_per_layer == std::vector<std::size_t>{1, 0});
  CHECK(warnings.messages.empty());
}

TEST_CASE("issue18: after freeze() with DRAFTJIT_JIT=strict a compile is an error naming the key, hits still work") {
  TempDir dir;
  WarningLog warnings;
  Pipeline warm(std::make_unique<DiskCache>(dir.path(), warnings.sink()));
  warm.get(fused_spec(13, Tuning{}), kSm90);  // warmed up before the freeze

  const ScopedPolicy policy("strict");
  freeze();
  Pipeline serving(std::make_unique<DiskCache>(dir.path(), warnings.sink()));
  CHECK(serving.get(fused_spec(13, Tuning{}), kSm90) != nullptr);  // from disk: allowed
  CHECK(warm.get(fused_spec(13, Tuning{}), kSm90) != nullptr);     // from memory: allowed
  const std::string stem = make_key(fused_spec(14, Tuning{}), kSm90).stem;
  try {
    serving.get(fused_spec(14, Tuning{}), kSm90);
    FAIL("a compile after freeze() in strict mode did not throw");
  } catch (const draftjit::Error& error) {
    CHECK(contains(error.what(), stem));
    CHECK(contains(error.what(), "DRAFTJIT_JIT=strict"));
    CHECK(contains(error.what(), "prepare()"));
  }
  CHECK(serving.stats().compiles == 0);
  CHECK(serving.stats().renders == 0);  // refused before anything was rendered
}

TEST_CASE("issue18: after freeze() with DRAFTJIT_JIT=warn a compile is logged and goes ahead, unset allows it") {
  {
    const ScopedPolicy policy("warn");
    CapturedLog log("warn");
    Pipeline pipeline;
    pipeline.get(fused_spec(15, Tuning{}), kSm90);
    CHECK(log.of("compile after freeze").empty());  // not frozen yet
    freeze();
    pipeline.get(fused_spec(16, Tuning{}), kSm90);
    const auto warned = log.of("compile after freeze");
    REQUIRE(warned.size() == 1);
    CHECK(warned[0].level == LogLevel::Warn);
    CHECK(contains(warned[0].message, make_key(fused_spec(16, Tuning{}), kSm90).stem));
    CHECK(pipeline.stats().compiles == 2);
  }
  const ScopedPolicy policy(nullptr);
  freeze();
  Pipeline pipeline;
  pipeline.get(fused_spec(17, Tuning{}), kSm90);
  CHECK(pipeline.stats().compiles == 1);
}

TEST_CASE("issue18: dump_compile writes the source, PTX, options and NVRTC log of a kernel") {
  TempDir dir;
  const std::filesystem::path dump = dir.path() / "made" / "here";  // created when missing
  dump_compile(dump, "fused_unrolled.bs3.t128.sm_90-00", "__global__ void k() {}", kSm90, nullptr, "the log");
  CHECK(read_file(dump / "fused_unrolled.bs3.t128.sm_90-00.cu") == "__global__ void k() {}");
  CHECK(read_file(dump / "fused_unrolled.bs3.t128.sm_90-00.log") == "the log");
  CHECK(contains(read_file(dump / "fused_unrolled.bs3.t128.sm_90-00.options"), "sm_90"));
  CHECK_FALSE(std::filesystem::exists(dump / "fused_unrolled.bs3.t128.sm_90-00.ptx"));  // a failed compile has none
}

TEST_CASE("issue18: the CLI with DRAFTJIT_LOG=info and DRAFTJIT_DUMP_DIR logs and dumps each compile") {
  TempDir dir;
  const std::filesystem::path dump = dir.path() / "dump";
  std::string output;
  const int status = run_command("DRAFTJIT_LOG=info DRAFTJIT_DUMP_DIR='" + dump.string() + "' " + kCli +
                                     " emit --bs 5 --kind fused --cubin-info",
                                 &output);
  REQUIRE(status == 0);
  CHECK(contains(output, "draftjit: info: nvrtc: "));
  CHECK(contains(output, "draftjit: info: compile: fused_unrolled.bs5."));
  std::vector<std::string> suffixes;
  for (const auto& file : std::filesystem::directory_iterator(dump)) suffixes.push_back(file.path().extension());
  std::sort(suffixes.begin(), suffixes.end());
  CHECK(suffixes == std::vector<std::string>{".cu", ".log", ".options", ".ptx"});
  for (const auto& file : std::filesystem::directory_iterator(dump)) {
    if (file.path().extension() == ".ptx") CHECK(contains(read_file(file.path()), ".entry draftjit_fused"));
  }
}

TEST_CASE("issue18: the README's worked example without a GPU: manifest -> warmup -> export -> import -> all cached") {
  TempDir dir;
  const std::filesystem::path manifest = dir.path() / "kernels.manifest";
  {
    std::ofstream out(manifest);
    for (const KernelSpec& spec : kernels_for({5, 300, 5000}, Tuning{})) {
      out << format_manifest_entry({spec, "sm_90"}) << "\n";
    }
  }
  const std::string bake = "DRAFTJIT_CACHE_DIR='" + (dir.path() / "bake").string() + "' ";
  const std::string image = "DRAFTJIT_CACHE_DIR='" + (dir.path() / "image").string() + "' ";
  const std::string bundle = (dir.path() / "cache.bundle").string();
  std::string output;
  REQUIRE(run_command(bake + kCli + " warmup --manifest '" + manifest.string() + "' --jobs 2", &output) == 0);
  CHECK(contains(output, "4 compiled, 0 already cached, 0 failed"));
  REQUIRE(run_command(bake + kCli + " cache export '" + bundle + "' --manifest '" + manifest.string() + "'",
                      &output) == 0);
  REQUIRE(run_command(image + kCli + " cache import '" + bundle + "'", &output) == 0);
  // Serving: an empty writable directory over the imported cache as a read-only layer compiles nothing.
  const std::string serve = "DRAFTJIT_CACHE_DIR='" + (dir.path() / "serve").string() + "' DRAFTJIT_CACHE_PATH='" +
                            (dir.path() / "image").string() + "' ";
  REQUIRE(run_command(serve + kCli + " warmup --manifest '" + manifest.string() + "'", &output) == 0);
  CHECK(contains(output, "0 compiled, 4 already cached, 0 failed"));
}
