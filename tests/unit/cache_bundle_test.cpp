// Issue 18, item 6: portable bundles of cache entries (`draftjit cache export` / `import`).
#include "jit/cache/cache_bundle.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "jit/cache/manifest.hpp"
#include "jit/pipeline.hpp"
#include "test_prologue.hpp"

namespace {

std::vector<char> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_bytes(const fs::path& path, const std::vector<char>& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Every name in dir but the compile locks, with its bytes.
std::map<std::string, std::vector<char>> files_in(const fs::path& dir) {
  std::map<std::string, std::vector<char>> files;
  if (!fs::exists(dir)) return files;
  for (const auto& file : fs::directory_iterator(dir)) {
    if (file.path().filename() != ".locks") files[file.path().filename().string()] = read_bytes(file.path());
  }
  return files;
}

// A warm cache of bs (one kernel each on sm_90) in dir.
void warm(const fs::path& dir, const std::string& bs) {
  REQUIRE(run_command(cache_dir_env(dir) + kCli + " warmup --bs " + bs + " --arch sm_90 >/dev/null") == 0);
}

std::string entry_name(int bs) {
  return render(fused_spec(bs, Tuning{}), Toolchain::for_arch("sm_90")).key.stem + ".cubin";
}

}  // namespace

TEST_CASE("issue18: export then import carries every layer's valid entries into a fresh cache") {
  TempDir source;
  TempDir layer;
  TempDir target;
  TempDir out;
  warm(source.path(), "1-2");
  warm(layer.path(), "2-3");
  std::ofstream(source.path() / entry_name(4)) << "DJCUBIN" << '\0' << "damaged";  // invalid: left out
  std::ofstream(source.path() / "notes.txt") << "not ours";
  const fs::path bundle = out.path() / "warm.djb";
  const std::string env = cache_dir_env(source.path()) + "DRAFTJIT_CACHE_PATH='" + layer.path().string() + "' ";
  std::string text;
  REQUIRE(run_command(env + kCli + " cache export " + bundle.string(), &text) == 0);
  CAPTURE(text);
  CHECK(contains(text, "exported 3 entries ("));
  CHECK(contains(text, "; 1 invalid entries left out"));
  CHECK(files_in(out.path()).size() == 1);  // the bundle, and no temp file next to it

  text.clear();
  REQUIRE(run_command(cache_dir_env(target.path()) + kCli + " cache import " + bundle.string(), &text) == 0);
  CHECK(contains(text, "imported 3 of 3 entries from " + bundle.string() + " into " + target.path().string()));
  CHECK(contains(text, "imported " + entry_name(3)));
  const auto imported = files_in(target.path());
  CHECK(imported.size() == 3);
  for (int bs = 1; bs <= 3; ++bs) {
    const fs::path from = (bs <= 2 ? source.path() : layer.path()) / entry_name(bs);
    CHECK(imported.at(entry_name(bs)) == read_bytes(from));
  }
  text.clear();
  CHECK(run_command(cache_dir_env(target.path()) + kCli + " cache verify", &text) == 0);
  CHECK(contains(text, "3 files, 0 invalid, 0 temp"));
  text.clear();
  CHECK(run_command(cache_dir_env(target.path()) + kCli + " warmup --bs 1-3 --arch sm_90", &text) == 0);
  CHECK(contains(text, "0 compiled, 3 already cached"));
}

TEST_CASE("issue18: export --manifest writes only the manifest's kernels and fails on one the cache lacks") {
  TempDir source;
  TempDir out;
  warm(source.path(), "1-3");
  const fs::path manifest = out.path() / "kernels.txt";
  std::ofstream(manifest) << format_manifest_entry({fused_spec(2, Tuning{}), "sm_90"}) << '\n';
  const fs::path bundle = out.path() / "two.djb";
  std::string text;
  REQUIRE(run_command(cache_dir_env(source.path()) + kCli + " cache export " + bundle.string() + " --manifest " +
                          manifest.string(),
                      &text) == 0);
  CAPTURE(text);
  CHECK(contains(text, "exported 1 entries"));
  const DecodedBundle decoded = decode_bundle(read_bytes(bundle), bundle.string());
  REQUIRE(decoded.items.size() == 1);
  CHECK(decoded.items[0].name == entry_name(2));

  std::ofstream(manifest, std::ios::app) << format_manifest_entry({fused_spec(9, Tuning{}), "sm_90"}) << '\n';
  text.clear();
  CHECK(run_command(cache_dir_env(source.path()) + kCli + " cache export " + bundle.string() + " --manifest " +
                        manifest.string(),
                    &text) == 1);
  CHECK(contains(text, entry_name(9).substr(0, entry_name(9).size() - 6) + " (in the manifest) has no valid entry"));
  CHECK(contains(text, "1 of the manifest's kernels missing"));
}

TEST_CASE("issue18: import skips entries whose name does not match what they hold, says why, and exits 1") {
  TempDir source;
  TempDir target;
  TempDir out;
  warm(source.path(), "1-2");
  const std::vector<char> one = read_bytes(source.path() / entry_name(1));
  std::vector<char> bad_checksum = one;
  bad_checksum.back() ^= 1;
  const fs::path escape = target.path().parent_path() / entry_name(1);
  REQUIRE_FALSE(fs::exists(escape));
  const std::vector<BundleItem> items = {
      {entry_name(1), one, 0},
      {entry_name(2), one, 0},  // bs 1's entry under bs 2's name
      {"../" + entry_name(1), one, 0},
      {"fused_unrolled.bs1.t128.sm_90-x.cubin", one, 0},
      {"other." + entry_name(1).substr(entry_name(1).find(".bs1")), one, 0},  // the right hash, another kernel's name
      {entry_name(3), bad_checksum, 0},
  };
  const fs::path bundle = out.path() / "mixed.djb";
  write_bytes(bundle, encode_bundle(items));
  std::string text;
  CHECK(run_command(cache_dir_env(target.path()) + kCli + " cache import " + bundle.string(), &text) == 1);
  CAPTURE(text);
  CHECK(contains(text, "imported " + entry_name(1)));
  // Names are the bundle's, so quoted and escaped (jit/outside_text).
  CHECK(contains(text, "skipped '" + entry_name(2) + "': entry 2 at offset "));
  CHECK(contains(text, "it holds another key"));
  CHECK(contains(text, "skipped '../" + entry_name(1) + "': entry 3 at offset "));
  CHECK(contains(text, "not an entry's file name"));
  CHECK(contains(text, "its name does not name the kernel its key is for"));
  CHECK(contains(text, "skipped '" + entry_name(3) + "': entry 6 at offset "));
  CHECK(contains(text, "checksum mismatch"));
  CHECK(contains(text, "imported 1 of 6 entries"));
  CHECK(contains(text, "; 5 skipped"));
  const auto stored = files_in(target.path());
  CHECK(stored.size() == 1);
  CHECK(stored.count(entry_name(1)) == 1);
  CHECK_FALSE(fs::exists(escape));
}

TEST_CASE("issue18: a truncated or damaged bundle is refused whole, naming the offset, and leaves the cache empty") {
  TempDir source;
  TempDir target;
  TempDir out;
  warm(source.path(), "1-2");
  const fs::path good = out.path() / "good.djb";
  REQUIRE(run_command(cache_dir_env(source.path()) + kCli + " cache export " + good.string()) == 0);
  const std::vector<char> bytes = read_bytes(good);
  const DecodedBundle decoded = decode_bundle(bytes, "good");
  REQUIRE(decoded.checksum_ok);
  REQUIRE(decoded.items.size() == 2);
  const std::size_t second = decoded.items[1].offset;
  ScopedEnv unset("DRAFTJIT_CACHE_MAX_BYTES", std::nullopt);
  DiskCache cache(target.path());
  const fs::path bad = out.path() / "bad.djb";

  auto refused = [&](const std::vector<char>& damaged, const std::string& expected) {
    write_bytes(bad, damaged);
    CHECK_THROWS_WITH_AS(import_bundle(cache, bad), doctest::Contains(expected.c_str()), BundleError);
    CHECK(files_in(target.path()).empty());
  };
  for (const std::size_t cut : {std::size_t{0}, std::size_t{7}, std::size_t{23}, std::size_t{24}, std::size_t{30},
                                second - 1, second, second + 20, bytes.size() - 16, bytes.size() - 1}) {
    CAPTURE(cut);
    const std::string offset = fmt::format("at offset {}", cut);
    refused(std::vector<char>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut)), "truncated");
    refused(std::vector<char>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut)), offset);
  }
  std::vector<char> damaged = bytes;
  damaged[second + 100] ^= 0x40;  // inside the second entry's own bytes
  refused(damaged, fmt::format("entry 2 ('{}') at offset {} is damaged: checksum mismatch", decoded.items[1].name,
                               second));
  refused(damaged, "nothing imported");
  damaged = bytes;
  damaged[8] = 7;
  refused(damaged, "format version 7 (this draftjit reads 1) at offset 8");
  damaged = bytes;
  damaged[0] = 'X';
  refused(damaged, "not a draftjit bundle: no magic at offset 0");
  damaged = bytes;
  damaged.push_back('!');
  refused(damaged, fmt::format("1 bytes after the trailer at offset {}", bytes.size()));

  std::string text;
  write_bytes(bad, std::vector<char>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(second + 20)));
  CHECK(run_command(cache_dir_env(target.path()) + kCli + " cache import " + bad.string(), &text) == 1);
  CHECK(contains(text, "bundle " + bad.string() + ": truncated: entry 2 of 2 at offset " + std::to_string(second)));
  CHECK(files_in(target.path()).empty());
}

