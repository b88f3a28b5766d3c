// What was slow: the slow log (SLOWLOG, commands that took at least
// `slowlog-log-slower-than` microseconds, with their arguments and client)
// and the latency monitor (LATENCY, the events that took at least
// `latency-monitor-threshold` milliseconds, by event name, with a history of
// the last 160 per event). Both are touched only when something was slow,
// so each keeps its entries under a mutex; their settings are atomics read
// on every command.
//
// A command's time runs from when it is dispatched to when its reply is
// complete: for a write that includes waiting for the disk, which is what
// an event store's user wants to find in it (Redis, whose writes do not
// wait, times only the execution). A blocking read's wait is not counted.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace redcar::resp {

// Redis's bounds on what an entry shows of a command: at most 32 arguments
// (the last saying how many more there were), each cut at 128 bytes (saying
// how many more there were). Reply::start() keeps them so.
inline constexpr size_t kSlowlogMaxArgs = 32;
inline constexpr size_t kSlowlogMaxArgBytes = 128;

class Slowlog {
 public:
  struct Entry {
    uint64_t id = 0;
    int64_t unix_seconds = 0;
    uint64_t usec = 0;
    std::vector<std::string> args;
    std::string peer;
    std::string name;
  };

  // <0: off; 0: every command.
  std::atomic<int64_t> slower_than_usec{10000};
  std::atomic<int64_t> max_len{128};

  bool logs(uint64_t usec) const {
    int64_t t = slower_than_usec.load(std::memory_order_relaxed);
    return t >= 0 && usec >= static_cast<uint64_t>(t);
  }
  // Keeps `e` (its id is given here), dropping the oldest past max_len.
  void add(Entry e);
  // The newest `count` entries, newest first (count < 0: all).
  std::vector<Entry> latest(int64_t count) const;
  size_t size() const;
  void reset();

 private:
  mutable std::mutex mu_;
  std::deque<Entry> entries_;  // newest first
  uint64_t next_id_ = 0;
};

class LatencyMonitor {
 public:
  struct Sample {
    int64_t unix_seconds = 0;
    uint64_t ms = 0;
  };
  struct Event {
    std::deque<Sample> history;  // oldest first, at most kHistory
    uint64_t max_ms = 0;
  };
  static constexpr size_t kHistory = 160;

  // 0: off.
  std::atomic<int64_t> threshold_ms{0};

  bool monitors(uint64_t ms) const {
    int64_t t = threshold_ms.load(std::memory_order_relaxed);
    return t > 0 && ms >= static_cast<uint64_t>(t);
  }
  // An event of `ms` milliseconds; samples of the same second are merged,
  // keeping the largest, as Redis does.
  void add(const std::string& event, uint64_t ms);
  std::map<std::string, Event> events() const;
  // Forgets the named events (all when empty); how many there were.
  size_t reset(const std::vector<std::string>& names);

 private:
  mutable std::mutex mu_;
  std::map<std::string, Event> events_;
};

}  // namespace redcar::resp
