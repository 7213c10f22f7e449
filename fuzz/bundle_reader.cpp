// The bundle reader (jit/cache/cache_bundle): the input is a bundle file (`draftjit cache export`'s format), imported with
// import_bundle into an empty private cache directory, with $TMPDIR private too (import checks entries in memory, and
// must leave nothing behind anywhere).
// Properties (docs/FUZZ.md):
//   decode_bundle accepts exactly the framing cache_bundle.hpp documents (a model written from it), with the same
//     items, offsets and checksum verdict, and refuses anything else with BundleError; a bundle it accepts with a
//     good checksum is encode_bundle of its items, byte for byte
//   import_bundle returns one item per entry, in order, or throws BundleError, exactly when decode_bundle refuses the
//     bundle or its checksum is wrong (then nothing is stored); never another exception for a readable file
//   an entry is imported exactly when it is one a load would take: its bytes are encode_entry of the key and cubin
//     they hold, its key starts as this build's keys do (draftjit's version and the headers' digest), and its name
//     is the one make_key gives that key (the spec name and arch read from the key text, and its hash); and the
//     store can write it (a name too long for a temp name beside it is refused with a warning);
//     a skipped one says why, in printable ASCII and bounded (jit/outside_text), as does a BundleError
//   afterwards the cache directory holds exactly the imported names (the last one of a name), each file is exactly
//     the bytes the bundle carried, DiskCache::load of its key gives exactly its cubin, and DiskCache::list finds
//     each entry Valid, once, and nothing else; $TMPDIR is empty and nothing outside the private directory changed
//     (a sentinel file)
//
// FUZZ_WRITE_SEEDS=DIR, from the repository root, writes the seed corpus (fuzz/corpus/bundle_reader/) into DIR and
// exits: small bundles made with encode_bundle of real keys, and one of the real entry fuzz/corpus/entry_reader holds.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <random>

#include "draftjit/errors.hpp"
#include "entry_model.hpp"
#include "fuzz_support.hpp"
#include "ops/draft_extend/family.hpp"
#include "jit/cache/cache_bundle.hpp"
#include "jit/cache/cache_file.hpp"
#include "jit/cache/disk_cache.hpp"
#include "jit/hash.hpp"
#include "jit/kernel_key.hpp"
#include "jit/kernel_spec.hpp"
#include "jit/nvrtc/templates.hpp"
#include "jit/nvrtc/toolchain.hpp"
#include "jit/version.hpp"

namespace {
namespace fs = std::filesystem;
namespace jit = draftjit::jit;
namespace fz = draftjit::fuzz;
namespace draft_extend = draftjit::ops::draft_extend;

constexpr std::string_view kTarget = "bundle_reader";

struct World {
  fs::path root;                       // the private directory: everything below is the target's
  fs::path home;                       // $HOME and $XDG_CACHE_HOME
  fs::path tmp;                        // $TMPDIR: must stay empty
  fs::path cache;                      // the writable cache directory, emptied before each input
  fs::path bundle;                     // the input's file
  fs::path sentinel;                   // a file beside them that nothing may change
  std::size_t temp_suffix_bytes = 0;   // what a temp name adds to an entry's name: ".tmp.<pid>.<16 hex>"

