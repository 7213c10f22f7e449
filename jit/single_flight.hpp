#pragma once
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace draftjit::jit {

// A memo of shared values by key where each value is built at most once at a time: the first caller of a new key
// runs the builder in its own thread, later callers of that key wait for its result. A builder that throws leaves
// nothing behind: every caller that waited gets the exception and the next caller builds again. The lock is held
// only to find or insert an entry, never while building, so builds of different keys run in parallel.
template <typename Value>
class SingleFlight {
 public:
  using Ptr = std::shared_ptr<const Value>;

  // The value for key; *built says whether this call ran the builder.
  template <typename Builder>
  Ptr get(const std::string& key, Builder&& build, bool* built) {
    std::promise<Ptr> promise;
    {
      std::unique_lock lock(mutex_);
      auto [it, inserted] = entries_.try_emplace(key);
      if (!inserted) {
        std::shared_future<Ptr> pending = it->second;
        lock.unlock();
        *built = false;
        return pending.get();
      }
      it->second = promise.get_future().share();
    }
    *built = true;
    try {
      Ptr value = build();
      promise.set_value(value);
      return value;
    } catch (...) {
      {
        std::lock_guard lock(mutex_);
        entries_.erase(key);
      }
      promise.set_exception(std::current_exception());
      throw;
    }
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_future<Ptr>> entries_;
};

}  // namespace draftjit::jit
