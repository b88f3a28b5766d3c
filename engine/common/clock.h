// The wall clock the engine stamps records with: microseconds and
// milliseconds since the Unix epoch.
#pragma once

#include <chrono>
#include <cstdint>

namespace redcar {

inline int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
inline int64_t now_ms() { return now_us() / 1000; }

}  // namespace redcar