  World() {
    root = fz::scratch_root() / "bundle_reader";
    home = root / "home";
    tmp = root / "tmp";
    cache = root / "cache";
    bundle = root / "bundle";
    sentinel = root / "sentinel";
    fs::create_directories(home);
    fs::create_directories(tmp);
    fs::create_directories(cache);
    fz::write_file(sentinel, "not the cache's", kTarget);
    ::setenv("HOME", home.c_str(), 1);
    ::setenv("XDG_CACHE_HOME", home.c_str(), 1);
    ::setenv("TMPDIR", tmp.c_str(), 1);
    ::unsetenv("DRAFTJIT_CACHE_MAX_BYTES");
    temp_suffix_bytes = fmt::format(".tmp.{}.", ::getpid()).size() + 16;
    const std::string name = "x.sm_90-0123456789abcdef.cubin";
    PROPERTY(jit::is_temp_name(name + fmt::format(".tmp.{}.0123456789abcdef", ::getpid())),
             "the temp-name model is not the code's");
    // A cache without a writable directory, and a bundle that cannot be opened: std::runtime_error, once.
    jit::CacheLocation no_writable;
    no_writable.read_only = {cache};
    jit::DiskCache read_only(no_writable, [](const std::string&) {});
    for (int i = 0; i < 2; ++i) {
      jit::DiskCache writable(cache, [](const std::string&) {});
      try {
        (void)jit::import_bundle(i == 0 ? read_only : writable, i == 0 ? sentinel : root / "missing");
        fz::violated(kTarget, i == 0 ? "imported into a cache without a writable directory" : "imported no file");
      } catch (const jit::BundleError& e) {
        fz::violated(kTarget, std::string("BundleError where the file is not read: ") + e.what());
      } catch (const std::runtime_error&) {
      }
    }
    PROPERTY(fz::tree(cache).empty() && fz::tree(tmp).empty(), "a refused import left files");
  }
};

World& world() {
  static World w;
  return w;
}

// With FUZZ_STATS set, how the inputs read, printed at exit: shows that the mutator reaches every outcome.
struct Stats {
  std::size_t inputs = 0, framing = 0, checksum = 0, imported_bundles = 0, entries = 0, imported = 0, refused_store = 0;
  ~Stats() {
    if (std::getenv("FUZZ_STATS") == nullptr) return;
    std::fprintf(stderr,
                 "bundle_reader: %zu inputs: %zu refused for the framing, %zu for the checksum, %zu imported "
                 "(%zu entries: %zu stored, %zu refused by the store)\n",
                 inputs, framing, checksum, imported_bundles, entries, imported, refused_store);
  }
} stats;

std::uint64_t get(std::string_view in, std::size_t at, int bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= std::uint64_t{static_cast<unsigned char>(in[at + i])} << (8 * i);
  return value;
}

// The framing as cache_bundle.hpp documents it, written from that comment: header "DJBUNDLE", u32 version 1, u32
// flags 0, u64 count; per entry u32 name bytes (1-255), u32 0, u64 data bytes (<= kMaxEntryBytes), name, data; then
// "DJBEND\0\0" and u64 hash_bytes of every byte before it, and nothing after. With lenient (the mutator, which
// re-encodes what it gets), the entries that frame before the first fault, whatever follows them.
struct Framed {
  std::vector<jit::BundleItem> items;
  bool checksum_ok = false;
};
std::optional<Framed> frame(std::string_view in, bool lenient = false) {
  if (in.size() < 24 || in.substr(0, 8) != "DJBUNDLE" || get(in, 8, 4) != 1 || get(in, 12, 4) != 0) {
    return std::nullopt;
  }
  const std::uint64_t count = get(in, 16, 8);
  Framed out;
  std::size_t at = 24;
  auto fault = [&] { return lenient ? std::optional<Framed>(out) : std::nullopt; };
  for (std::uint64_t i = 0; i < count; ++i) {
    if (in.size() - at < 16) return fault();
    const std::uint64_t name_bytes = get(in, at, 4);
    const std::uint64_t data_bytes = get(in, at + 8, 8);
    if (name_bytes < 1 || name_bytes > 255 || get(in, at + 4, 4) != 0 || data_bytes > jit::kMaxEntryBytes) {
      return fault();
    }
    if (in.size() - at - 16 < name_bytes + data_bytes) return fault();
    jit::BundleItem item;
    item.name.assign(in.substr(at + 16, name_bytes));
    const std::string_view data = in.substr(at + 16 + name_bytes, data_bytes);
    item.data.assign(data.begin(), data.end());
    item.offset = at;
    out.items.push_back(std::move(item));
    at += 16 + name_bytes + data_bytes;
  }
  if (in.size() - at != 16 || in.substr(at, 8) != std::string_view("DJBEND\0\0", 8)) return fault();
  out.checksum_ok = get(in, at + 8, 8) == jit::hash_bytes(in.substr(0, at));
  return out;
}

// A cache entry's key and cubin where its header's key size marks them out (fz::entry_parts).
std::optional<fz::EntryParts> split_entry(const std::vector<char>& data, bool wrap_key_size = false) {
  return fz::entry_parts(std::string_view(data.data(), data.size()), wrap_key_size);
}

// The kernel a key text names, where make_key writes it: "... | <arch> | <spec name> (spec ...", at the first
// " (spec " (the NVRTC options after it may hold anything); the name and the arch are what follows the last " | "
// before each, and neither is empty. nullopt for a text not laid out so.
struct KernelName {
  std::string spec, arch;
};
std::optional<KernelName> kernel_name_of_key(std::string_view key) {
  const std::size_t open = key.find(" (spec ");
  if (open == std::string_view::npos) return std::nullopt;
  const std::string_view head = key.substr(0, open);
  const std::size_t name_bar = head.rfind(" | ");
  if (name_bar == std::string_view::npos) return std::nullopt;
  const std::string_view before = head.substr(0, name_bar);
  const std::size_t arch_bar = before.rfind(" | ");
  if (arch_bar == std::string_view::npos) return std::nullopt;
  KernelName out{std::string(head.substr(name_bar + 3)), std::string(before.substr(arch_bar + 3))};
  if (out.spec.empty() || out.arch.empty()) return std::nullopt;
  return out;
}

// Whether a load of the entry's key would take the item: its bytes are exactly encode_entry of what they hold (the
// checks a load makes: entry_reader shows these are the same), and its name is the one a load of that key looks up,
// "<spec name>.<arch>-<key hash, 16 hex digits>.cubin" (make_key), a file name (no '/', no NUL).
std::optional<fz::EntryParts> loadable(const jit::BundleItem& item) {
  std::optional<fz::EntryParts> split = split_entry(item.data);
  if (!split || jit::encode_entry(split->key, split->cubin) != item.data) return std::nullopt;
  // Only what this build could have made is ever loaded by it: make_key starts every key with draftjit's version
  // and the kernel headers' digest, and an entry of another build is skipped, never imported to lie unused.
  const std::string ours = fmt::format("draftjit {} | headers {} | ", jit::kVersion, jit::templates_digest());
  if (!split->key.starts_with(ours)) return std::nullopt;
  const std::optional<KernelName> kernel = kernel_name_of_key(split->key);
  if (!kernel) return std::nullopt;
  // One file name: a '/' would store it elsewhere than in the cache directory.
  if (item.name.find('/') != std::string::npos || item.name.find('\0') != std::string::npos) return std::nullopt;
  if (item.name != fmt::format("{}.{}-{:016x}.cubin", kernel->spec, kernel->arch, jit::hash_bytes(split->key))) {
    return std::nullopt;
  }
  return split;
}

std::string describe(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) text += " " + fz::quoted(name);
  return text.empty() ? " nothing" : text;
}

