#pragma once
#include <stdexcept>
#include <string>

namespace draftjit {

// Base of every error draftjit raises besides std::invalid_argument (bad arguments) and std::bad_alloc.
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

}  // namespace draftjit
