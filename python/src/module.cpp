// draftjit's C++ core for Python: the calls for __cuda_array_interface__ arrays (CuPy, Numba; torch tensors go
// through torch.ops.draftjit, python/src/torch_ops.cpp), prepare, warmup, emit and the cache location. Arrays are
// described here and checked in bindings/checked_calls.cpp, like the torch ops' tensors. Errors become the Python
// classes of draftjit._errors (so they carry .status, .key, .log), argument errors TypeError or ValueError.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <fmt/format.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bindings/op_call.hpp"
#include "draftjit/draftjit.hpp"
#include "draftjit/dsa.hpp"
#include "jit/cache/disk_cache.hpp"
#include "jit/nvrtc/emit.hpp"
#include "jit/nvrtc/exit_guard.hpp"
#include "jit/kernel_family.hpp"
#include "ops/kinds.hpp"
#include "ops/op_description.hpp"
#include "prepare_kernels.hpp"
#include "jit/pipeline.hpp"
#include "jit/warmup.hpp"
#include "doctor.hpp"
#include "jit/log.hpp"
#include "log_forwarding.hpp"
#include "primary_context.hpp"
#include "without_gil.hpp"
#ifdef DRAFTJIT_WITH_TORCH
#include "op_error.hpp"
#endif

namespace py = pybind11;