void check_tree(const World& w, const std::vector<std::string>& in_cache, const char* step) {
  std::vector<std::string> expected = {"bundle", "cache", "home", "sentinel", "tmp"};
  for (const std::string& name : in_cache) expected.push_back("cache/" + name);
  std::sort(expected.begin(), expected.end());
  const std::vector<std::string> found = fz::tree(w.root);
  PROPERTY(found == expected, fmt::format("after {}: the private directory holds{}, expected{}", step, describe(found),
                                          describe(expected)));
  PROPERTY(fz::read_file(w.sentinel, kTarget) == "not the cache's",
           std::string("after ") + step + ": sentinel changed");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const World& w = world();
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  ++stats.inputs;
  fz::empty_dir(w.cache);
  fz::empty_dir(w.tmp);
  fz::write_file(w.bundle, bytes, kTarget);

  // --- decode: the framing, against the model --------------------------------------------------------------------
  const std::optional<Framed> framed = frame(bytes);
  std::optional<jit::DecodedBundle> decoded;
  try {
    decoded = jit::decode_bundle(std::vector<char>(bytes.begin(), bytes.end()), "the input");
  } catch (const jit::BundleError& e) {
    PROPERTY(!framed, std::string("decode_bundle refused a bundle framed as documented: ") + e.what());
    PROPERTY(std::string_view(e.what()).starts_with("bundle the input: ") &&
                 std::string_view(e.what()).find(" at offset ") != std::string_view::npos,
             "a BundleError names no source and offset: " + fz::quoted(e.what()));
  } catch (const std::exception& e) {
    fz::violated(kTarget, fmt::format("decode_bundle threw {}: {}", typeid(e).name(), e.what()));
  }
  if (decoded) {
    PROPERTY(framed,
             fmt::format("decode_bundle accepted a bundle not framed as documented ({} items)", decoded->items.size()));
    PROPERTY(decoded->checksum_ok == framed->checksum_ok, "decode_bundle's checksum verdict is not the model's");
    PROPERTY(
        decoded->items.size() == framed->items.size(),
        fmt::format("decode_bundle gave {} items, the framing holds {}", decoded->items.size(), framed->items.size()));
    for (std::size_t i = 0; i < framed->items.size(); ++i) {
      const jit::BundleItem& a = decoded->items[i];
      const jit::BundleItem& b = framed->items[i];
      PROPERTY(a.name == b.name && a.data == b.data && a.offset == b.offset,
               fmt::format("item {} decodes as {} ({} bytes at {}), the framing says {} ({} bytes at {})", i + 1,
                           fz::quoted(a.name), a.data.size(), a.offset, fz::quoted(b.name), b.data.size(), b.offset));
    }
    if (decoded->checksum_ok) {
      const std::vector<char> again = jit::encode_bundle(decoded->items);
      PROPERTY(std::string_view(again.data(), again.size()) == bytes, "encode_bundle of the items is not the input");
    }
  }

  // --- import ------------------------------------------------------------------------------------------------------
  std::vector<std::string> warnings;
  jit::DiskCache cache(w.cache, [&](const std::string& m) { warnings.push_back(m); });
  std::vector<jit::ImportItem> report;
  bool refused = false;
  try {
    report = jit::import_bundle(cache, w.bundle);
  } catch (const jit::BundleError& e) {
    refused = true;
    PROPERTY(std::string_view(e.what()).find(w.bundle.string()) != std::string_view::npos,
             "a BundleError does not name the bundle: " + fz::quoted(e.what()));
    // It may name a damaged entry and what its key says: outside text, shown printable and bounded.
    PROPERTY(fz::printable_message(e.what()) && std::strlen(e.what()) <= w.bundle.string().size() + 4096,
             "a BundleError is not printable or bounded: " + fz::quoted(e.what()));
  } catch (const std::exception& e) {
    fz::violated(kTarget, fmt::format("import_bundle of a readable file threw {}: {}", typeid(e).name(), e.what()));
  }
  const bool whole_ok = framed && framed->checksum_ok;
  PROPERTY(refused != whole_ok, refused ? "import_bundle refused a bundle with good framing and checksum"
                                        : "import_bundle took a bundle with bad framing or checksum");
  PROPERTY(fz::read_file(w.bundle, kTarget) == bytes, "import changed the bundle");
  if (refused) {
    ++(framed ? stats.checksum : stats.framing);
    PROPERTY(warnings.empty(), "a refused import warned: " + warnings[0]);
    check_tree(w, {}, "a refused import");
    return 0;
  }

  // --- what was imported, against what a load would take ------------------------------------------------------------
  ++stats.imported_bundles;
  PROPERTY(report.size() == framed->items.size(),
           fmt::format("import reported {} items of {}", report.size(), framed->items.size()));
  std::map<std::string, std::pair<std::vector<char>, fz::EntryParts>> stored;  // name -> the last imported item's data
  bool store_refused = false;
  for (std::size_t i = 0; i < report.size(); ++i) {
    const jit::BundleItem& item = framed->items[i];
    const jit::ImportItem& got = report[i];
    ++stats.entries;
    PROPERTY(got.name == item.name,
             fmt::format("item {} reported as {}, it is {}", i + 1, fz::quoted(got.name), fz::quoted(item.name)));
    std::optional<fz::EntryParts> split = loadable(item);
    const bool fits = item.name.size() + w.temp_suffix_bytes <= 255;
    PROPERTY(got.imported == (split && fits),
             fmt::format("item {} ({}, {} bytes) was {}imported; a load would {}take it{}", i + 1,
                         fz::quoted(item.name), item.data.size(), got.imported ? "" : "not ", split ? "" : "not ",
                         split && !fits ? ", but its temp name is too long" : ""));
    PROPERTY(got.imported == got.why.empty(),
             fmt::format("item {}: imported {} with why {}", i + 1, got.imported, fz::quoted(got.why)));
    // Why holds what the entry's bytes say (its key text): outside text, shown printable and bounded.
    PROPERTY(fz::printable_message(got.why) && got.why.size() <= 2048,
             fmt::format("item {}: why is not printable or bounded: {}", i + 1, fz::quoted(got.why)));
    if (got.imported) {
      ++stats.imported;
      stored[item.name] = {item.data, std::move(*split)};
    } else if (split) {
      ++stats.refused_store;
      store_refused = true;
    }
  }
  PROPERTY(store_refused != warnings.empty(),
           store_refused ? "a store refused an entry without a warning" : "import warned: " + warnings[0]);

  // --- the cache directory: exactly the imported entries, each loading as its bytes ----------------------------------
  std::vector<std::string> names;
  for (const auto& [name, value] : stored) names.push_back(name);
  check_tree(w, names, "import");
  for (const auto& [name, value] : stored) {
    const std::string file = fz::read_file(w.cache / name, kTarget);
    PROPERTY(file == std::string_view(value.first.data(), value.first.size()),
             "the stored file is not the bytes the bundle carried for " + fz::quoted(name));
    const std::string stem = name.substr(0, name.size() - 6);
    const jit::KernelKey key{value.second.key, jit::hash_bytes(value.second.key), stem};
    const std::optional<std::vector<char>> loaded = cache.load(key);
    PROPERTY(loaded && *loaded == value.second.cubin,
             fmt::format("the imported {} does {}", fz::quoted(name), loaded ? "not load as its cubin" : "not load"));
  }
  const jit::DiskCache::Listing listing = cache.list();
  std::vector<std::string> listed;
  for (const jit::DiskCache::Entry& e : listing.entries) {
    listed.push_back(e.file.path.filename().string());
    PROPERTY(e.layer == 0 && !e.temp && e.file.state == jit::FileState::Valid,
             fmt::format("list: {} is {}{}", fz::quoted(listed.back()), e.temp ? "a temp file " : "",
                         e.file.state == jit::FileState::Valid ? "Valid" : "not Valid: " + e.file.problem));
  }
  std::sort(listed.begin(), listed.end());
  PROPERTY(listed == names && listing.others == 0, fmt::format("list found{} and {} others, the import stored{}",
                                                               describe(listed), listing.others, describe(names)));
  PROPERTY(store_refused != warnings.empty(), "load or list warned: " + (warnings.empty() ? "" : warnings.back()));
  check_tree(w, names, "load and list");
  return 0;
}

