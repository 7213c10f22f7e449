#pragma once
// One description per op: its arguments in order with their role, the dtypes they take, their rank and the size
// rule in terms of the op's scalars, and what it returns. The front ends derive from it what they would otherwise
// spell by hand: the torch schema (torch_schema), the fake implementations (python/draftjit/_torch_fakes.py reads
// op_descriptions() through the module), the array checks of the bindings (python/src/bindings/array_rules.hpp) and,
// for the ops of ops::kApiOps (ops/api_op.hpp), the API call itself.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace draftjit::ops {

enum class ArgType : std::uint8_t { Tensor, Int };
enum class Role : std::uint8_t { In, Out };  // Out: written in place (Tensor(a!) in the schema)
enum class Dtypes : std::uint8_t { Int32, Int32OrInt64, Int64 };
// How many entries a 1-D array must hold; 2-D tables are checked against the rows and column bound by the API.
enum class Size : std::uint8_t {
  Any,         // checked by the C++ API (tables, arrays whose length the call takes as a size)
  Bs,          // >= bs
  BsPlus1,     // >= bs + 1
  Rows,        // >= the op's output rows (OpDescription::rows_per_request); the least such length is the row capacity
  RowsPlus1,   // >= rows + 1 (and >= 1); its length less one counts toward the row capacity
  One,         // >= 1 (a status word, a total)
};

struct OpArg {
  const char* name;
  ArgType type = ArgType::Tensor;
  Role role = Role::In;
  Dtypes dtypes = Dtypes::Int32;
  int rank = 1;
  Size size = Size::Any;
  bool optional = false;  // a Tensor? that may be None
  bool strided = false;   // 1-D: any non-negative stride (else contiguous)
  // An Int's range [0, max], checked before any array (bs: the arrays' sizes are in terms of it); -1: any int64.
  std::int64_t max = -1;
};

struct OpDescription {
  const char* name;                // "dsa_decode_metadata": the torch op, the pybind function
  std::span<const OpArg> args;     // in the op's order
  // The schema's return type: "()", or "Tensor", a 0-dim CPU int32 tensor (a count the host reads with no device
  // sync), which is what the fakes make of it.
  const char* returns = "()";
  // The op's output rows, what Size::Rows counts: bs times the Int argument named here (nullptr: bs). With
  // rows_from_data (draft extend's rows come from the device) the host knows no count: the per-row arrays are then
  // checked for their capacity only.
  const char* rows_per_request = nullptr;
  bool rows_from_data = false;
};

// "name(Tensor a, Tensor(a!) out, int bs, Tensor(b!)? status) -> ()": written outputs get alias letters in order.
std::string torch_schema(const OpDescription& op);

// "bs = 70000 is outside the supported range [0, 65536]": the message of OpArg::max, and of the API's own bs check.
std::string out_of_range(std::string_view name, std::int64_t value, std::int64_t max);

// Every op of every family (ops::kOps in ops/registry.hpp, whose size the torch library reads at compile time).
std::span<const OpDescription* const> op_descriptions();
// The op so named, or nullptr.
const OpDescription* op_named(std::string_view name);

// No op takes more arguments than this: front ends keep one call's arguments in fixed arrays of it.
inline constexpr std::size_t kMaxOpArgs = 24;

}  // namespace draftjit::ops
