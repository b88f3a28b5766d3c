#include "runtime/reactor.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "runtime/txn_scope.h"

namespace redcar::runtime {

namespace {
// The reactor whose turn this thread is in, so that a post to another loop
// can wait in this one's outbox. Set only during a turn: a thread that
// drives a reactor now and then (a test) posts directly otherwise.
thread_local Reactor* t_turning = nullptr;

struct Turning {
  explicit Turning(Reactor* r) : saved(t_turning) { t_turning = r; }
  ~Turning() { t_turning = saved; }
  Reactor* saved;
};
}  // namespace

int Reactor::create(const ReactorOptions& options, std::unique_ptr<Reactor>* out) {
  // Blocking: a read of it waits (io_uring polls it) until a post wakes us.
  int efd = ::eventfd(0, EFD_CLOEXEC);
  if (efd < 0) return -errno;
  std::unique_ptr<Reactor> r(new Reactor(efd));
  // One thread submits; completions run when it enters the kernel to wait,
  // not as interrupts of whatever it is doing.
  io_uring_params p{};
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  int rc = io_uring_queue_init_params(options.ring_entries, &r->ring_, &p);
  if (rc == -EINVAL) {  // a kernel older than 6.1
    p = {};
    rc = io_uring_queue_init_params(options.ring_entries, &r->ring_, &p);
  }
  if (rc < 0) return rc;
  r->ring_ok_ = true;
  r->arm_wake();
  *out = std::move(r);
  return 0;
}

Reactor::Reactor(int wake_fd) : wake_fd_(wake_fd), loop_thread_(std::this_thread::get_id()) {}

Reactor::~Reactor() {
  // Operations still in flight here are the loop's own (the wake read) or
  // multishot reads whose owners cancelled them: tearing the ring down
  // cancels them, and no completion runs after.
  shutdown();
  destroy();
  if (ring_ok_) io_uring_queue_exit(&ring_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

bool Reactor::in_loop_thread() const { return std::this_thread::get_id() == loop_thread_; }

void Reactor::arm_wake() {
  io_uring_sqe* sqe = prepare(&wake_read_);
  io_uring_prep_read(sqe, wake_fd_, &wake_value_, sizeof(wake_value_), 0);
}

void Reactor::WakeRead::complete(int result, uint32_t) {
  // Whatever was posted is picked up at the start of the next turn.
  if (result == -ECANCELED) return;
  reactor->arm_wake();
}

void Reactor::wake() {
  uint64_t one = 1;
  ssize_t n = ::write(wake_fd_, &one, sizeof(one));
  (void)n;  // the counter cannot overflow: every read drains it
}

void Reactor::post(Task t) {
  if (uint64_t txn = current_txn(); txn != 0) {
    // Work caused by a transaction stays in it (txn_scope.h). Rare: the
    // wrapper may allocate.
    t = Task([txn, inner = std::move(t)] {
      TxnScope scope(txn);
      inner();
    });
  }
  if (in_loop_thread()) {
    local_.push_back(std::move(t));
    return;
  }
  if (t_turning && t_turning != this) {
    t_turning->post_later(this, std::move(t));
    return;
  }
  {
    std::lock_guard lk(mu_);
    incoming_.push_back(std::move(t));
    has_incoming_.store(true, std::memory_order_seq_cst);
  }
  // Only a loop about to sleep (or asleep) needs the eventfd; the first
  // poster to see it wakes it.
  if (sleeping_.exchange(false, std::memory_order_seq_cst)) wake();
}

void Reactor::post_later(Reactor* target, Task t) {
  outbox_pending_ = true;
  for (auto& o : outboxes_) {
    if (o.target == target) {
      o.tasks.push_back(std::move(t));
      return;
    }
  }
  outboxes_.push_back(Outbox{target, {}});
  outboxes_.back().tasks.push_back(std::move(t));
}

void Reactor::flush_outboxes() {
  if (!outbox_pending_) return;
  outbox_pending_ = false;
  for (auto& o : outboxes_) {
    if (!o.tasks.empty()) o.target->accept_batch(o.tasks);
  }
}

void Reactor::accept_batch(std::vector<Task>& batch) {
  {
    std::lock_guard lk(mu_);
    if (incoming_.empty()) {
      // The vectors trade places, so neither side allocates once warm.
      incoming_.swap(batch);
    } else {
      incoming_.insert(incoming_.end(), std::make_move_iterator(batch.begin()), std::make_move_iterator(batch.end()));
      batch.clear();
    }
    has_incoming_.store(true, std::memory_order_seq_cst);
  }
  if (sleeping_.exchange(false, std::memory_order_seq_cst)) wake();
}

void Reactor::at_turn_end(Task t) { turn_end_.push_back(std::move(t)); }

io_uring_sqe* Reactor::prepare(Completion* c) {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (!sqe) {
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  io_uring_sqe_set_data(sqe, c);
  return sqe;
}

uint64_t Reactor::schedule(Clock::time_point deadline, Task t) {
  uint64_t id = next_timer_id_++;
  timer_tasks_.emplace(id, std::move(t));
  timers_.push({deadline, id});
  return id;
}

void Reactor::cancel(uint64_t timer_id) { timer_tasks_.erase(timer_id); }

void Reactor::stop() {
  stop_.store(true, std::memory_order_release);
  if (!in_loop_thread()) wake();
}

size_t Reactor::run_tasks() {
  if (has_incoming_.load(std::memory_order_acquire)) {
    std::lock_guard lk(mu_);
    local_.insert(local_.end(), std::make_move_iterator(incoming_.begin()), std::make_move_iterator(incoming_.end()));
    incoming_.clear();
    has_incoming_.store(false, std::memory_order_relaxed);
  }
  if (local_.empty()) return 0;
  // Tasks a task posts run in the next turn, after the completions between.
  running_.swap(local_);
  size_t n = running_.size();
  for (auto& t : running_) t();
  running_.clear();
  return n;
}

size_t Reactor::run_timers() {
  size_t n = 0;
  auto now = Clock::now();
  while (!timers_.empty() && timers_.top().deadline <= now) {
    uint64_t id = timers_.top().id;
    timers_.pop();
    auto it = timer_tasks_.find(id);
    if (it == timer_tasks_.end()) continue;  // cancelled
    Task t = std::move(it->second);
    timer_tasks_.erase(it);
    t();
    ++n;
  }
  return n;
}

void Reactor::run_turn_end() {
  if (turn_end_.empty()) return;
  std::vector<Task> hooks;
  hooks.swap(turn_end_);
  for (auto& h : hooks) h();
}

void Reactor::submit_and_wait(Clock::time_point wait_until) {
  // Drop timers cancelled meanwhile, so that the wait is not cut short for
  // nothing.
  while (!timers_.empty() && !timer_tasks_.count(timers_.top().id)) timers_.pop();
  if (!timers_.empty() && timers_.top().deadline < wait_until) wait_until = timers_.top().deadline;
  sleeping_.store(true, std::memory_order_seq_cst);
  if (has_incoming_.load(std::memory_order_seq_cst)) {
    sleeping_.store(false, std::memory_order_relaxed);
    io_uring_submit_and_get_events(&ring_);
    return;
  }
  if (wait_until == Clock::time_point::max()) {
    io_uring_submit_and_wait(&ring_, 1);
  } else {
    auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(wait_until - Clock::now()).count();
    if (left < 0) left = 0;
    __kernel_timespec ts{left / 1000000000, left % 1000000000};
    io_uring_cqe* cqe = nullptr;
    io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
  }
  sleeping_.store(false, std::memory_order_relaxed);
}

size_t Reactor::reap() {
  unsigned head;
  unsigned count = 0;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    ++count;
    auto* c = static_cast<Completion*>(io_uring_cqe_get_data(cqe));
    if (c) c->complete(cqe->res, cqe->flags);
  }
  io_uring_cq_advance(&ring_, count);
  return count;
}

size_t Reactor::turn(bool wait, Clock::time_point wait_until) {
  Turning turning(this);
  size_t n = run_tasks();
  n += run_timers();
  run_turn_end();
  flush_outboxes();
  bool busy = !local_.empty() || !turn_end_.empty() || has_incoming_.load(std::memory_order_acquire);
  if (wait && !busy && !stopped()) {
    submit_and_wait(wait_until);
  } else {
    io_uring_submit_and_get_events(&ring_);
  }
  n += reap();
  flush_outboxes();
  return n;
}

void Reactor::run() {
  while (!stopped()) turn(true, Clock::time_point::max());
}

size_t Reactor::run_for(std::chrono::nanoseconds d) {
  auto until = Clock::now() + d;
  size_t n = 0;
  while (!stopped() && Clock::now() < until) n += turn(true, until);
  return n;
}

size_t Reactor::poll() { return turn(false, Clock::time_point::max()); }

size_t Reactor::run_once(std::chrono::nanoseconds max_wait) {
  Turning turning(this);
  size_t n = run_tasks() + run_timers();
  run_turn_end();
  flush_outboxes();
  submit_and_wait(Clock::now() + max_wait);
  n += reap();
  flush_outboxes();
  return n;
}

}  // namespace redcar::runtime
