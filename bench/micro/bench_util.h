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
class TempDir {
 public:
  explicit TempDir(const char* prefix) {
    const char* base = std::getenv("REDCAR_BENCH_DIR");
    std::string root = base && *base ? base : ".";
    std::filesystem::create_directories(root);
    std::string tmpl = root + "/" + prefix + "-XXXXXX";
    if (!::mkdtemp(tmpl.data())) {
      std::perror("mkdtemp");
      std::abort();
    }
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace redcar::bench
