#pragma once
#include <cuda.h>

#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "jit/kernel_spec.hpp"
#include "jit/nvrtc/toolchain.hpp"
#include "owned_handle.hpp"
#include "workspace_pool.hpp"

namespace draftjit {

// One kernel loaded into one context.
struct LoadedKernel {
  CUfunction function = nullptr;
  const char* entry = nullptr;  // its params struct's kEntry, checked by launch()
  std::string key;              // the kernel key's stem, for error messages
  unsigned shared_bytes = 0;    // dynamic shared memory every launch gets (KernelSpec::dynamic_shared_bytes)
  int blocks_per_sm = 1;        // blocks of spec.threads resident on one SM at once: a grid past that waits
};

// What draftjit keeps for one live CUDA context: its toolchain, SM count, loaded kernels and blocking-call scratch.
// The toolchain is jit::choose_toolchain_for_device's: cubins for the device's arch, or PTX the driver finishes when
// NVRTC cannot target it.
class Context {
 public:
  Context(CUcontext handle, unsigned long long id, CUdevice device);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // The kernel for spec: the first request goes through the JIT pipeline (memory, disk or NVRTC) and loads a module;
  // every later one is one hash lookup under a shared lock. This context must be current.
  const LoadedKernel& kernel(const jit::KernelSpec& spec);
  // The kernel for spec if it is loaded already, else null; never compiles or loads.
  const LoadedKernel* find(const jit::KernelSpec& spec);

  int sm_count() const { return sm_count_; }
  const jit::Toolchain& toolchain() const { return toolchain_; }
  WorkspacePool& workspace() { return workspace_; }
  CUcontext handle() const { return handle_; }
  unsigned long long id() const { return id_; }

  // The driver destroyed this context: forget its modules and memory without freeing them.
  void abandon();

 private:
  const CUcontext handle_;
  const unsigned long long id_;
  const jit::Toolchain toolchain_;
  int sm_count_ = 1;
  WorkspacePool workspace_;
  std::shared_mutex mutex_;
  std::unordered_map<std::uint64_t, std::unique_ptr<LoadedKernel>> kernels_;  // by KernelSpec::id()
  std::vector<ModuleHandle> modules_;
};

// The Context of the calling thread's current CUDA context, found by the driver's unique context ID (cuCtxGetId),
// never by handle alone: a handle the driver reuses for a new context after a reset finds a new Context. The first
// call in a new context also drops what draftjit held for contexts that no longer exist. Throws draftjit::Error when
// no driver is present or no context is current.
Context& current_context();

// Modules loaded into any context since the start or the last reset, for draftjit::stats().
std::size_t module_load_count();
void reset_module_load_count();

}  // namespace draftjit
