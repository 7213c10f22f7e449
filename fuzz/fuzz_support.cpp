#include "fuzz_support.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

namespace draftjit::fuzz {
namespace fs = std::filesystem;

void violated(std::string_view target, std::string_view what) {
  std::fprintf(stderr, "PROPERTY VIOLATED (%.*s): %.*s\n", static_cast<int>(target.size()), target.data(),
               static_cast<int>(what.size()), what.data());
  std::fflush(stderr);
  std::abort();
}

bool skipped(std::string_view input_class) {
  static const std::vector<std::string> classes = [] {
    std::vector<std::string> out;
    const char* value = std::getenv("FUZZ_SKIP");
    std::istringstream parts(value != nullptr ? value : "");
    for (std::string part; std::getline(parts, part, ',');) {
      if (!part.empty()) out.push_back(part);
    }
    return out;
  }();
  return std::find(classes.begin(), classes.end(), input_class) != classes.end();
}

namespace {

struct Scratch {
  fs::path root;
  Scratch() {
    const char* parent = std::getenv("FUZZ_SCRATCH");
    if (parent == nullptr || *parent == '\0') parent = std::getenv("TMPDIR");
    if (parent == nullptr || *parent == '\0') parent = "/tmp";
    std::error_code ec;
    fs::create_directories(parent, ec);
    std::string pattern = std::string(parent) + "/draftjit-fuzz.XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) violated("setup", "mkdtemp failed for " + pattern);
    root = fs::canonical(pattern);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
};

}  // namespace

const fs::path& scratch_root() {
  static const Scratch scratch;
  return scratch.root;
}

std::string read_file(const fs::path& path, std::string_view target) {
  std::ifstream in(path, std::ios::binary);
  if (!in) violated(target, "cannot read back " + path.string());
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const fs::path& path, std::string_view bytes, std::string_view target) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) violated(target, "cannot write " + path.string());
}

void empty_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) fs::remove_all(it->path(), ec);
  if (!fs::is_empty(dir, ec) || ec) violated("setup", "cannot empty " + dir.string());
}

std::vector<std::string> tree(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    out.push_back(it->path().lexically_relative(dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> split_words(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> words(1);
  for (std::size_t i = 0; i < size; ++i) {
    const char c = static_cast<char>(data[i]);
    if (c == '\0' || c == '\n') {
      words.emplace_back();
    } else {
      words.back() += c;
    }
  }
  if (size == 0) words.clear();
  return words;
}

void silence_stdout() {
  static const bool done = [] {
    std::fflush(stdout);
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null < 0 || ::dup2(null, STDOUT_FILENO) < 0) violated("setup", "cannot send stdout to /dev/null");
    ::close(null);
    return true;
  }();
  (void)done;
}

bool canonical_arch(std::string_view arch) {
  std::string_view digits;
  if (arch.starts_with("sm_")) {
    digits = arch.substr(3);
  } else if (arch.starts_with("compute_")) {
    digits = arch.substr(8);
  } else {
    return false;
  }
  if (!digits.empty() && (digits.back() == 'a' || digits.back() == 'f')) digits.remove_suffix(1);
  return !digits.empty() && digits.size() <= 4 && digits.front() != '0' &&
         std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool sets_arch(std::string_view option) {
  for (std::string_view name : {std::string_view("--gpu-architecture"), std::string_view("-arch")}) {
    if (option == name || (option.starts_with(name) && option.substr(name.size()).starts_with("="))) return true;
  }
  return false;
}

bool printable_message(std::string_view text) {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\n') || byte >= 0x7f) return false;
  }
  return true;
}

std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < 200; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > 200) out += "...";
  return out + "\"";
}

}  // namespace draftjit::fuzz
