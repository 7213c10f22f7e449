#pragma once
// The rules the checks of every call apply to their arguments (checked_calls.cpp, op_call.cpp), each defined once
// with its message, and how a checked call runs: in the arrays' device's primary context, after the producers.
#include <cuda.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bindings/array_arg.hpp"
#include "ops/op_description.hpp"
#include "primary_context.hpp"
#include "stream_order.hpp"

namespace draftjit::bindings {

enum class Access { Read, Write };
using ops::Dtypes;  // what an argument takes

inline void check_dtype(const ArrayArg& a, Dtypes dtypes) {
  if ((a.int32 && dtypes != Dtypes::Int64) || (a.int64 && dtypes != Dtypes::Int32)) return;
  const char* wanted = dtypes == Dtypes::Int32 ? "int32" : dtypes == Dtypes::Int64 ? "int64" : "int32 or int64";
  throw ArgumentTypeError(fmt::format("{} must be {}, got {}", a.name, wanted, a.dtype));
}

inline void check_on_cuda(const ArrayArg& a) {
  if (!a.on_cuda) throw std::invalid_argument(fmt::format("{} must be on a CUDA device, got {}", a.name, a.place));
}

inline void check_writable(const ArrayArg& a, Access access) {
  if (access == Access::Write && a.read_only) {
    throw std::invalid_argument(fmt::format("{} is read-only but draftjit writes to it", a.name));
  }
}

// A 1-D array, contiguous (every array of the draft-extend calls, and the DSA calls' outputs) or, where strided, with
// any non-negative stride in whole elements (the DSA calls' per-request inputs, as upstream takes them).
inline void check_vector(const ArrayArg& a, Access access, Dtypes dtypes = Dtypes::Int32, bool strided = false) {
  check_dtype(a, dtypes);
  if (a.ndim != 1) throw std::invalid_argument(fmt::format("{} must be 1-D, got {} dimensions", a.name, a.ndim));
  check_on_cuda(a);
  if (strided && a.stride < 0) {
    throw std::invalid_argument(fmt::format("{} must have a non-negative stride of whole elements", a.name));
  }
  if (!strided && !a.contiguous) throw std::invalid_argument(fmt::format("{} must be contiguous", a.name));
  check_writable(a, access);
}

// An int32 2-D array with any non-negative strides. A written one with elements must not have a stride of 0 along a
// dimension of more than one element: its elements would share memory (torch refuses in-place writes to such tensors
// too). One of no elements (7 x 0, say, whatever its strides) shares nothing.
inline void check_matrix(const ArrayArg& a, Access access) {
  check_dtype(a, Dtypes::Int32);
  if (a.ndim != 2) throw std::invalid_argument(fmt::format("{} must be 2-D, got {} dimensions", a.name, a.ndim));
  check_on_cuda(a);
  if (a.row_stride < 0 || a.col_stride < 0) {
    throw std::invalid_argument(
        fmt::format("{} must have non-negative strides, got ({}, {})", a.name, a.row_stride, a.col_stride));
  }
  const bool empty = a.rows == 0 || a.cols == 0;
  if (access == Access::Write && !empty && ((a.rows > 1 && a.row_stride == 0) || (a.cols > 1 && a.col_stride == 0))) {
    throw std::invalid_argument(fmt::format("{} is written but its strides ({}, {}) make elements of its {} x {} "
                                            "shape share memory",
                                            a.name, a.row_stride, a.col_stride, a.rows, a.cols));
  }
  check_writable(a, access);
}

inline void check_has_one(const ArrayArg& a) {
  if (a.length < 1) throw std::invalid_argument(fmt::format("{} must have at least one entry", a.name));
}

// A 1-D array with at least n entries; `what` says where n comes from ("bs + 1").
inline void check_holds(const ArrayArg& a, std::int64_t n, std::string_view what) {
  if (a.length < n) {
    throw std::invalid_argument(fmt::format("{} needs {} = {} entries, got {}", a.name, what, n, a.length));
  }
}

// The counts an op's size rules are in terms of (ops::Size), and how messages name the rows.
struct Counts {
  std::int64_t bs = 0;
  std::int64_t rows = 0;                   // the op's output rows; -1 where the host knows none (rows_from_data)
  const char* rows_per_request = nullptr;  // rows is bs times this argument (nullptr: bs)
};

// Every rule an op's description gives argument arg for its array a: dtype, rank, device, contiguity (1-D) or
// strides (2-D), writability, and the entries its size rule asks for. The one reading of an ops::OpArg's rules.
inline void check_arg(const ops::OpArg& arg, const ArrayArg& a, const Counts& n) {
  const Access access = arg.role == ops::Role::Out ? Access::Write : Access::Read;
  if (arg.rank == 2) {
    check_matrix(a, access);
  } else {
    check_vector(a, access, arg.dtypes, arg.strided);
  }
  const auto rows_name = [&](const char* plus) {
    return n.rows_per_request == nullptr ? fmt::format("bs{}", plus)
                                         : fmt::format("bs * {}{}", n.rows_per_request, plus);
  };
  switch (arg.size) {
    case ops::Size::Any: break;
    case ops::Size::Bs: check_holds(a, n.bs, "bs"); break;
    case ops::Size::BsPlus1: check_holds(a, n.bs + 1, "bs + 1"); break;
    case ops::Size::Rows:
      if (n.rows >= 0 && a.length < n.rows) check_holds(a, n.rows, rows_name(""));
      break;
    case ops::Size::RowsPlus1:
      check_has_one(a);  // written even with no rows
      if (n.rows >= 0 && a.length < n.rows + 1) check_holds(a, n.rows + 1, rows_name(" + 1"));
      break;
    case ops::Size::One: check_has_one(a); break;
  }
}

// check_arg for the argument of op named a.name.
inline void check_described(const ops::OpDescription& op, const ArrayArg& a, const Counts& n) {
  for (const ops::OpArg& arg : op.args) {
    if (arg.type == ops::ArgType::Tensor && std::string_view(arg.name) == a.name) return check_arg(arg, a, n);
  }
  throw std::logic_error(fmt::format("{} describes no array named {}", op.name, a.name));
}

inline std::int32_t int32_scalar(std::int64_t value, const char* name) {
  if (value < std::numeric_limits<std::int32_t>::min() || value > std::numeric_limits<std::int32_t>::max()) {
    throw std::invalid_argument(fmt::format("{} = {} does not fit in int32", name, value));
  }
  return static_cast<std::int32_t>(value);
}

// The one device of the arrays that name one, and their distinct producer streams.
struct Placement {
  int device = -1;
  std::vector<CUstream> producers;
};
// On every call, so it allocates nothing unless an array names a producer stream or the devices disagree. Null
// entries (absent optional arrays) are skipped.
inline Placement place(std::span<const ArrayArg* const> arrays) {
  Placement placement;
  for (const ArrayArg* a : arrays) {
    if (a == nullptr) continue;
    if (a->device >= 0 && placement.device < 0) placement.device = a->device;
    if (a->has_producer &&
        std::find(placement.producers.begin(), placement.producers.end(), a->producer) == placement.producers.end()) {
      placement.producers.push_back(a->producer);
    }
  }
  for (const ArrayArg* a : arrays) {
    if (a == nullptr || a->device < 0 || a->device == placement.device) continue;
    std::string where;  // each device once, with the first argument on it
    std::vector<int> named;
    for (const ArrayArg* b : arrays) {
      if (b == nullptr || b->device < 0 || std::find(named.begin(), named.end(), b->device) != named.end()) continue;
      named.push_back(b->device);
      where += fmt::format("{}{} on cuda:{}", where.empty() ? "" : ", ", b->name, b->device);
    }
    throw std::invalid_argument(fmt::format("all arrays must be on one device, got {}", where));
  }
  return placement;
}

inline Placement place(std::initializer_list<const ArrayArg*> arrays) {
  return place(std::span<const ArrayArg* const>(arrays.begin(), arrays.size()));
}

template <typename T>
T* as(const ArrayArg& a) {
  return reinterpret_cast<T*>(a.ptr);
}

// Runs work in device's primary context after the stream waits for the producers.
template <typename Work>
auto in_context(int device, CUstream stream, const std::vector<CUstream>& producers, Work&& work) {
  PrimaryContextScope scope(device < 0 ? 0 : device);
  wait_for_producers(stream, producers);
  return work();
}

}  // namespace draftjit::bindings
