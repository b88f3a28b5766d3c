// Bucket arithmetic and quantiles of the latency histogram (histogram.h).
#include "histogram.h"

#include <bit>
#include <cmath>

namespace redcar::load {

int bucket_of(uint64_t value) {
  if (value < kSubBuckets) return static_cast<int>(value);
  const int msb = 63 - std::countl_zero(value);
  const int shift = msb - kSubBits;
  return (shift + 1) * static_cast<int>(kSubBuckets) + static_cast<int>((value >> shift) - kSubBuckets);
}

uint64_t bucket_low(int bucket) {
  const auto b = static_cast<uint64_t>(bucket);
  if (b < kSubBuckets) return b;
  const uint64_t shift = b / kSubBuckets - 1;
  return (kSubBuckets + b % kSubBuckets) << shift;
}

uint64_t bucket_high(int bucket) {
  const auto b = static_cast<uint64_t>(bucket);
  if (b < kSubBuckets) return b;
  const uint64_t shift = b / kSubBuckets - 1;
  return bucket_low(bucket) + ((1ull << shift) - 1);
}

uint64_t bucket_value(int bucket) {
  const uint64_t low = bucket_low(bucket);
  return low + (bucket_high(bucket) - low) / 2;
}

void Histogram::record(uint64_t value, uint64_t count) {
  if (count == 0) return;
  counts_[bucket_of(value)] += count;
  count_ += count;
  sum_ += value * count;
  if (value < min_) min_ = value;
  if (value > max_) max_ = value;
}

void Histogram::merge(const Histogram& other) {
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  if (other.count_ && other.min_ < min_) min_ = other.min_;
  if (other.max_ > max_) max_ = other.max_;
}

uint64_t Histogram::quantile(double fraction) const {
  if (count_ == 0) return 0;
  if (fraction >= 1.0) return max_;
  if (fraction < 0) fraction = 0;
  auto rank = static_cast<uint64_t>(std::ceil(fraction * static_cast<double>(count_)));
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      // Never report past the exact extremes.
      const uint64_t v = bucket_value(i);
      if (v > max_) return max_;
      if (v < min_) return min_;
      return v;
    }
  }
  return max_;
}

AtomicHistogram::AtomicHistogram() : counts_(kBuckets) {
  for (auto& c : counts_) c.store(0, std::memory_order_relaxed);
}

void AtomicHistogram::record(uint64_t value) {
  counts_[bucket_of(value)].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  uint64_t seen = min_.load(std::memory_order_relaxed);
  while (value < seen && !min_.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
  seen = max_.load(std::memory_order_relaxed);
  while (value > seen && !max_.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

Histogram AtomicHistogram::snapshot() const {
  Histogram h;
  for (int i = 0; i < kBuckets; ++i) {
    const uint64_t c = counts_[i].load(std::memory_order_relaxed);
    h.counts_[i] = c;
    h.count_ += c;
  }
  h.sum_ = sum_.load(std::memory_order_relaxed);
  h.min_ = min_.load(std::memory_order_relaxed);
  h.max_ = max_.load(std::memory_order_relaxed);
  // Taken while recording goes on: the extremes may lead the counts by a
  // value or two, never the other way round in a way that matters.
  if (h.count_ == 0) {
    h.min_ = UINT64_MAX;
    h.max_ = 0;
  }
  return h;
}

}  // namespace redcar::load
