// The driver: runs one workload's client for a warm-up and then for a
// duration or a number of operations, in a closed loop (every slot issues
// its next operation as soon as the previous one is answered) or an open
// loop (operations are due at a fixed rate whatever the server does).
//
// In the open loop an operation's latency counts from the time it was due,
// not from when a slot was free to send it: when the server stalls, the
// operations that pile up behind the stall carry the wait in their latency
// (no coordinated omission). What is due is a number, not a queue: the i-th
// operation is due at start + i / rate, so a backlog costs no memory.
//
// Counting: an operation belongs to the measured part if it started (was
// due) after the warm-up; its latency goes to the histogram and its events
// and bytes to the totals. Errors are counted whenever they happen, warm-up
// included, each distinct message with its count; past `max_errors` the run
// stops early and says so. A progress line goes to stderr every second.
//
// Threads: run() blocks the calling thread (it paces the open loop); a
// second thread prints progress. done() and error() are called from the
// client's threads; counters are atomics, the open loop's schedule and the
// error messages sit behind a mutex.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "client.h"
#include "histogram.h"

namespace redcar::load {

struct DriverConfig {
  double warmup_s = 1;
  double duration_s = 10;  // when ops == 0
  uint64_t ops = 0;        // measured operations; 0: run for duration_s
  double rate = 0;         // operations per second; 0: closed loop
  uint64_t max_errors = 1000;
  double drain_s = 10;  // how long operations may take to finish after the end
  bool progress = true;
};

struct RunResult {
  Histogram latency;  // nanoseconds
  uint64_t ops = 0;   // measured operations answered
  uint64_t events = 0;
  uint64_t bytes = 0;
  uint64_t warmup_ops = 0;
  double measured_s = 0;  // from the end of the warm-up to the last measured answer
  uint64_t errors = 0;
  std::map<std::string, uint64_t> error_counts;
  uint64_t unsent = 0;  // open loop: operations that were due but never sent
  int slots_lost = 0;   // slots whose connection failed
  bool aborted = false;
  std::string abort_reason;
  double wall_s = 0;        // the whole run, warm-up and drain included
  double client_cpu_s = 0;  // this process's CPU (user + system) over wall_s
};

class Driver final : public Sink {
 public:
  explicit Driver(DriverConfig config) : config_(config) {}

  // Runs `client` (already set up) to the end and stops it.
  RunResult run(Client& client);

  void done(int slot, const OpResult& result) override;
  void error(std::string_view what) override;
  bool measured(int64_t start_ns) const override { return start_ns >= measure_start_ns_; }

 private:
  void start_op(int slot, int64_t start_ns);
  // Closed loop: whether a free slot starts another operation now (false
  // once the duration or the operation count is reached).
  bool may_start(int64_t now);
  void slot_idle();
  int64_t due_time(uint64_t index) const;
  void abort(std::string reason);
  void progress_loop();

  DriverConfig config_;
  Client* client_ = nullptr;
  int slots_ = 0;
  int64_t t0_ns_ = 0;
  int64_t measure_start_ns_ = 0;
  int64_t end_ns_ = 0;  // duration mode: when no new operation starts

  std::vector<int64_t> start_ns_;  // per slot; owned by whoever runs the slot
  AtomicHistogram latency_;
  std::atomic<uint64_t> ops_{0}, events_{0}, bytes_{0}, warmup_ops_{0}, errors_{0};
  std::atomic<uint64_t> measured_started_{0};
  std::atomic<int64_t> last_done_ns_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<int> slots_lost_{0};

  std::mutex mu_;  // guards everything below
  std::condition_variable cv_;           // a slot went idle, or the run stops
  std::condition_variable progress_cv_;  // the run is over
  int busy_ = 0;              // slots with an operation outstanding
  std::vector<int> free_;     // open loop: idle slots
  uint64_t due_ = 0;          // open loop: operations due so far
  uint64_t sent_ = 0;         // open loop: operations sent so far
  uint64_t due_limit_ = 0;    // open loop: operations due in the whole run
  std::map<std::string, uint64_t> error_counts_;
  bool aborted_ = false;
  std::string abort_reason_;
  bool finished_ = false;  // tells the progress thread to end
};

}  // namespace redcar::load
