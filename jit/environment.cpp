#include "jit/environment.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace draftjit::jit {

const char* env_value(std::string_view name) {
  const bool declared = std::any_of(std::begin(kEnvVariables), std::end(kEnvVariables),
                                    [&](const EnvVariable& v) { return name == v.name; });
  if (!declared) throw std::logic_error(fmt::format("draftjit: {} is read but not declared in kEnvVariables", name));
  // getenv races only with a concurrent setenv; draftjit reads each variable once per process at its first use.
  const char* value = std::getenv(std::string(name).c_str());  // NOLINT(concurrency-mt-unsafe)
  return value != nullptr && *value != '\0' ? value : nullptr;
}

}  // namespace draftjit::jit
