#pragma once
// The one pattern behind draftjit's process-wide objects that hold locks or threads' state (the process pipeline,
// the manifest recorder, the Python log queue).
#include <pthread.h>

#include <atomic>

namespace draftjit::jit {

// One T per process, built by make() at first use and never destroyed: threads may still use it while the process
// exits. A forked child forgets its parent's (leaked, not destroyed: a thread that does not exist in the child may
// have held its mutex at the fork, so its state is not safe to touch) and builds its own at its next use; the fork
// handler is one atomic store, as fork handlers must be. No lock on the way: racing creators each build one, and the
// loser deletes its own, which nobody else has seen.
template <class T>
class ForkLocal {
 public:
  template <class Make>
  static T& get(Make&& make) {
    [[maybe_unused]] static const int registered = pthread_atfork(nullptr, nullptr, forget);
    if (T* existing = instance_.load(std::memory_order_acquire)) return *existing;
    T* fresh = make();
    T* expected = nullptr;
    if (instance_.compare_exchange_strong(expected, fresh, std::memory_order_acq_rel)) return *fresh;
    delete fresh;
    return *expected;
  }

 private:
  static void forget() { instance_.store(nullptr, std::memory_order_relaxed); }
  static inline std::atomic<T*> instance_{nullptr};
};

}  // namespace draftjit::jit
