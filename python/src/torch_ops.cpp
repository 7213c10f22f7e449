// torch.ops.draftjit.*: every op of ops::op_descriptions() as a PyTorch operator defined and implemented in C++ on
// torch's stable ABI (torch/csrc/stable), so one build serves later torch releases. The schema and the one boxed
// kernel come from the op's description; tensors are described once (bindings::ArrayArg) and checked once
// (bindings/op_call.hpp); the call runs in the tensors' device's primary context on torch's current stream for that
// device. Fake implementations are made from the same descriptions (draftjit/_torch_fakes.py).
#include <torch/csrc/inductor/aoti_torch/c/shim.h>
#include <torch/csrc/stable/library.h>
#include <torch/csrc/stable/tensor.h>
#include <torch/headeronly/util/shim_utils.h>

#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <stdexcept>
#include <utility>

#include "bindings/op_call.hpp"
#include "jit/log.hpp"
#include "op_error.hpp"
#include "ops/op_description.hpp"
#include "ops/registry.hpp"

namespace draftjit::python {
namespace {

using torch::stable::Tensor;
using torch::headeronly::ScalarType;

thread_local std::exception_ptr last_op_error;

std::string dtype_name(ScalarType type) {
  switch (type) {
    case ScalarType::Byte: return "torch.uint8";
    case ScalarType::Char: return "torch.int8";
    case ScalarType::Short: return "torch.int16";
    case ScalarType::Int: return "torch.int32";
    case ScalarType::Long: return "torch.int64";
    case ScalarType::Half: return "torch.float16";
    case ScalarType::BFloat16: return "torch.bfloat16";
    case ScalarType::Float: return "torch.float32";
    case ScalarType::Double: return "torch.float64";
    case ScalarType::Bool: return "torch.bool";
    default: return "another dtype";
  }
}

bindings::ArrayArg describe(const Tensor& t, const char* name) {
  bindings::ArrayArg a;
  a.name = name;
  const ScalarType type = t.scalar_type();
  a.int32 = type == ScalarType::Int;
  a.int64 = type == ScalarType::Long;
  if (!a.int32) a.dtype = dtype_name(type);
  a.ndim = t.dim();
  if (a.ndim == 2) {  // the DSA calls' tables: any strides
    a.rows = t.size(0);
    a.cols = t.size(1);
    a.row_stride = t.stride(0);
    a.col_stride = t.stride(1);
    a.length = a.rows * a.cols;
  } else {
    a.length = a.ndim == 1 ? t.size(0) : t.numel();
    a.contiguous = t.is_contiguous();
    if (a.ndim == 1) a.stride = t.stride(0) >= 0 ? t.stride(0) : -1;
  }
  a.on_cuda = t.is_cuda();
  if (a.on_cuda) {
    a.device = t.get_device_index();
  } else {
    a.place = t.is_cpu() ? "cpu" : "a device that is not CUDA";
  }
  a.ptr = reinterpret_cast<std::uintptr_t>(t.data_ptr());
  return a;
}

CUstream current_stream(int device) {
  void* stream = nullptr;
  TORCH_ERROR_CODE_CHECK(aoti_torch_get_current_cuda_stream(device, &stream));
  return static_cast<CUstream>(stream);
}

// Every op body runs through here: a failure is kept for the Python wrapper, then rethrown for PyTorch; compile
// events name the operators as their front end.
template <typename Body>
auto recording(Body&& body) {
  const jit::FrontEndScope front_end("torch op");
  last_op_error = nullptr;
  try {
    return body();
  } catch (...) {
    last_op_error = std::current_exception();
    throw;
  }
}

// A 0-dim CPU int32 tensor, like the fork's op returns: functionalizable under torch.compile, and .item() reads it
// without a device sync.
Tensor cpu_scalar(std::int32_t value) {
  AtenTensorHandle handle = nullptr;
  TORCH_ERROR_CODE_CHECK(aoti_torch_empty_strided(0, nullptr, nullptr, aoti_torch_dtype_int32(),
                                                  aoti_torch_device_type_cpu(), 0, &handle));
  Tensor scalar(handle);
  *static_cast<std::int32_t*>(scalar.data_ptr()) = value;
  return scalar;
}

// One boxed kernel serves every op: it reads the stack in the order of the op's description (a tensor, an optional
// tensor or an int per argument), describes each tensor once, and hands them to the bindings' generic path. The
// tensors own their handles (taken from the stack) until the call has been made.
template <std::size_t kOp>
void boxed_op(StableIValue* stack, std::uint64_t num_args, std::uint64_t /*num_outputs*/) {
  const ops::OpDescription& op = *ops::kOps[kOp];
  recording([&] {
    if (num_args != op.args.size()) {
      throw std::logic_error(fmt::format("{}: {} arguments on the stack, {} described", op.name, num_args,
                                         op.args.size()));
    }
    std::array<std::optional<Tensor>, ops::kMaxOpArgs> tensors;
    bindings::OpArgs args(op);
    for (std::size_t i = 0; i < op.args.size(); ++i) {
      const ops::OpArg& arg = op.args[i];
      if (arg.type == ops::ArgType::Int) {
        args.set_integer(i, torch::stable::detail::to<std::int64_t>(stack[i]));
        continue;
      }
      tensors[i] = arg.optional ? torch::stable::detail::to<std::optional<Tensor>>(stack[i])
                                : std::optional(torch::stable::detail::to<Tensor>(stack[i]));
      if (tensors[i]) args.set_array(i, describe(*tensors[i], arg.name));
    }
    const bindings::CheckedOp call = bindings::check_op(args);
    const int device = bindings::device_of(call);
    const std::optional<std::int32_t> result = bindings::run(call, device, current_stream(device));
    if (result) stack[0] = torch::stable::detail::from(cpu_scalar(*result));
  });
}

// Library: torch's StableLibrary, whose namespace differs between releases.
template <class Library, std::size_t... kIndices>
void implement(Library& m, std::index_sequence<kIndices...>) {
  (m.impl(ops::kOps[kIndices]->name, &boxed_op<kIndices>), ...);
}

}  // namespace

std::exception_ptr take_op_error() noexcept { return std::exchange(last_op_error, nullptr); }

}  // namespace draftjit::python

// The schemas come from the op descriptions (ops/op_description.hpp): Tensor(a!) marks what each op writes, so
// torch.compile functionalizes the calls and graph capture records them.
STABLE_TORCH_LIBRARY(draftjit, m) {
  for (const draftjit::ops::OpDescription* op : draftjit::ops::op_descriptions()) {
    m.def(draftjit::ops::torch_schema(*op).c_str());
  }
}

// Registered for CPU too, so a CPU tensor gets draftjit's error naming the argument rather than the dispatcher's
// "no kernel for CPU".
STABLE_TORCH_LIBRARY_IMPL(draftjit, CUDA, m) {
  draftjit::python::implement(m, std::make_index_sequence<draftjit::ops::kOps.size()>());
}
STABLE_TORCH_LIBRARY_IMPL(draftjit, CPU, m) {
  draftjit::python::implement(m, std::make_index_sequence<draftjit::ops::kOps.size()>());
}
