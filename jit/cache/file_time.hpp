#pragma once
// A file's timestamp (st_mtim) as a time point: the one conversion draftjit makes of one.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace draftjit::jit {

// An mtime is outside data (`touch -d 2263-01-01` works, a restored archive carries anything), while 64-bit
// nanoseconds only reach 1677-2262 and libstdc++'s file clock is offset by 204 years: converted as they are, the
// seconds overflowed (UB; in practice a wrap that made 2263 older than 1990). Seconds outside 1900-2200 are clamped
// to the nearer end, so every time point, and every difference of two, is in range and in order (times past an end
// tie there).
inline constexpr std::int64_t kEarliestFileSecond = -2208988800;  // 1900-01-01
inline constexpr std::int64_t kLatestFileSecond = 7258118400;     // 2200-01-01

inline std::chrono::system_clock::time_point file_time(std::int64_t sec, std::int64_t nsec) {
  using namespace std::chrono;
  const std::int64_t clamped = std::clamp(sec, kEarliestFileSecond, kLatestFileSecond);
  const std::int64_t ns = clamped == sec ? std::clamp<std::int64_t>(nsec, 0, 999'999'999) : 0;
  return system_clock::time_point(duration_cast<system_clock::duration>(seconds(clamped) + nanoseconds(ns)));
}

inline std::chrono::system_clock::time_point file_time(const struct timespec& when) {
  return file_time(static_cast<std::int64_t>(when.tv_sec), static_cast<std::int64_t>(when.tv_nsec));
}

}  // namespace draftjit::jit
