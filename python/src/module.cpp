// draftjit._draftjit: the C++ side of the Python package. It takes device pointers, lengths, a device index and a
// stream handle as plain integers; python/draftjit/ checks tensors and arrays and picks the stream. Errors become
// the Python classes of draftjit._errors (so they carry .status, .key, .log), argument errors ValueError.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "draftjit/draftjit.hpp"
#include "jit/disk_cache.hpp"
#include "jit/nvrtc_compiler.hpp"
#include "jit/pipeline.hpp"
#include "primary_context.hpp"

namespace py = pybind11;

namespace {

using Ptr = std::uintptr_t;

template <typename T>
T* as_ptr(Ptr value) {
  return reinterpret_cast<T*>(value);
}

CUstream as_stream(Ptr value) { return reinterpret_cast<CUstream>(value); }

draftjit::DraftExtendArgs args_of(Ptr ext, Ptr seq, std::int64_t bs, std::int32_t topk, Ptr out_expanded,
                                  Ptr out_cache, std::int64_t capacity) {
  return {as_ptr<const std::int32_t>(ext), as_ptr<const std::int32_t>(seq), bs, topk,
          as_ptr<std::int32_t>(out_expanded), as_ptr<std::int32_t>(out_cache), capacity};
}

std::int32_t fill(Ptr ext, Ptr seq, std::int64_t bs, std::int32_t topk, Ptr out_expanded, Ptr out_cache,
                  std::int64_t capacity, Ptr stream, int device) {
  draftjit::jit::check_bs(bs, "fill_draft_extend_metadata");  // argument errors before any driver call
  py::gil_scoped_release release;  // the call blocks on the GPU; other Python threads run meanwhile
  draftjit::PrimaryContextScope scope(device);
  return draftjit::fill_draft_extend_metadata(args_of(ext, seq, bs, topk, out_expanded, out_cache, capacity),
                                              as_stream(stream));
}

void fill_async(Ptr ext, Ptr seq, std::int64_t bs, std::int32_t topk, Ptr out_expanded, Ptr out_cache,
                std::int64_t capacity, Ptr total, Ptr status, Ptr offsets, Ptr stream, int device) {
  draftjit::jit::check_bs(bs, "fill_draft_extend_metadata_async");
  draftjit::PrimaryContextScope scope(device);
  draftjit::fill_draft_extend_metadata_async(args_of(ext, seq, bs, topk, out_expanded, out_cache, capacity),
                                             as_stream(stream), as_ptr<std::int32_t>(total),
                                             as_ptr<std::int32_t>(status), as_ptr<std::int32_t>(offsets));
}

void exclusive_offsets(Ptr lens, std::int64_t bs, Ptr out, Ptr status, Ptr stream, int device) {
  draftjit::jit::check_bs(bs, "exclusive_offsets");
  draftjit::PrimaryContextScope scope(device);
  draftjit::exclusive_offsets(as_ptr<const std::int32_t>(lens), bs, as_ptr<std::int32_t>(out), as_stream(stream),
                              as_ptr<std::int32_t>(status));
}

void prepare(const std::vector<std::int64_t>& batch_sizes, int device) {
  for (std::int64_t bs : batch_sizes) draftjit::jit::check_bs(bs, "prepare");
  py::gil_scoped_release release;  // may compile for tens of milliseconds
  draftjit::PrimaryContextScope scope(device);
  for (std::int64_t bs : batch_sizes) draftjit::prepare(bs);
}

// Compiles into the disk cache every kernel that calls with these batch sizes use on arch; needs no GPU.
py::dict warmup(const std::vector<int>& batch_sizes, const std::string& arch) {
  for (int bs : batch_sizes) draftjit::jit::check_bs(bs, "warmup");
  const draftjit::jit::Toolchain toolchain = draftjit::jit::Toolchain::for_arch(arch);
  std::size_t compiled = 0;
  std::size_t cached = 0;
  std::size_t not_stored = 0;  // compiled or found, but in memory only: the disk cache is off or refused it
  {
    py::gil_scoped_release release;
    draftjit::jit::Pipeline& pipeline = draftjit::jit::process_pipeline();
    for (const auto& spec : draftjit::jit::kernels_for(batch_sizes, {})) {
      draftjit::jit::Origin origin{};
      not_stored += !pipeline.get(spec, toolchain, &origin)->on_disk;
      ++(origin == draftjit::jit::Origin::Compiled ? compiled : cached);
    }
  }
  py::dict summary;
  summary["kernels"] = compiled + cached;
  summary["compiled"] = compiled;
  summary["cached"] = cached;
  summary["not_stored"] = not_stored;
  return summary;
}

std::string emit(int bs, const std::string& kind, const std::string& arch, bool ptx) {
  draftjit::jit::check_bs(bs, "emit");
  const auto spec = draftjit::jit::spec_for_call(kind, bs, {});
  const auto toolchain = draftjit::jit::Toolchain::for_arch(arch);
  const draftjit::jit::RenderedKernel rendered = draftjit::jit::render(spec, toolchain);
  if (!ptx) return rendered.source;
  py::gil_scoped_release release;
  return draftjit::jit::compile(rendered.source, toolchain, rendered.key.stem, true).ptx;
}

std::optional<std::string> cache_dir() {
  const auto dir = draftjit::jit::cache_location_from_env().writable;
  return dir ? std::optional(dir->string()) : std::nullopt;
}

// Raises the Python class `name` of draftjit._errors, built by calling it with the message and keyword arguments.
void raise(const char* name, const char* message, const py::dict& fields = {}) {
  py::object cls = py::module_::import("draftjit._errors").attr(name);
  py::object error = cls(message, **fields);
  PyErr_SetObject(cls.ptr(), error.ptr());
}

}  // namespace

PYBIND11_MODULE(_draftjit, m) {
  m.doc() = "draftjit's C++ core: JIT-specialised draft-extend metadata kernels (see the draftjit package)";
  m.def("fill", &fill);
  m.def("fill_async", &fill_async);
  m.def("exclusive_offsets", &exclusive_offsets);
  m.def("prepare", &prepare);
  m.def("warmup", &warmup);
  m.def("emit", &emit);
  m.def("cache_dir", &cache_dir);
  m.def("device_of_pointer", [](Ptr ptr) { return draftjit::device_of_pointer(as_ptr<void>(ptr), "array"); });
  m.def("cuda_available", &draftjit::cuda_available);
  m.def("version", &draftjit::version);
  m.attr("MAX_BS") = draftjit::kMaxBs;
  m.attr("MAX_FUSED_BS") = draftjit::kMaxFusedBs;

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
    } catch (const std::invalid_argument& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
}
