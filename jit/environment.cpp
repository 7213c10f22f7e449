#include "jit/environment.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "jit/cache/cache_prune.hpp"

namespace draftjit::jit {
namespace {

const EnvVariable& declared(std::string_view name) {
  for (const EnvVariable& v : kEnvVariables) {
    if (name == v.name) return v;
  }
  throw std::logic_error(fmt::format("draftjit: {} is read but not declared in kEnvVariables", name));
}

// The value without the blanks around it (a trailing space is easy to type and invisible in a shell).
std::string_view trimmed(std::string_view text) {
  constexpr std::string_view kBlanks = " \t\r\n\v\f";
  const std::size_t first = text.find_first_not_of(kBlanks);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kBlanks) - first + 1);
}

bool same_word(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

const char* env_value(std::string_view name) {
  (void)declared(name);
  // getenv races only with a concurrent setenv; draftjit reads each variable once per process at its first use.
  const char* value = std::getenv(std::string(name).c_str());  // NOLINT(concurrency-mt-unsafe)
  return value != nullptr && *value != '\0' ? value : nullptr;
}

std::optional<std::string_view> parse_env_word(std::string_view name, const char* value) {
  const EnvVariable& variable = declared(name);
  if (variable.form != EnvForm::Words) throw std::logic_error(fmt::format("draftjit: {} takes no word", name));
  const std::string_view text = trimmed(value != nullptr ? value : "");
  if (text.empty()) return std::nullopt;
  const std::string_view words = variable.words;
  for (std::size_t at = 0; at < words.size();) {
    const std::size_t end = std::min(words.find(", ", at), words.size());
    if (same_word(text, words.substr(at, end - at))) return words.substr(at, end - at);
    at = end + 2;
  }
  throw std::invalid_argument(fmt::format("{}='{}' is not one of {} (in any case)", name, value, words));
}

std::optional<std::uint64_t> parse_env_size(std::string_view name, const char* value) {
  if (declared(name).form != EnvForm::Size) throw std::logic_error(fmt::format("draftjit: {} takes no size", name));
  const std::string_view text = trimmed(value != nullptr ? value : "");
  if (text.empty()) return std::nullopt;
  return parse_byte_size(text, name);
}

std::optional<std::string_view> env_word(std::string_view name) { return parse_env_word(name, env_value(name)); }
std::optional<std::uint64_t> env_size(std::string_view name) { return parse_env_size(name, env_value(name)); }

std::vector<std::string> env_problems() {
  std::vector<std::string> problems;
  for (const EnvVariable& variable : kEnvVariables) {
    try {
      if (variable.form == EnvForm::Words) (void)env_word(variable.name);
      if (variable.form == EnvForm::Size) (void)env_size(variable.name);
    } catch (const std::invalid_argument& e) {
      problems.emplace_back(e.what());
    }
  }
  return problems;
}

void check_environment() {
  const std::vector<std::string> problems = env_problems();
  if (!problems.empty()) throw std::invalid_argument(fmt::format("{}", fmt::join(problems, "; ")));
}

}  // namespace draftjit::jit
