#pragma once
// What the libFuzzer targets share: how a property failure is reported, the input classes a long run may leave
// out (FUZZ_SKIP), a private temp directory, and exceptions sorted into the types the code documents.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

namespace draftjit::fuzz {

// Prints "PROPERTY VIOLATED (<target>): <what>" and aborts, so that libFuzzer records the input as a crash.
[[noreturn]] void violated(std::string_view target, std::string_view what);

// A property of the target named by the kTarget in scope; the message is built only when the property fails.
#define PROPERTY(ok, what)                                  \
  do {                                                      \
    if (!(ok)) ::draftjit::fuzz::violated(kTarget, (what)); \
  } while (0)

// Whether the comma-separated $FUZZ_SKIP names this input class (see docs/FUZZ.md for the names). A target leaves
// such inputs out (returns -1: not added to the corpus) instead of checking them: for a long run past a known fault
// that would otherwise stop it at once. CI never sets it.
bool skipped(std::string_view input_class);

// A fresh directory under $FUZZ_SCRATCH, else $TMPDIR, else /tmp, made once per process and removed at exit.
// tools/fuzz.sh points FUZZ_SCRATCH at a tmpfs (/dev/shm) where there is one: the entry target creates and removes
// files on every input, several times slower on a disk file system.
const std::filesystem::path& scratch_root();

// The whole file, or violated() when it cannot be read.
std::string read_file(const std::filesystem::path& path, std::string_view target);
void write_file(const std::filesystem::path& path, std::string_view bytes, std::string_view target);

// dir exists and is empty (its entries removed one by one: cheaper than making it again on every input).
void empty_dir(const std::filesystem::path& dir);

// Every file and directory under dir, relative to it, sorted ("a", "a/b", ...).
std::vector<std::string> tree(const std::filesystem::path& dir);

// The input cut into words at NUL and newline; empty words are kept (an empty argument is an argument).
std::vector<std::string> split_words(const std::uint8_t* data, std::size_t size);

// fd 1 goes to /dev/null for the life of the process: the CLI commands called in-process print their reports there.
void silence_stdout();

// What a call threw, sorted.
struct Outcome {
  enum Kind { Returned, InvalidArgument, Other } kind = Returned;
  std::string what;  // the exception's what() and, for Other, its type
  bool ok() const { return kind == Returned; }
};

template <typename F>
Outcome outcome_of(F&& call) {
  try {
    call();
    return {};
  } catch (const std::invalid_argument& e) {
    return {Outcome::InvalidArgument, e.what()};
  } catch (const std::exception& e) {
    return {Outcome::Other, std::string(typeid(e).name()) + ": " + e.what()};
  } catch (...) {
    return {Outcome::Other, "an exception not derived from std::exception"};
  }
}

// "(sm|compute)_N[a|f]" with N a number of at most four digits written without leading zeros: the one spelling of
// each architecture, the only ones an arch check may accept.
bool canonical_arch(std::string_view arch);

// The options of NVRTC that pick the target (nvrtc.h: --gpu-architecture=<arch>, -arch, either with '=' or with the
// arch as the next option).
bool sets_arch(std::string_view option);

// Whether a message may reach a terminal as it is: printable ASCII and newlines only, no control byte, no DEL, no
// byte >= 0x80 (what jit/outside_text makes of outside text; a signed char comparison cannot see those bytes).
bool printable_message(std::string_view text);

// Printable form of a string for a report: quotes, escapes, at most 200 bytes.
std::string quoted(std::string_view text);

}  // namespace draftjit::fuzz
