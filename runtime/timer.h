// A one-shot timer on a Reactor: start() schedules a task after a delay
// (replacing one still pending), cancel() or the destructor drops it. Used
// from the reactor's thread only; the task runs on it.
#pragma once

#include <chrono>

#include "runtime/reactor.h"
#include "runtime/task.h"

namespace redcar::runtime {

class Timer {
 public:
  explicit Timer(Reactor& reactor) : reactor_(reactor) {}
  ~Timer() { cancel(); }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  template <typename Rep, typename Period>
  void start(std::chrono::duration<Rep, Period> after, Task t) {
    cancel();
    auto deadline = Reactor::Clock::now() + std::chrono::duration_cast<Reactor::Clock::duration>(after);
    id_ = reactor_.schedule(deadline, [this, t = std::move(t)]() mutable {
      id_ = 0;
      t();
    });
  }
  void cancel() {
    if (id_) reactor_.cancel(id_);
    id_ = 0;
  }
  bool pending() const { return id_ != 0; }
  Reactor& reactor() const { return reactor_; }

 private:
  Reactor& reactor_;
  uint64_t id_ = 0;
};

}  // namespace redcar::runtime
