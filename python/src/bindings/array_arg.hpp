#pragma once
// What a front end (the torch ops, the pybind11 module for __cuda_array_interface__ arrays) knows about one array
// argument before any check. Each front end only describes its arrays (op_call.hpp's OpArgs); the checks of every
// call live once, in check_arg (array_rules.hpp, from the op descriptions) and op_call.cpp / checked_calls.cpp, so a
// torch tensor and a CuPy array get the same rules and the same messages.
#include <cuda.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace draftjit::bindings {

struct ArrayArg {
  const char* name = "";       // the argument's name, for messages
  std::uintptr_t ptr = 0;      // device address (0 when empty)
  bool int32 = false;
  bool int64 = false;          // for the arguments that take int32 or int64 (the DSA calls' seq_lens and pool indices)
  std::string dtype;           // as the framework spells it ("torch.int64", "<f4"), for messages
  std::int64_t ndim = 1;
  std::int64_t length = 0;     // entries along the one dimension (of a 2-D array: its element count)
  bool contiguous = true;
  // A 1-D array's stride in elements (any value when length <= 1); -1 when the framework's stride is negative or
  // not a whole number of elements.
  std::int64_t stride = 1;
  // A 2-D array's shape and strides in elements; unset (0) for other arrays. A stride of a dimension of size 0 or 1
  // may be anything, as in torch.
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::int64_t row_stride = 0;
  std::int64_t col_stride = 0;
  bool on_cuda = true;
  std::string place;           // where it lives when not on a CUDA device ("cpu"), for messages
  int device = -1;             // CUDA device index; -1 when unknown (an empty array that names none)
  bool read_only = false;
  // The stream its producer may still be writing it on (__cuda_array_interface__ v3 "stream"); the call's stream
  // waits on it before reading. Null when the producer gave none (the data is ready) and for torch tensors, whose
  // producers order work on torch's current stream.
  CUstream producer = nullptr;
  bool has_producer = false;
};

// A wrong type or dtype: Python's TypeError. Every other bad argument is a std::invalid_argument (ValueError).
class ArgumentTypeError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

}  // namespace draftjit::bindings
