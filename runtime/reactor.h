// The event loop of one shard thread, on one io_uring: the shard's disk
// operations and its sockets are submitted to the same ring, and each turn
// of the loop ends in one io_uring_enter that submits what the turn queued
// and waits for what comes next (DESIGN.md, "Front ends").
//
// A turn: run the posted tasks, fire the due timers, run the turn-end hooks
// (where work gathered over the turn is flushed: group commit, batched
// socket sends), then submit and wait — for a completion, a posted task or
// the next timer — and hand every completion to its Completion.
//
// Threads: a Reactor is driven by one thread at a time (run(), or run_for()
// and poll() in tests), and the ring accepts submissions from that thread
// only. post() and stop() may be called from any thread; a post from
// another thread wakes the loop through an eventfd read on the ring.
//
// Cross-loop posts are batched: a task one loop posts to another during a
// turn waits in the poster's outbox for that loop, and the outbox is handed
// over whole (one lock, at most one wake-up) when the poster's turn is about
// to wait and again after it has handled the turn's completions. So the
// requests a shard's connections send the other shard in one turn cost one
// wake-up, not one each, and the replies come back the same way.
//
// get_executor() is a Boost.Asio executor, so code written against asio's
// post/dispatch and any_io_executor (the gRPC front end) runs on the loop
// unchanged. Timers are the reactor's own (timer.h), not asio's.
#pragma once

#include <liburing.h>

#include <atomic>
#include <boost/asio/execution.hpp>
#include <boost/asio/execution_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <queue>
#include <thread>
#include <unordered_map>
#include <vector>

#include "runtime/task.h"

namespace redcar::runtime {

// What runs when an io_uring operation completes. The submitter owns it and
// keeps it alive until its last completion; a multishot operation completes
// once per result, with IORING_CQE_F_MORE in `flags` while more will come.
class Completion {
 public:
  virtual void complete(int result, uint32_t flags) = 0;

 protected:
  ~Completion() = default;
};

struct ReactorOptions {
  unsigned ring_entries = 4096;
};

class Reactor : public boost::asio::execution_context {
 public:
  using Clock = std::chrono::steady_clock;
  class executor_type;

  // The ring is made on the calling thread, which must be the one that runs
  // the loop. -errno on failure.
  static int create(const ReactorOptions& options, std::unique_ptr<Reactor>* out);
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  // Turns until stop(). Loop thread.
  void run();
  // Any thread: run() returns after the turn it is in.
  void stop();
  bool stopped() const { return stop_.load(std::memory_order_acquire); }
  // Turns for `d` (or until stop()); returns the tasks and completions
  // handled. For tests and tools that drive a reactor themselves.
  size_t run_for(std::chrono::nanoseconds d);
  // One turn that does not wait.
  size_t poll();
  // One turn that waits up to `max_wait`, stopped or not: for finishing
  // operations in flight after the loop has stopped.
  size_t run_once(std::chrono::nanoseconds max_wait);
  bool in_loop_thread() const;

  // Runs `t` on the loop, soon; tasks posted from one thread run in order.
  void post(Task t);
  // Runs `t` at the end of this turn, after its tasks and completions and
  // before it submits and waits. Loop thread only.
  void at_turn_end(Task t);

  // An SQE whose completion goes to `c`; never null (a full submission
  // queue is submitted first). Loop thread only.
  io_uring_sqe* prepare(Completion* c);
  io_uring* ring() { return &ring_; }

  // Timers (see Timer): `t` runs at `deadline` unless cancelled first.
  uint64_t schedule(Clock::time_point deadline, Task t);
  void cancel(uint64_t timer_id);

  executor_type get_executor() noexcept;

 private:
  explicit Reactor(int wake_fd);
  // One turn; `wait`: block in the kernel when there is nothing to do.
  size_t turn(bool wait, Clock::time_point wait_until);
  size_t run_tasks();
  size_t run_timers();
  void run_turn_end();
  void submit_and_wait(Clock::time_point wait_until);
  size_t reap();
  void arm_wake();
  void wake();
  // Another loop's post, queued until this loop's flush_outboxes().
  void post_later(Reactor* target, Task t);
  void flush_outboxes();
  // Takes a batch another loop flushed; `batch` comes back empty.
  void accept_batch(std::vector<Task>& batch);

  struct WakeRead final : Completion {
    explicit WakeRead(Reactor* r) : reactor(r) {}
    void complete(int result, uint32_t flags) override;
    Reactor* reactor;
  };
  struct TimerEntry {
    Clock::time_point deadline;
    uint64_t id;
    bool operator>(const TimerEntry& o) const { return deadline > o.deadline || (deadline == o.deadline && id > o.id); }
  };

  io_uring ring_{};
  bool ring_ok_ = false;
  int wake_fd_ = -1;
  uint64_t wake_value_ = 0;
  WakeRead wake_read_{this};
  std::atomic<bool> stop_{false};
  std::thread::id loop_thread_;

  std::vector<Task> local_;  // posted from the loop thread
  std::vector<Task> running_;
  std::mutex mu_;            // incoming_
  std::vector<Task> incoming_;
  std::atomic<bool> has_incoming_{false};
  std::atomic<bool> sleeping_{false};
  std::vector<Task> turn_end_;
  // Tasks for other loops, per target, in the order they were posted.
  struct Outbox {
    Reactor* target;
    std::vector<Task> tasks;
  };
  std::vector<Outbox> outboxes_;
  bool outbox_pending_ = false;

  std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<>> timers_;
  std::unordered_map<uint64_t, Task> timer_tasks_;
  uint64_t next_timer_id_ = 1;
};

// A Boost.Asio executor of a Reactor: execute() posts (or, when allowed to
// block and already on the loop thread, runs at once, as asio's dispatch
// expects). Its context is the Reactor.
class Reactor::executor_type {
 public:
  explicit executor_type(Reactor* r, bool may_run_inline = false) noexcept : r_(r), inline_(may_run_inline) {}

  Reactor& query(boost::asio::execution::context_t) const noexcept { return *r_; }
  static constexpr boost::asio::execution::mapping_t::thread_t query(boost::asio::execution::mapping_t) noexcept {
    return boost::asio::execution::mapping.thread;
  }
  boost::asio::execution::blocking_t query(boost::asio::execution::blocking_t) const noexcept {
    return inline_ ? boost::asio::execution::blocking_t(boost::asio::execution::blocking.possibly)
                   : boost::asio::execution::blocking_t(boost::asio::execution::blocking.never);
  }
  executor_type require(boost::asio::execution::blocking_t::never_t) const noexcept { return executor_type(r_, false); }
  executor_type require(boost::asio::execution::blocking_t::possibly_t) const noexcept {
    return executor_type(r_, true);
  }

  template <typename F>
  void execute(F&& f) const {
    if (inline_ && r_->in_loop_thread()) {
      std::decay_t<F> fn(std::forward<F>(f));
      fn();
      return;
    }
    r_->post(Task(std::forward<F>(f)));
  }

  Reactor& context() const noexcept { return *r_; }
  bool running_in_this_thread() const noexcept { return r_->in_loop_thread(); }
  friend bool operator==(const executor_type& a, const executor_type& b) noexcept {
    return a.r_ == b.r_ && a.inline_ == b.inline_;
  }
  friend bool operator!=(const executor_type& a, const executor_type& b) noexcept { return !(a == b); }

 private:
  Reactor* r_;
  bool inline_;
};

inline Reactor::executor_type Reactor::get_executor() noexcept { return executor_type(this); }

}  // namespace redcar::runtime
