#pragma once
#include <cuda.h>

#include <string>

#include "jit/kernel_spec.hpp"
#include "workspace_pool.hpp"

namespace draftjit {

// What draftjit keeps per CUDA context.
struct ContextState {
  CUcontext context = nullptr;
  std::string arch;  // "sm_90"
  int sm_count = 1;
  WorkspacePool workspace;
};

struct LoadedKernel {
  CUfunction function = nullptr;
  ContextState* context = nullptr;
  std::string key;  // the kernel key's stem, for error messages
};

// The kernel for spec in the calling thread's current context. The first request per (context, spec) goes through
// the cubin cache (memory, disk or NVRTC) and loads a module; every later one is a single hash lookup under a
// shared lock. Modules live until the process exits. Throws draftjit::Error when no driver is present or no
// context is current.
const LoadedKernel& kernel_for_current_context(const jit::KernelSpec& spec);

}  // namespace draftjit
