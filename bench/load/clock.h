// The one clock of the tool: steady, in nanoseconds. Latencies, send times
// carried inside events and the driver's schedule all use it.
#pragma once

#include <chrono>
#include <cstdint>

namespace redcar::load {

inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace redcar::load
