#pragma once

namespace draftjit {

// Part of every kernel key: a new library version never reuses an older version's cubins.
inline constexpr const char* kLibraryVersion = "0.1.0";

}  // namespace draftjit
