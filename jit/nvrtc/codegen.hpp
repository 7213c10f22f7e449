#pragma once
#include <string>
#include <string_view>

#include "jit/kernel_spec.hpp"

namespace draftjit::jit {

// The instantiation of one specialisation: the kernel template of its kind over its scan type (templates/), behind
// the extern "C" entry its params struct names, with the #include lines of the headers it needs.
std::string render_instantiation(const KernelSpec& spec);

// `text` with every #include of a header of templates/ replaced by the header's text, recursively and each header
// once, so that NVRTC needs no include path and a dumped source compiles alone.
std::string inline_headers(std::string_view text);

// The complete CUDA source of one specialisation: its instantiation with the headers inlined. Deterministic: the same
// spec always renders the same bytes, which the kernel key relies on.
std::string render_source(const KernelSpec& spec);

}  // namespace draftjit::jit
