#include "ops/op_description.hpp"

#include <fmt/format.h>

namespace draftjit::ops {

std::string torch_schema(const OpDescription& op) {
  std::string text = fmt::format("{}(", op.name);
  char alias = 'a';
  for (std::size_t i = 0; i < op.args.size(); ++i) {
    const OpArg& arg = op.args[i];
    if (i > 0) text += ", ";
    if (arg.type == ArgType::Int) {
      text += "int";
    } else {
      text += "Tensor";
      if (arg.role == Role::Out) text += fmt::format("({}!)", alias++);
      if (arg.optional) text += "?";
    }
    fmt::format_to(std::back_inserter(text), " {}", arg.name);
  }
  fmt::format_to(std::back_inserter(text), ") -> {}", op.returns);
  return text;
}

std::string out_of_range(std::string_view name, std::int64_t value, std::int64_t max) {
  return fmt::format("{} = {} is outside the supported range [0, {}]", name, value, max);
}

}  // namespace draftjit::ops
