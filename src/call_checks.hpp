#pragma once
// Argument checks the op families' calls share (src/<family>_metadata.cpp): every message starts with the call's
// name, so a front end's error says which call refused what.
#include <fmt/format.h>

#include <cstdint>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "draftjit/device_arrays.hpp"

namespace draftjit {

// Throws std::invalid_argument "<call>: <what>" unless ok.
template <class... Args>
void require_arg(std::string_view call, bool ok, fmt::format_string<Args...> what, Args&&... args) {
  if (!ok) throw std::invalid_argument(fmt::format("{}: {}", call, fmt::format(what, std::forward<Args>(args)...)));
}

// A page table a call writes: non-null, non-negative strides, and [>= bs, >= pages] (pages: the call's bound).
inline void check_page_table(std::string_view call, std::string_view name, const DeviceMatrix& t, std::int64_t bs,
                             std::int64_t pages) {
  require_arg(call, t.data != nullptr, "{} must be non-null (or skip_page_table set)", name);
  require_arg(call, t.row_stride >= 0 && t.col_stride >= 0, "{} has a negative stride ({}, {})", name, t.row_stride,
              t.col_stride);
  require_arg(call, t.rows >= bs && t.cols >= pages,
              "{} is {} x {}, smaller than the bs x max_seq_pages = {} x {} it gets", name, t.rows, t.cols, bs, pages);
}

// A table a call writes over its own columns (no max_seq_pages: TRTLLM-MLA's block table, the eager page table):
// sizes and strides non-negative, and at least bs rows.
inline void check_own_width_table(std::string_view call, std::string_view name, const DeviceMatrix& t,
                                  std::int64_t bs) {
  require_arg(call, t.rows >= 0 && t.cols >= 0 && t.row_stride >= 0 && t.col_stride >= 0,
              "{} has a negative size or stride ({} x {}, strides {}, {})", name, t.rows, t.cols, t.row_stride,
              t.col_stride);
  require_arg(call, t.rows >= bs, "{} has {} rows, fewer than bs = {}", name, t.rows, bs);
}

// req_to_token as a gather over `pages` pages of `page_size` tokens reads it: sizes and strides non-negative, and,
// when anything is gathered, non-null with page pages - 1 starting inside its columns.
inline void check_token_table(std::string_view call, const ConstDeviceMatrix& tok, bool gathered, std::int64_t pages,
                              std::int64_t page_size) {
  require_arg(call, tok.rows >= 0 && tok.cols >= 0 && tok.row_stride >= 0 && tok.col_stride >= 0,
              "req_to_token has a negative size or stride ({} x {}, strides {}, {})", tok.rows, tok.cols,
              tok.row_stride, tok.col_stride);
  if (!gathered) return;
  require_arg(call, tok.data != nullptr, "req_to_token must be non-null");
  require_arg(call, (pages - 1) * page_size < tok.cols,
              "req_to_token has {} columns, but page max_seq_pages - 1 = {} starts at column {}", tok.cols, pages - 1,
              (pages - 1) * page_size);
}

}  // namespace draftjit
