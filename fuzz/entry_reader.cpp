// The cache entry reader: the input is the bytes of one cache entry file, `<stem>.cubin` for a real kernel key, in a
// private cache directory. It goes through the file reader (jit/cache/cache_file), then DiskCache's list, load and remove
// (jit/cache/disk_cache) and `draftjit cache verify|list` (src/cli/cache.cpp), once in the writable directory (next to the
// same bytes under a temp name and under a .cubin name without a key hash) and once in a read-only layer.
// Properties (docs/FUZZ.md):
//   decode:  Valid only when re-encoding the decoded key and cubin (encode_entry) gives back the input bytes and the
//            key's hash is the one the name carries, and always then; the cubin read is the file's
//   list:    the entry once, with the reader's state; the temp and renamed copies by classify()'s rule (ours when
//            they start like an entry), anything else counted as other; list warns about nothing
//   verify:  fails exactly when an entry is not Valid
//   load:    returns a cubin only for a Valid entry holding the requested key text, and then exactly its bytes; in
//            the writable directory anything else under the entry's name is removed, with one warning naming it;
//            a read-only layer is skipped with one warning and never changed
//   remove:  remove(true) removes every entry (whatever its content) from the writable directory only, never a
//            fresh temp file or a file that is not draftjit's; remove(false) removes nothing fresh
//   store:   the input stored as a cubin is written as encode_entry(key, input), leaves no temp file, and loads
//            back as exactly the input
//   nothing outside the private directory is created, changed or removed
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>

#include "draftjit/errors.hpp"
#include "entry_model.hpp"
#include "fuzz_support.hpp"
#include "ops/draft_extend/family.hpp"
#include "jit/cache/cache_file.hpp"
#include "jit/cache/disk_cache.hpp"
#include "jit/hash.hpp"
#include "jit/kernel_key.hpp"
#include "src/cli/commands.hpp"

namespace {
namespace fs = std::filesystem;
namespace jit = draftjit::jit;
namespace fz = draftjit::fuzz;

constexpr std::string_view kTarget = "entry_reader";
constexpr char kMagic[8] = {'D', 'J', 'C', 'U', 'B', 'I', 'N', '\0'};

std::string state_name(jit::FileState state) {
  switch (state) {
    case jit::FileState::Valid:
      return "Valid";
    case jit::FileState::Missing:
      return "Missing";
    case jit::FileState::Unreadable:
      return "Unreadable";
    case jit::FileState::NotRegular:
      return "NotRegular";
    case jit::FileState::Damaged:
      return "Damaged";
  }
  return "?";
}

struct World {
  fs::path root;      // the private directory: everything below is the target's
  fs::path home;      // $HOME and $XDG_CACHE_HOME point here, so no default location is outside root
  fs::path writable;  // the writable cache directory
  fs::path layer;     // a read-only layer
  fs::path sentinel;  // a file next to the cache directories that nothing may change
  jit::KernelKey key;
  std::string entry_name;    // "<stem>.cubin"
  std::string temp_name;     // one of draftjit's temp names for it (a writer that is still on it)
  std::string renamed_name;  // a .cubin name that carries no key hash (an entry renamed by hand)

  World() {
    root = fz::scratch_root() / "entry_reader";
    home = root / "home";
    writable = root / "cache";
    layer = root / "layer";
    sentinel = root / "sentinel";
    fs::create_directories(home);
    fz::write_file(sentinel, "not the cache's", kTarget);
    ::setenv("HOME", home.c_str(), 1);
    ::setenv("XDG_CACHE_HOME", home.c_str(), 1);
    ::unsetenv("DRAFTJIT_NVRTC_OPTIONS");
    ::unsetenv("DRAFTJIT_DISABLE_DISK_CACHE");
    ::unsetenv("DRAFTJIT_CACHE_PATH");
    // The key the runtime uses for bs 1 on sm_90, so that an entry written by `draftjit warmup --bs 1 --arch sm_90`
    // (the seed corpus) is a hit. Without NVRTC, a toolchain of the same shape.
    jit::Toolchain toolchain;
    try {
      toolchain = jit::Toolchain::for_arch("sm_90");
    } catch (const draftjit::Error&) {
      toolchain = {"sm_90", {"--gpu-architecture=sm_90", "--std=c++17"}, "0.0"};
    }
    key = jit::make_key(draftjit::ops::draft_extend::fused_spec(1, draftjit::Tuning{}), toolchain);
    entry_name = key.stem + std::string(jit::kEntrySuffix);
    temp_name = entry_name + ".tmp.4242.00000000000005ee";
    renamed_name = "renamed.cubin";
    PROPERTY(jit::is_temp_name(temp_name), "the temp name " + temp_name + " is not a temp name");
    fz::silence_stdout();
  }
};

World& world() {
  static World w;
  return w;
}

// With FUZZ_STATS set, how the inputs read, printed at exit: shows that the mutator reaches every outcome.
struct Stats {
  std::size_t inputs = 0, valid = 0, hits = 0, damaged = 0, no_magic = 0;
  ~Stats() {
    if (std::getenv("FUZZ_STATS") == nullptr) return;
    std::fprintf(stderr, "entry_reader: %zu inputs: %zu Valid (%zu hits), %zu Damaged (%zu without the magic)\n",
                 inputs, valid, hits, damaged, no_magic);
  }
} stats;

// Both cache directories exist and are empty (emptied file by file: cheaper than making them again).
void reset(const World& w) {
  for (const fs::path& dir : {w.writable, w.layer}) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) fs::remove_all(it->path(), ec);
  }
}