// Most mutations break the bundle's checksum, which libFuzzer cannot repair, and an entry's own checksum inside:
// a quarter of the mutants that still frame are re-encoded (encode_bundle), each entry repaired (encode_entry of
// the key and cubin its header marks out) with probability 1/2 and renamed after its key (spec, arch and hash, as
// make_key names it) with 1/4, and one in eight has an entry duplicated or dropped: so that the per-entry checks
// and the stores are reached, not only the whole-bundle checksum.
namespace {

// The name make_key gives the key's entry, else the old name with the key's hash.
std::string name_for(const std::string& key, const std::string& old_name) {
  const std::string hash = fmt::format("{:016x}", jit::hash_bytes(key));
  if (const std::optional<KernelName> kernel = kernel_name_of_key(key)) {
    return fmt::format("{}.{}-{}.cubin", kernel->spec, kernel->arch, hash);
  }
  const std::size_t dash = old_name.rfind('-');
  return (dash == std::string::npos ? old_name : old_name.substr(0, dash)) + "-" + hash + ".cubin";
}

}  // namespace

extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
  size = LLVMFuzzerMutate(data, size, max_size);
  std::minstd_rand rng(seed);
  if (rng() % 4 != 0) return size;
  std::optional<Framed> framed = frame(std::string_view(reinterpret_cast<const char*>(data), size), /*lenient=*/true);
  if (!framed) return size;
  std::vector<jit::BundleItem>& items = framed->items;
  for (jit::BundleItem& item : items) {
    const std::optional<fz::EntryParts> parts =
        rng() % 2 == 0 ? split_entry(item.data, /*wrap_key_size=*/true) : std::nullopt;
    if (parts) {
      item.data = jit::encode_entry(parts->key, parts->cubin);
      if (rng() % 2 == 0) {
        std::string name = name_for(parts->key, item.name);
        if (!name.empty() && name.size() <= 255) item.name = std::move(name);
      }
    }
  }
  if (!items.empty()) {
    const unsigned structural = rng() % 8;
    const std::size_t at = rng() % items.size();
    if (structural == 0) items.insert(items.begin() + static_cast<std::ptrdiff_t>(rng() % items.size()), items[at]);
    if (structural == 1) items.erase(items.begin() + static_cast<std::ptrdiff_t>(at));
  }
  const std::vector<char> out = jit::encode_bundle(items);
  if (out.size() > max_size) return size;
  std::memcpy(data, out.data(), out.size());
  return out.size();
}

