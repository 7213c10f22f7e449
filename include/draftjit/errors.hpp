#pragma once
// The exceptions draftjit throws, besides std::invalid_argument (bad arguments, checked before anything runs) and
// std::bad_alloc.
#include <cstdint>
#include <stdexcept>
#include <string>

namespace draftjit {

// Base of every draftjit error: a driver call failed (the message names the call, the CUDA error and the kernel),
// no driver is present, or no context is current.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// NVRTC rejected a rendered kernel. what() names the kernel key; log() is NVRTC's full program log.
class CompileError : public Error {
 public:
  CompileError(const std::string& message, std::string key, std::string log)
      : Error(message), key_(std::move(key)), log_(std::move(log)) {}
  const std::string& key() const noexcept { return key_; }
  const std::string& log() const noexcept { return log_; }

 private:
  std::string key_;
  std::string log_;
};

// The device reported bad data (see draftjit::Status) in a blocking call; no output was written.
class StatusError : public Error {
 public:
  StatusError(const std::string& message, std::int32_t status, std::int32_t total, std::int64_t capacity)
      : Error(message), status_(status), total_(total), capacity_(capacity) {}
  std::int32_t status() const noexcept { return status_; }
  std::int32_t total_tokens() const noexcept { return total_; }
  std::int64_t capacity() const noexcept { return capacity_; }

 private:
  std::int32_t status_;
  std::int32_t total_;
  std::int64_t capacity_;
};

}  // namespace draftjit