TEST_CASE("issue18: export and import refuse what they cannot do, with the file named") {
  TempDir dir;
  warm(dir.path(), "1");
  const std::string cli = cache_dir_env(dir.path()) + kCli;
  std::string text;
  CHECK(run_command(cli + " cache export /nonexistent/dir/x.djb", &text) == 1);
  CHECK(contains(text, "cannot write bundle /nonexistent/dir/x.djb: No such file or directory"));
  text.clear();
  CHECK(run_command(cli + " cache import /nonexistent/x.djb", &text) == 1);
  CHECK(contains(text, "cannot open bundle /nonexistent/x.djb: No such file or directory"));
  text.clear();
  CHECK(run_command(cli + " cache export", &text) == 2);
  CHECK(contains(text, "cache export needs a FILE"));
  text.clear();
  CHECK(run_command(cli + " cache import --manifest m", &text) == 2);
  CHECK(contains(text, "cache import needs a FILE"));
  text.clear();
  CHECK(run_command(cli + " cache import x.djb --manifest m", &text) == 2);
  CHECK(contains(text, "unknown argument '--manifest'"));
}

TEST_CASE("issue18: import refuses what is not a regular file before reading it") {
  TempDir dir;
  DiskCache cache(dir.path() / "cache");
  fs::create_directories(dir.path() / "not-a-bundle");
  try {
    import_bundle(cache, dir.path() / "not-a-bundle");
    FAIL("imported a directory");
  } catch (const std::invalid_argument& error) {
    CHECK(contains(error.what(), "bundle " + (dir.path() / "not-a-bundle").string() + " is not a regular file"));
  }
}

