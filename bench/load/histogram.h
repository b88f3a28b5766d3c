// Latency histogram: log-linear buckets over nanoseconds, so that any value
// it reports is within 0.4% of a value it was given (HdrHistogram's layout,
// written for this tool: Debian ships no C++ HdrHistogram).
//
// Values below 2^kSubBits are counted exactly; above, each power of two
// [2^m, 2^(m+1)) is split into 2^kSubBits equal buckets, so a bucket is at
// most 1/128 of its lower bound wide and its midpoint at most 1/256 away
// from anything in it. The whole uint64 range fits in kBuckets buckets.
//
// Histogram is a plain value (merge, percentiles). AtomicHistogram is the
// one the driver records into from many threads at once (relaxed counters,
// no lock); snapshot() copies it into a Histogram while it keeps counting.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

namespace redcar::load {

inline constexpr int kSubBits = 7;
inline constexpr uint64_t kSubBuckets = 1ull << kSubBits;
inline constexpr int kBuckets = (64 - kSubBits + 1) * static_cast<int>(kSubBuckets);

// The bucket of a value, and the range of values a bucket holds.
int bucket_of(uint64_t value);
uint64_t bucket_low(int bucket);
uint64_t bucket_high(int bucket);  // inclusive
// What the histogram reports for a bucket: its midpoint.
uint64_t bucket_value(int bucket);

class Histogram {
 public:
  Histogram() : counts_(kBuckets, 0) {}

  void record(uint64_t value, uint64_t count = 1);
  void merge(const Histogram& other);

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }  // exact
  uint64_t max() const { return max_; }               // exact
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0; }
  // The smallest recorded value (as its bucket reports it) that at least
  // `fraction` of all values are at or below; 0 when empty. Quantile 1.0 is
  // the exact maximum.
  uint64_t quantile(double fraction) const;

 private:
  friend class AtomicHistogram;
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

class AtomicHistogram {
 public:
  AtomicHistogram();
  void record(uint64_t value);
  Histogram snapshot() const;

 private:
  std::vector<std::atomic<uint64_t>> counts_;
  std::atomic<uint64_t> sum_{0};
  std::atomic<uint64_t> min_{UINT64_MAX};
  std::atomic<uint64_t> max_{0};
};

}  // namespace redcar::load