// Nothing but the cache directories' expected files exists under root, and the sentinel is unchanged.
void check_world(const World& w, const std::vector<std::string>& in_cache, const std::vector<std::string>& in_layer,
                 const char* step) {
  std::vector<std::string> expected = {"cache", "home", "layer", "sentinel"};
  for (const std::string& name : in_cache) expected.push_back("cache/" + name);
  for (const std::string& name : in_layer) expected.push_back("layer/" + name);
  std::sort(expected.begin(), expected.end());
  const std::vector<std::string> found = fz::tree(w.root);
  if (found != expected) {
    std::string text;
    for (const std::string& name : found) text += " " + name;
    fz::violated(kTarget, fmt::format("after {}: the private directory holds{} ({} files expected)", step, text,
                                      expected.size()));
  }
  PROPERTY(fz::read_file(w.sentinel, kTarget) == "not the cache's",
           std::string("after ") + step + ": sentinel changed");
}

std::vector<char> encode(const std::string& key, const std::vector<char>& cubin) {
  return jit::encode_entry(key, cubin);
}

int verify_exit_code(const World& w, bool with_layer, const char* action) {
  ::setenv("DRAFTJIT_CACHE_DIR", w.writable.c_str(), 1);
  if (with_layer) {
    ::setenv("DRAFTJIT_CACHE_PATH", w.layer.c_str(), 1);
  } else {
    ::unsetenv("DRAFTJIT_CACHE_PATH");
  }
  int rc = -1;
  const fz::Outcome outcome = fz::outcome_of([&] { rc = draftjit::cli::run_cache({action}); });
  PROPERTY(outcome.ok(), fmt::format("draftjit cache {} threw {}", action, outcome.what));
  ::unsetenv("DRAFTJIT_CACHE_PATH");
  return rc;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const World& w = world();
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const std::vector<char> input(bytes.begin(), bytes.end());
  const std::optional<fz::EntryParts> split = fz::entry_parts(bytes);
  // hash_bytes of an empty cubin (a header and a key, nothing after) passed null to memcpy: FUZZ_SKIP=empty-cubin.
  // (The input is also stored as a cubin: an empty one goes the same way.)
  if (((split && split->cubin.empty()) || size == 0) && fz::skipped("empty-cubin")) return -1;
  const bool magic = size >= sizeof kMagic && std::memcmp(data, kMagic, sizeof kMagic) == 0;
  // What classify() makes of the same bytes under a temp name (empty, or starting like an entry) and under a
  // .cubin name without a key hash (the whole magic: an entry renamed by hand).
  const bool temp_is_ours = size == 0 || std::memcmp(data, kMagic, std::min(size, sizeof kMagic)) == 0;
  const bool renamed_is_ours = magic;

  // --- decode ------------------------------------------------------------------------------------------------
  reset(w);
  const fs::path entry = w.writable / w.entry_name;
  fz::write_file(entry, bytes, kTarget);
  PROPERTY(jit::classify(entry).kind == jit::FileKind::Entry, "a regular file under an entry's name is not an Entry");
  std::vector<char> cubin;
  const jit::CacheFile file = jit::read_cache_file(entry, &cubin);
  const std::string state = state_name(file.state);
  PROPERTY(file.state == jit::FileState::Valid || file.state == jit::FileState::Damaged,
           "a regular file read as " + state);
  PROPERTY(file.path == entry, "the file's path is not the one read");
  PROPERTY(file.problem.empty() == (file.state == jit::FileState::Valid),
           fmt::format("{} with problem {}", state, fz::quoted(file.problem)));
  const bool valid = file.state == jit::FileState::Valid;
  if (valid) {
    PROPERTY(magic, "Valid without the magic");
    PROPERTY(encode(file.key, cubin) == input,
             fmt::format("Valid, but re-encoding key {} and {} cubin bytes does not give the input back",
                         fz::quoted(file.key), cubin.size()));
    PROPERTY(file.cubin_bytes == cubin.size(), "cubin_bytes is not the size of the cubin read");
    PROPERTY(jit::hash_bytes(file.key) == w.key.hash, "Valid under a name that carries another key's hash");
  } else {
    PROPERTY(file.key.empty() && file.cubin_bytes == 0 && cubin.empty(), state + " but a key or cubin came back");
  }
  if (split && jit::hash_bytes(split->key) == w.key.hash && encode(split->key, split->cubin) == input) {
    PROPERTY(valid && file.key == split->key && cubin == split->cubin,
             "the input is exactly encode_entry(key, cubin) for the key its name carries, but reads as " + state);
  }
  const jit::CacheFile again = jit::read_cache_file(entry);
  PROPERTY(again.state == file.state && again.key == file.key && again.cubin_bytes == file.cubin_bytes,
           "reading without the cubin gives another answer");
  PROPERTY(fz::read_file(entry, kTarget) == bytes, "reading changed the file");
  const bool hit = valid && file.key == w.key.text;
  ++stats.inputs;
  stats.valid += valid;
  stats.hits += hit;
  stats.damaged += !valid;
  stats.no_magic += !magic;

  // --- the writable directory: the entry, a temp file and a renamed .cubin with the same bytes -------------------
  fz::write_file(w.writable / w.temp_name, bytes, kTarget);
  fz::write_file(w.writable / w.renamed_name, bytes, kTarget);
  const std::vector<std::string> all = {w.entry_name, w.renamed_name, w.temp_name};
  {
    std::vector<std::string> warnings;
    jit::DiskCache cache(w.writable, [&](const std::string& m) { warnings.push_back(m); });

    const jit::DiskCache::Listing listing = cache.list();
    std::size_t entries = 0;
    std::size_t temps = 0;
    std::size_t renamed = 0;
    for (const jit::DiskCache::Entry& e : listing.entries) {
      PROPERTY(e.layer == 0, "an entry listed in a layer that is not there");
      PROPERTY(e.bytes == size, fmt::format("listed with {} bytes, the file has {}", e.bytes, size));
      const fs::path name = e.file.path.filename();
      if (e.temp) {
        ++temps;
        PROPERTY(name == w.temp_name, "listed as temp: " + e.file.path.string());
      } else if (name == w.entry_name) {
        ++entries;
        PROPERTY(e.file.state == file.state && e.file.key == file.key,
                 "listed as " + state_name(e.file.state) + ", read as " + state);
      } else {
        ++renamed;
        PROPERTY(name == w.renamed_name && e.file.state == jit::FileState::Damaged,
                 "listed: " + name.string() + " as " + state_name(e.file.state));
      }
    }
    PROPERTY(entries == 1, fmt::format("the entry is listed {} times", entries));
    PROPERTY(temps == (temp_is_ours ? 1u : 0u), fmt::format("{} temp files listed", temps));
    PROPERTY(renamed == (renamed_is_ours ? 1u : 0u), fmt::format("the renamed entry is listed {} times", renamed));
    PROPERTY(listing.others == (temp_is_ours ? 0u : 1u) + (renamed_is_ours ? 0u : 1u),
             fmt::format("{} files listed as others", listing.others));
    PROPERTY(warnings.empty(), "list() warned: " + (warnings.empty() ? "" : warnings[0]));

    const int invalid = !valid || renamed_is_ours;
    PROPERTY(verify_exit_code(w, false, "verify") == invalid,
             fmt::format("draftjit cache verify of a {} entry{} did not exit {}", state,
                         renamed_is_ours ? " and a renamed one" : "", invalid));
    check_world(w, all, {}, "list and cache verify");

    const std::optional<std::vector<char>> loaded = cache.load(w.key);
    PROPERTY(loaded.has_value() == hit,
             fmt::format("load {} a {} entry holding key {} (requested {})", loaded ? "returned" : "missed", state,
                         fz::quoted(file.key), fz::quoted(w.key.text)));
    if (loaded) PROPERTY(*loaded == cubin, "load returned other bytes than the entry's cubin");
    // Anything but a hit is warned about once and removed: a regular file under an entry's name is ours.
    PROPERTY(warnings.size() == (hit ? 0u : 1u),
             fmt::format("{} warnings for a {} load", warnings.size(), hit ? "hit" : "missed"));
    if (!hit) PROPERTY(warnings[0].find(entry.string()) != std::string::npos, "the warning does not name the file");
    if (hit) {
      PROPERTY(fz::read_file(entry, kTarget) == bytes, "a hit changed the entry");
      check_world(w, all, {}, "load (hit)");
    } else {
      check_world(w, {w.renamed_name, w.temp_name}, {}, "load (miss)");
    }

    fz::write_file(entry, bytes, kTarget);
    jit::DiskCache::Removal removal = cache.remove(/*entries=*/false);
    PROPERTY(removal.removed == 0 && removal.failures.empty() && removal.left.empty(),
             "remove(false) removed a fresh file");
    removal = cache.remove(/*entries=*/true);
    PROPERTY(removal.failures.empty(), "remove(true) failed: " + (removal.failures.empty() ? "" : removal.failures[0]));
    PROPERTY(removal.removed == 1u + renamed_is_ours,
             fmt::format("remove(true) removed {} files (the entry{}, never a fresh temp file)", removal.removed,
                         renamed_is_ours ? " and the renamed one" : ""));
    std::vector<std::string> left = {w.temp_name};
    if (!renamed_is_ours) left.push_back(w.renamed_name);
    check_world(w, left, {}, "remove(true)");

    // The input as a cubin: stored, it is an entry that loads back as exactly those bytes.
    PROPERTY(cache.store(w.key, input), "store failed: " + (warnings.empty() ? "" : warnings.back()));
    const std::vector<char> encoded = encode(w.key.text, input);
    PROPERTY(fz::read_file(entry, kTarget) == std::string_view(encoded.data(), encoded.size()),
             "the stored file is not encode_entry(key, cubin)");
    const std::optional<std::vector<char>> back = cache.load(w.key);
    PROPERTY(back && *back == input, "a stored cubin does not load back as itself");
    left.push_back(w.entry_name);
    check_world(w, left, {}, "store");
  }

  // --- a read-only layer ------------------------------------------------------------------------------------------
  reset(w);
  const fs::path layered = w.layer / w.entry_name;
  fz::write_file(layered, bytes, kTarget);
  {
    std::vector<std::string> warnings;
    jit::CacheLocation location;
    location.writable = w.writable;
    location.read_only = {w.layer};
    const jit::DiskCache cache(location, [&](const std::string& m) { warnings.push_back(m); });

    const jit::DiskCache::Listing listing = cache.list();
    PROPERTY(listing.entries.size() == 1 && listing.others == 0,
             fmt::format("layer: listed as {} entries and {} others", listing.entries.size(), listing.others));
    const jit::DiskCache::Entry& e = listing.entries[0];
    PROPERTY(e.layer == 1 && e.file.path == layered && e.file.state == file.state && !e.temp,
             "layer: listed as " + state_name(e.file.state) + " in layer " + std::to_string(e.layer));
    PROPERTY(verify_exit_code(w, true, "verify") == (valid ? 0 : 1),
             "layer: draftjit cache verify exit code for a " + state + " entry");

    const std::optional<std::vector<char>> loaded = cache.load(w.key);
    PROPERTY(loaded.has_value() == hit,
             fmt::format("layer: load {} a {} entry", loaded ? "returned" : "missed", state));
    if (loaded) PROPERTY(*loaded == cubin, "layer: load returned other bytes than the entry's cubin");
    PROPERTY(warnings.size() == (hit ? 0u : 1u), fmt::format("layer: {} warnings", warnings.size()));
    PROPERTY(fz::read_file(layered, kTarget) == bytes, "layer: load changed the read-only layer");

    const jit::DiskCache::Removal removal = cache.remove(/*entries=*/true);
    PROPERTY(removal.removed == 0 && removal.failures.empty(), "layer: remove(true) removed from a read-only layer");
    PROPERTY(fz::read_file(layered, kTarget) == bytes, "layer: remove changed the read-only layer");
    check_world(w, {}, {w.entry_name}, "layer: remove");
  }
  return 0;
}

// Most mutations of an entry break its checksum, which libFuzzer cannot repair: a quarter of the mutants are
// re-encoded (encode_entry) from the key and cubin their header's key size marks out, and one in eight is
// re-encoded with the requested key, so that the Valid, wrong-key and hit paths are reached as often as the
// damaged ones.
extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
  const World& w = world();
  size = LLVMFuzzerMutate(data, size, max_size);
  std::minstd_rand rng(seed);
  const unsigned choice = rng() % 8;
  if (choice > 2) return size;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::vector<char> out;
  if (choice < 2) {
    const std::optional<fz::EntryParts> parts = fz::entry_parts(bytes, /*wrap_key_size=*/true);
    // encode_entry of an empty cubin: the empty-cubin class, reached by mutation
    if (!parts || parts->cubin.empty()) return size;
    out = jit::encode_entry(parts->key, parts->cubin);
  } else {
    const std::size_t header = fz::entry_header_bytes();
    const std::string_view payload = size > header ? bytes.substr(header) : bytes;
    if (payload.empty()) return size;
    out = jit::encode_entry(w.key.text, std::vector<char>(payload.begin(), payload.end()));
  }
  if (out.size() > max_size) return size;
  std::memcpy(data, out.data(), out.size());
  return out.size();
}