// What import checks an entry's name against: the stem make_key gives, read back from the key text it holds.
TEST_CASE("key_of_text reads back make_key's key from its text, and nothing from other text") {
  Tuning tuning;
  tuning.unroll_max_bs = 4;
  for (const KernelSpec& spec : kernels_for({0, 3, 5, 5000}, tuning)) {
    for (const char* arch : {"sm_90", "sm_100a", "compute_90"}) {
      const KernelKey key = make_key(spec, Toolchain::for_arch(arch));
      CAPTURE(key.text);
      const std::optional<KernelKey> read = key_of_text(key.text);
      REQUIRE(read);
      CHECK(read->stem == key.stem);
      CHECK(read->hash == key.hash);
      CHECK(read->text == key.text);
    }
  }
  for (const char* text : {"", "draftjit 1 | sm_90", " (spec 1)", "a | b (spec 1)", " |  | x (spec 1)"}) {
    CAPTURE(text);
    CHECK_FALSE(key_of_text(text));
  }
}

// One definition of a valid entry: an entry's bytes decode as its file reads, and a load's checks are the bundle's.
TEST_CASE("decode_entry checks bytes exactly as read_cache_file checks the file holding them") {
  TempDir dir;
  const KernelKey key = make_key(fused_spec(3, Tuning{}), Toolchain::for_arch("sm_90"));
  const std::vector<char> good = encode_entry(key.text, {'c', 'u', 'b'});
  std::vector<char> flipped = good;
  flipped.back() ^= 1;
  std::vector<char> versioned = good;
  versioned[8] = 9;
  const std::vector<char> other = encode_entry(key.text + " ", {'c'});
  const std::vector<char> cut(good.begin(), good.end() - 1);
  const std::vector<char> stub(good.begin(), good.begin() + 5);
  for (const std::vector<char>& bytes : {good, flipped, versioned, other, cut, stub, std::vector<char>{}}) {
    for (const std::string& name : {key.stem + ".cubin", std::string("renamed.cubin")}) {
      CAPTURE(name);
      CAPTURE(bytes.size());
      write_bytes(dir.path() / name, bytes);
      std::vector<char> from_file;
      std::vector<char> from_bytes;
      const CacheFile read = read_cache_file(dir.path() / name, &from_file);
      const CacheFile decoded = decode_entry(name, bytes, &from_bytes);
      CHECK(decoded.state == read.state);
      CHECK(decoded.problem == read.problem);
      CHECK(decoded.key == read.key);
      CHECK(from_bytes == from_file);
    }
  }
  CHECK(decode_entry(key.stem + ".cubin", good).state == FileState::Valid);
}