namespace {

using draftjit::bindings::ArgumentTypeError;
using draftjit::bindings::ArrayArg;
using draftjit::python::without_gil;

// Work for Python callers: without the GIL, and named "python" in the compile events it causes.
template <class Work>
auto python_call(Work&& work) {
  return without_gil([&] {
    const draftjit::jit::FrontEndScope front_end("python");
    return work();
  });
}
using Ptr = std::uintptr_t;

// The interface's "stream": None (or absent) when the data is ready; 1 and 2 name the legacy and per-thread default
// streams (the values of CU_STREAM_LEGACY and CU_STREAM_PER_THREAD); 0 is disallowed by the interface as ambiguous.
void read_producer(const py::dict& cai, ArrayArg& a) {
  if (!cai.contains("stream") || cai["stream"].is_none()) return;
  const Ptr stream = cai["stream"].cast<Ptr>();
  if (stream == 0) {
    throw std::invalid_argument(fmt::format(
        "{}: __cuda_array_interface__ stream 0 is disallowed by the interface (use 1 for the legacy default stream, "
        "2 for the per-thread one, or None)", a.name));
  }
  a.producer = reinterpret_cast<CUstream>(stream);
  a.has_producer = true;
}

ArrayArg from_interface(const py::handle& obj, const char* name) {
  ArrayArg a;
  a.name = name;
  const py::object interface = py::getattr(obj, "__cuda_array_interface__", py::none());
  if (interface.is_none()) {
    throw ArgumentTypeError(fmt::format("{} must be a CUDA tensor or an object with __cuda_array_interface__, got {}",
                                        name, std::string(py::str(py::type::handle_of(obj).attr("__name__")))));
  }
  const py::dict cai = interface.cast<py::dict>();
  const std::string typestr = cai.contains("typestr") ? py::str(cai["typestr"]).cast<std::string>() : "";
  const bool little = typestr.size() == 3 && (typestr[0] == '<' || typestr[0] == '|' || typestr[0] == '=');
  a.int32 = little && typestr.substr(1) == "i4";
  a.int64 = little && typestr.substr(1) == "i8";
  a.dtype = fmt::format("typestr '{}'", typestr);
  using Dims = std::vector<std::int64_t>;
  const Dims shape = cai.contains("shape") ? cai["shape"].cast<Dims>() : Dims{};
  const std::int64_t item = a.int64 ? 8 : 4;
  a.ndim = static_cast<std::int64_t>(shape.size());
  const bool strided = cai.contains("strides") && !cai["strides"].is_none();
  const Dims strides = strided ? cai["strides"].cast<Dims>() : Dims{};  // in bytes; none: C-contiguous
  if (shape.size() == 1) {
    a.length = shape[0];
    a.contiguous = !strided || a.length <= 1 || strides == Dims{item};
    if (strided && a.length > 1) a.stride = strides[0] >= 0 && strides[0] % item == 0 ? strides[0] / item : -1;
  } else if (shape.size() == 2) {  // the DSA calls' tables: any strides, in elements
    a.rows = shape[0];
    a.cols = shape[1];
    a.length = a.rows * a.cols;
    a.row_stride = strided ? strides[0] / item : a.cols;
    a.col_stride = strided ? strides[1] / item : 1;
  }
  if (cai.contains("mask") && !cai["mask"].is_none()) {
    throw std::invalid_argument(
        fmt::format("{}: masked arrays (__cuda_array_interface__ mask) are not supported", name));
  }
  const py::tuple data = cai["data"].cast<py::tuple>();
  a.ptr = data[0].cast<Ptr>();
  a.read_only = data[1].cast<bool>();
  read_producer(cai, a);
  // CuPy names its device; otherwise ask the driver (only for a real pointer: an empty array names none).
  const py::object device = py::getattr(obj, "device", py::none());
  const py::object id = device.is_none() ? py::none() : py::getattr(device, "id", py::none());
  if (!id.is_none()) {
    a.device = id.cast<int>();
  } else if (a.ptr != 0) {
    a.device = draftjit::device_of_pointer(reinterpret_cast<const void*>(a.ptr), name);
  }
  return a;
}

// Which device and stream a call on __cuda_array_interface__ arrays runs on when the caller names no stream: the
// arrays' device (CuPy's current device when none names one), and CuPy's current stream there when CuPy is imported,
// else the legacy default stream. Arrays whose producer named a stream are ordered after it either way.
struct Target {
  int device;
  CUstream stream;
};
Target target(int device, const std::optional<Ptr>& stream) {
  const py::dict modules = py::module_::import("sys").attr("modules");
  const py::object cupy = modules.contains("cupy") ? py::object(modules["cupy"]) : py::none();
  if (device < 0) device = cupy.is_none() ? 0 : cupy.attr("cuda").attr("runtime").attr("getDevice")().cast<int>();
  if (stream) return {device, reinterpret_cast<CUstream>(*stream)};
  if (cupy.is_none()) return {device, CU_STREAM_LEGACY};
  py::object current = cupy.attr("cuda").attr("get_current_stream")(device);
  return {device, reinterpret_cast<CUstream>(current.attr("ptr").cast<Ptr>())};
}

// Any op of ops::op_descriptions() on __cuda_array_interface__ arrays: args in the description's order (None for an
// absent optional array). Returns the op's count for an op returning "Tensor", None otherwise. Checks every argument
// before anything runs; a first call may compile, and the blocking one waits for the GPU, both without the GIL.
py::object call_op(const std::string& name, const py::sequence& values, std::optional<Ptr> stream) {
  const draftjit::ops::OpDescription* op = draftjit::ops::op_named(name);
  if (op == nullptr) throw std::invalid_argument(fmt::format("no op named {}", name));
  if (values.size() != op->args.size()) {
    throw ArgumentTypeError(fmt::format("{} takes {} arguments, got {}", name, op->args.size(), values.size()));
  }
  draftjit::bindings::OpArgs args(*op);
  for (std::size_t i = 0; i < op->args.size(); ++i) {
    const draftjit::ops::OpArg& arg = op->args[i];
    const py::handle value = values[i];
    if (arg.type == draftjit::ops::ArgType::Int) {
      if (!PyLong_Check(value.ptr()) && !PyIndex_Check(value.ptr())) {
        throw ArgumentTypeError(fmt::format("{} must be an int, got {}", arg.name,
                                            std::string(py::str(py::type::handle_of(value).attr("__name__")))));
      }
      args.set_integer(i, py::reinterpret_steal<py::object>(PyNumber_Index(value.ptr())).cast<std::int64_t>());
    } else if (!value.is_none() || !arg.optional) {
      args.set_array(i, from_interface(value, arg.name));
    }
  }
  const draftjit::bindings::CheckedOp call = draftjit::bindings::check_op(args);
  const Target where = target(draftjit::bindings::device_of(call), stream);
  const std::optional<std::int32_t> result =
      python_call([&] { return draftjit::bindings::run(call, where.device, where.stream); });
  return result ? py::object(py::int_(*result)) : py::object(py::none());
}

// The kernels calls of kind (ops/kinds.hpp: "main", "scan", "dsa-decode", ...) with these batch sizes and switches
// launch, checked before anything runs.
std::vector<draftjit::jit::KernelSpec> kernels_of(const std::string& kind, const std::vector<std::int64_t>& batch_sizes,
                                                  const std::vector<std::string>& switches) {
  const draftjit::ops::CallKind& call = draftjit::ops::call_kind_named(kind);
  return draftjit::ops::kernels_for(call, batch_sizes, draftjit::ops::flags_named(call, switches), {});
}

// The kernels of kind for these batch sizes, then the manifest's (when given) for the device's arch, loaded on the
// device; returns how many of the manifest's were loaded.
std::size_t prepare(const std::vector<std::int64_t>& batch_sizes, int device, const std::string& kind,
                    const std::vector<std::string>& switches, const std::optional<std::string>& manifest) {
  const std::vector<draftjit::jit::KernelSpec> kernels = kernels_of(kind, batch_sizes, switches);
  return python_call([&] {  // may compile for tens of milliseconds
    draftjit::PrimaryContextScope scope(device);
    if (kind == "main") {  // also sizes the blocking call's workspace for each bs
      for (std::int64_t bs : batch_sizes) draftjit::prepare(bs);
    } else {
      draftjit::prepare_kernels(kernels);
    }
    return manifest ? draftjit::prepare_manifest(manifest->c_str()) : std::size_t{0};
  });
}

// Compiles into the disk cache every kernel that calls of kind with these batch sizes and switches use on each
// arch; needs no GPU. The same loop as `draftjit warmup` (jit/warmup.hpp); a kernel that failed raises
// draftjit.Error with its message.
py::dict warmup(const std::vector<std::int64_t>& batch_sizes, const std::vector<std::string>& archs,
                std::size_t jobs, const std::string& kind, const std::vector<std::string>& switches) {
  draftjit::jit::WarmupRequest request;
  request.specs = kernels_of(kind, batch_sizes, switches);
  for (const std::string& arch : archs) request.toolchains.push_back(draftjit::jit::Toolchain::for_arch(arch));
  request.jobs = jobs;
  std::string first_error;
  const draftjit::jit::WarmupSummary summary = python_call([&] {
    return draftjit::jit::warmup(request, draftjit::jit::process_pipeline(),
                                 [&](const draftjit::jit::WarmupItem& item) {
                                   if (item.failed && first_error.empty()) {
                                     first_error =
                                         fmt::format("{}.{}: {}", item.spec.name(), item.toolchain->arch, item.error);
                                   }
                                 });
  });
  if (summary.failed > 0) {
    throw draftjit::Error(fmt::format("warmup: {} of {} kernels failed; first: {}", summary.failed, summary.kernels,
                                      first_error));
  }
  py::dict result;
  result["kernels"] = summary.kernels;
  result["compiled"] = summary.compiled;
  result["cached"] = summary.cached;
  result["not_stored"] = summary.not_stored;
  return result;
}

// The source (or PTX) of the main kernel of a kind call with bs.
std::string emit(std::int64_t bs, const std::string& kind, const std::string& arch, bool ptx,
                 const std::vector<std::string>& switches) {
  const draftjit::jit::KernelSpec spec = kernels_of(kind, {bs}, switches).front();
  return python_call([&] {  // PTX is a compile
    return draftjit::jit::emit(spec, arch, ptx ? draftjit::jit::EmitOutput::Ptx : draftjit::jit::EmitOutput::Source);
  });
}

// Every op's name, torch schema, return type and (argument name, "tensor" | "tensor?" | "int", written, an Int's
// largest value or None) tuples (ops/op_description.hpp): what the fakes and the Python functions of the ops are made
// from, and what the tests poison and compare.
py::list op_descriptions() {
  py::list result;
  for (const draftjit::ops::OpDescription* op : draftjit::ops::op_descriptions()) {
    py::list names;
    for (const draftjit::ops::OpArg& arg : op->args) {
      const char* kind = arg.type == draftjit::ops::ArgType::Int ? "int" : arg.optional ? "tensor?" : "tensor";
      const py::object max = arg.max >= 0 ? py::object(py::int_(arg.max)) : py::object(py::none());
      names.append(py::make_tuple(arg.name, kind, arg.role == draftjit::ops::Role::Out, max));
    }
    result.append(py::make_tuple(op->name, draftjit::ops::torch_schema(*op), op->returns, names));
  }
  return result;
}

// Every kind's name, summary and switch names: what Python's prepare/warmup/emit take.
py::list kinds() {
  py::list result;
  for (const draftjit::ops::CallKind& kind : draftjit::ops::call_kinds()) {
    py::list switches;
    for (const char* name : draftjit::ops::switch_names(kind)) switches.append(name);
    result.append(py::make_tuple(kind.name, kind.summary, switches));
  }
  return result;
}

// Where this process's pipeline stores kernels: the location it fixed at first use, not the environment now.
std::optional<std::string> cache_dir() {
  const draftjit::jit::DiskCache* disk = draftjit::jit::process_pipeline().disk();
  if (disk == nullptr || disk->writable() == nullptr) return std::nullopt;
  return disk->writable()->dir.string();
}

// Raises the Python class `name` of draftjit._errors, built by calling it with the message and keyword arguments.
// A RuntimeError with the message where the class cannot be built (a broken install): never a second exception
// out of the exception translator.
void raise(const char* name, const char* message, const py::dict& fields = {}) {
  try {
    py::object cls = py::module_::import("draftjit._errors").attr(name);
    py::object error = cls(message, **fields);
    PyErr_SetObject(cls.ptr(), error.ptr());
  } catch (const py::error_already_set&) {
    PyErr_SetString(PyExc_RuntimeError, message);
  }
}

}  // namespace