// ---- the seed corpus (FUZZ_WRITE_SEEDS)
// --------------------------------------------------------------------------------

namespace {

jit::BundleItem item_of(const std::string& key, const std::string& cubin) {
  return {name_for(key, ""), jit::encode_entry(key, std::vector<char>(cubin.begin(), cubin.end())), 0};
}

// The key with its spec name replaced: a key whose entry name is as long as that name makes it.
std::string fill_key_with_spec(std::string key, const std::string& spec) {
  const std::size_t end = key.find(" (spec ");
  const std::size_t bar = key.rfind(" | ", end);
  return key.replace(bar + 3, end - bar - 3, spec);
}

void write_seed(const fs::path& dir, const std::string& name, const std::vector<char>& bytes) {
  fz::write_file(dir / name, std::string_view(bytes.data(), bytes.size()), kTarget);
}

void write_seeds(const fs::path& dir) {
  fs::create_directories(dir);
  // The real entry of `draftjit warmup --bs 1 --arch sm_90` that entry_reader's corpus holds, under its name.
  const std::string real = fz::read_file("fuzz/corpus/entry_reader/warmup-bs1-sm_90.cubin", kTarget);
  const std::optional<fz::EntryParts> split = fz::entry_parts(real);
  PROPERTY(split.has_value(), "the real entry does not split");
  const jit::BundleItem real_item{name_for(split->key, ""), std::vector<char>(real.begin(), real.end()), 0};
  write_seed(dir, "real-entry.bundle", jit::encode_bundle({real_item}));

  // Keys as the runtime makes them (make_key; without NVRTC, toolchains of the same shape), with small stand-in
  // cubins: the checks never look inside a cubin.
  auto toolchain = [](const std::string& arch) {
    try {
      return jit::Toolchain::for_arch(arch);
    } catch (const draftjit::Error&) {
      return jit::Toolchain{arch, {"--gpu-architecture=" + arch, "--std=c++17"}, "0.0"};
    }
  };
  const draftjit::Tuning tuning{};
  auto item_for = [&](const jit::KernelSpec& spec, const std::string& arch, const std::string& cubin) {
    return item_of(jit::make_key(spec, toolchain(arch)).text, cubin);
  };
  const jit::BundleItem fill = item_for(draft_extend::fill_spec(tuning), "sm_90", "fill cubin");
  const jit::BundleItem scan = item_for(draft_extend::scan_spec(5, tuning), "sm_90", "scan cubin");
  const jit::BundleItem ptx =
      item_for(draft_extend::fused_spec(300, tuning), "compute_90", std::string("// PTX\n.version 8.0\0", 20));
  write_seed(dir, "three-entries.bundle", jit::encode_bundle({fill, scan, ptx}));
  write_seed(dir, "empty.bundle", jit::encode_bundle({}));

  // An entry whose own checksum is wrong, in a bundle whose checksum is right: skipped, the others imported.
  jit::BundleItem damaged = scan;
  damaged.data.back() ^= 1;
  write_seed(dir, "damaged-entry.bundle", jit::encode_bundle({fill, damaged}));
  // A name with the key's hash that names another spec; a name with another key's hash.
  jit::BundleItem wrong_spec = fill;
  wrong_spec.name = "fill.t512" + fill.name.substr(fill.name.find(".sm_90-"));  // the key names fill.t256
  jit::BundleItem other_hash = fill;
  other_hash.name = scan.name;
  write_seed(dir, "wrong-name.bundle", jit::encode_bundle({wrong_spec, other_hash}));
  // The same name twice with two cubins: the last one is what stays.
  write_seed(dir, "duplicate.bundle",
             jit::encode_bundle({fill, item_for(draft_extend::fill_spec(tuning), "sm_90", "other")}));
  // A name that fits NAME_MAX but whose temp name does not: the store refuses it.
  write_seed(
      dir, "long-name.bundle",
      jit::encode_bundle({item_of(
          fill_key_with_spec(jit::make_key(draft_extend::fill_spec(tuning), toolchain("sm_90")).text,
                             std::string(220, 'f')),
          "x")}));
  // Framing and checksum faults.
  std::vector<char> bad_sum = jit::encode_bundle({fill, scan});
  bad_sum.back() ^= 1;
  write_seed(dir, "bad-checksum.bundle", bad_sum);
  std::vector<char> cut = jit::encode_bundle({fill, scan});
  cut.resize(cut.size() / 2);
  write_seed(dir, "truncated.bundle", cut);
  std::vector<char> more = jit::encode_bundle({fill});
  more.push_back('!');
  write_seed(dir, "trailing-byte.bundle", more);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("FUZZ_WRITE_SEEDS"); dir != nullptr && *dir != '\0') {
    write_seeds(dir);
    std::exit(0);
  }
  return 0;
}
