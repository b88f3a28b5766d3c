// What the micro benchmarks share: smoke mode and sizes from the
// environment, failure reporting, and a temporary data folder on the disk
// under test.
#pragma once

#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "engine/common/limits.h"
#include "tests/support/temp_dir.h"

namespace redcar::bench {

inline constexpr uint64_t kMiB = 1ull << 20;

// REDCAR_BENCH_SMOKE=1: tiny sizes, so that the test suite can run every
// benchmark in seconds and they cannot rot.
inline bool smoke() {
  const char* v = std::getenv("REDCAR_BENCH_SMOKE");
  return v && std::string(v) == "1";
}

inline uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  unsigned long long n = std::strtoull(v, &end, 10);
  return (end && *end == '\0') ? n : fallback;
}

// Set when any benchmark fails: main() exits non-zero (Google Benchmark
// alone only marks the run as skipped).
inline bool g_failed = false;

inline void fail(benchmark::State& state, const std::string& why) {
  g_failed = true;
  state.SkipWithError(why.c_str());
}

inline uint64_t segment_bytes() {
  if (smoke()) return 4 * kMiB;
  return env_u64("REDCAR_BENCH_SEGMENT_MB", limits::kDefaultSegmentBytes / kMiB) * kMiB;
}

// A fresh folder under REDCAR_BENCH_DIR (default: the current directory, so
// that the data lands on a real disk rather than a tmpfs), removed with it.
// A benchmark's folder, on the disk it measures: $REDCAR_BENCH_DIR (default
// the working folder), removed at the end.
class TempDir : public test::TempDir {
 public:
  explicit TempDir(const char* prefix) : test::TempDir(prefix, root()) {
    if (!ok()) {
      std::perror("mkdtemp");
      std::abort();
    }
  }

 private:
  static std::string root() {
    const char* base = std::getenv("REDCAR_BENCH_DIR");
    return base && *base ? base : ".";
  }
};

}  // namespace redcar::bench
