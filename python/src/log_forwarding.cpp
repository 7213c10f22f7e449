#include "log_forwarding.hpp"

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "jit/fork_local.hpp"
#include "jit/log.hpp"
#include "without_gil.hpp"

namespace py = pybind11;

namespace draftjit::python {
namespace {

constexpr std::size_t kMaxQueued = 10000;

struct Event {
  jit::LogLevel level;
  std::string event;
  std::string message;
};

class EventQueue {
 public:
  void push(jit::LogLevel level, std::string_view event, std::string_view message) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (events_.size() == kMaxQueued) {
        events_.pop_front();
        ++dropped_;
      }
      events_.push_back({level, std::string(event), std::string(message)});
    }
    ready_.notify_all();
  }
  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    ready_.wait(lock, [&] { return !events_.empty(); });
  }
  std::vector<Event> take() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<Event> taken;
    if (dropped_ > 0) {
      taken.push_back({jit::LogLevel::Warn, "log", std::to_string(dropped_) + " events dropped (queue full)"});
      dropped_ = 0;
    }
    for (Event& event : events_) taken.push_back(std::move(event));
    events_.clear();
    return taken;
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Event> events_;
  std::size_t dropped_ = 0;
};

// Never destroyed, like the process pipeline: a daemon thread may be waiting on it while the process exits. A child
// forked while another thread held its mutex starts an empty one (the package restarts its thread there).
EventQueue& queue() {
  return jit::ForkLocal<EventQueue>::get([] { return new EventQueue; });
}

}  // namespace

void bind_log_forwarding(py::module_& m) {
  m.def("_log_to_python", [] {
    jit::set_log_sink([](jit::LogLevel level, std::string_view event, std::string_view message) {
      queue().push(level, event, message);
    });
  });
  m.def("_wait_log_events", [] { without_gil([] { queue().wait(); }); });
  m.def("_take_log_events", [] {
    py::list events;
    for (const Event& e : queue().take()) events.append(py::make_tuple(jit::level_name(e.level), e.event, e.message));
    return events;
  });
}

}  // namespace draftjit::python
