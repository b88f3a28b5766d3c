// Backoff: doubling ceiling, wait drawn uniformly from its upper half.
#include "tools/ctl/backoff.h"

#include <algorithm>

namespace redcar::ctl {

Backoff::Backoff() : rng_(std::random_device{}()) {}

std::chrono::milliseconds Backoff::next() {
  int64_t ceiling = ceiling_ms_;
  ceiling_ms_ = std::min(kMaxMs, ceiling_ms_ * 2);
  std::uniform_int_distribution<int64_t> pick(ceiling / 2, ceiling);
  return std::chrono::milliseconds(pick(rng_));
}

}  // namespace redcar::ctl
