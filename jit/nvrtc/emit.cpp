#include "jit/nvrtc/emit.hpp"

#include <fmt/format.h>

#include "jit/nvrtc/codegen.hpp"
#include "jit/nvrtc/nvrtc_compiler.hpp"
#include "jit/pipeline.hpp"

namespace draftjit::jit {

std::string emit(const KernelSpec& spec, std::string_view arch, EmitOutput output) {
  if (output == EmitOutput::Source) {
    check_arch_name(arch);
    return render_source(spec);
  }
  const Toolchain toolchain = Toolchain::for_arch(arch);
  if (output == EmitOutput::CubinInfo) {
    // Through the pipeline like the runtime, but in memory only: emit never touches the disk cache.
    Pipeline pipeline;
    const auto compiled = pipeline.get(spec, toolchain);
    return fmt::format("kernel: {}\nentry: {}\nkey: {}\ncubin bytes: {}{}\n", compiled->key.stem, compiled->entry,
                       compiled->key.text, compiled->cubin.size(),
                       toolchain.emits_ptx() ? " (PTX: a virtual arch, finished by the driver at load)" : "");
  }
  // PTX is never cached: this is the one path that calls NVRTC outside the pipeline, on purpose.
  const RenderedKernel rendered = render(spec, toolchain);
  return compile(rendered.source, toolchain, rendered.key.stem, true).ptx;
}

}  // namespace draftjit::jit
