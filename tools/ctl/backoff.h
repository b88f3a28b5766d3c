// Exponential backoff with jitter for calls that are retried after the
// server went away: 100 ms doubling to 5 s, each wait drawn from
// [d/2, d] so that many clients do not come back in step.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace redcar::ctl {

class Backoff {
 public:
  static constexpr int64_t kInitialMs = 100;
  static constexpr int64_t kMaxMs = 5000;

  Backoff();
  // The next wait; each call doubles the ceiling up to kMaxMs.
  std::chrono::milliseconds next();
  // After a call that got somewhere: start again from kInitialMs.
  void reset() { ceiling_ms_ = kInitialMs; }

 private:
  int64_t ceiling_ms_ = kInitialMs;
  std::mt19937_64 rng_;
};

}  // namespace redcar::ctl