PYBIND11_MODULE(DRAFTJIT_MODULE_NAME, m) {
  m.doc() = "draftjit's C++ core: JIT-specialised draft-extend metadata kernels (see the draftjit package)";
  m.def("call_op", &call_op);
#ifdef DRAFTJIT_WITH_TORCH
  // Raises, typed, the error the calling thread's last failed torch op threw, when PyTorch's RuntimeError with
  // this message came from it (not from the dispatcher, before the op ran); returns otherwise.
  m.def("raise_op_error", [](const std::string& message) {
    const std::exception_ptr error = draftjit::python::take_op_error();
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      if (*e.what() != '\0' && message.find(e.what()) != std::string::npos) throw;
    }
  });
#endif
  m.def("prepare", &prepare);
  // Private: after it, this process compiles nothing more. draftjit/__init__.py registers it with atexit.
  m.def("_wait_for_compiles", [] { without_gil(&draftjit::jit::wait_for_compiles); });
  m.def("warmup", &warmup);
  m.def("emit", &emit);
  m.def("kinds", &kinds);
  m.def("op_descriptions", &op_descriptions);
  m.def("cache_dir", &cache_dir);
  m.def("doctor", [] {
    // loads NVRTC and the driver, lists the cache
    const draftjit::DoctorReport report = without_gil(&draftjit::doctor);
    return py::make_tuple(report.text, report.ok);
  });
  m.def("cuda_available", &draftjit::cuda_available);
  m.def("stats", [] {
    const draftjit::JitStats counted = draftjit::stats();
    py::dict result;
    result["memory_hits"] = counted.memory_hits;
    result["disk_hits"] = counted.disk_hits;
    result["disk_hits_per_layer"] = counted.disk_hits_per_layer;
    result["compiles"] = counted.compiles;
    result["compile_ms_total"] = counted.compile_ms_total;
    result["compile_ms_max"] = counted.compile_ms_max;
    result["module_loads"] = counted.module_loads;
    result["bytes_stored"] = counted.bytes_stored;
    return result;
  });
  m.def("reset_stats", &draftjit::reset_stats);
  m.def("freeze", &draftjit::freeze);
  draftjit::python::bind_log_forwarding(m);
  m.def("version", &draftjit::version);
  m.attr("MAX_BS") = draftjit::kMaxBs;
  m.attr("MAX_FUSED_BS") = draftjit::kMaxFusedBs;
  m.attr("MAX_DSA_BS") = draftjit::kMaxDsaBs;
  // Each family's status bits by key, from the one table beside each enum (src/status.cpp).
  auto bits_of = [](draftjit::StatusBits bits) {
    py::dict result;
    for (const draftjit::StatusBit& b : bits) result[b.key] = b.bit;
    return result;
  };
  m.attr("STATUS_BITS") = bits_of(draftjit::status_bits());
  m.attr("DSA_STATUS_BITS") = bits_of(draftjit::dsa_status_bits());

  py::register_exception_translator([](std::exception_ptr thrown) {
    try {
      if (thrown) std::rethrow_exception(thrown);
    } catch (const draftjit::StatusError& e) {
      py::dict fields;
      fields["status"] = e.status();
      fields["total_tokens"] = e.total_tokens();
      fields["capacity"] = e.capacity();
      raise("StatusError", e.what(), fields);
    } catch (const draftjit::CompileError& e) {
      py::dict fields;
      fields["key"] = e.key();
      fields["log"] = e.log();
      raise("CompileError", e.what(), fields);
    } catch (const draftjit::Error& e) {
      raise("Error", e.what());
    } catch (const ArgumentTypeError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const std::invalid_argument& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
}
