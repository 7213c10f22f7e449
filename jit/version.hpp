#pragma once

namespace draftjit::jit {

// project(VERSION) in CMakeLists.txt, passed in by the build. Part of every kernel key: a new library version never
// reuses an older version's cubins.
inline constexpr const char* kVersion = DRAFTJIT_VERSION;

}  // namespace draftjit::jit
