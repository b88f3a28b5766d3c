// The latency histogram's bucket layout and quantiles against exact answers.
#include "histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>
#include <vector>

namespace redcar::load {
namespace {

TEST(Histogram, BucketsTileTheRangeWithoutGaps) {
  EXPECT_EQ(bucket_low(0), 0u);
  for (int b = 0; b + 1 < kBuckets; ++b) {
    ASSERT_LE(bucket_low(b), bucket_high(b)) << b;
    ASSERT_EQ(bucket_high(b) + 1, bucket_low(b + 1)) << b;
  }
  EXPECT_EQ(bucket_high(kBuckets - 1), UINT64_MAX);
}

TEST(Histogram, EveryValueFallsInItsBucketWithinTheErrorBound) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200000; ++i) {
    const uint64_t v = rng() >> (rng() % 64);
    const int b = bucket_of(v);
    ASSERT_GE(v, bucket_low(b));
    ASSERT_LE(v, bucket_high(b));
    const double reported = static_cast<double>(bucket_value(b));
    ASSERT_LE(std::fabs(reported - static_cast<double>(v)), static_cast<double>(v) / 256.0 + 0.5) << v;
  }
}

TEST(Histogram, QuantilesMatchASortedListWithinOnePercent) {
  std::mt19937_64 rng(11);
  std::lognormal_distribution<double> latency(std::log(200'000.0), 1.2);  // ns, heavy tail
  std::vector<uint64_t> values;
  Histogram h;
  for (int i = 0; i < 100000; ++i) {
    const auto v = static_cast<uint64_t>(latency(rng));
    values.push_back(v);
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999}) {
    const size_t rank = std::max<size_t>(1, static_cast<size_t>(std::ceil(q * values.size())));
    const double exact = static_cast<double>(values[rank - 1]);
    EXPECT_NEAR(static_cast<double>(h.quantile(q)), exact, exact * 0.01) << q;
  }
  EXPECT_EQ(h.quantile(1.0), values.back());
  EXPECT_EQ(h.max(), values.back());
  EXPECT_EQ(h.min(), values.front());
  EXPECT_EQ(h.count(), values.size());
}

TEST(Histogram, EmptyAndSingle) {
  Histogram h;
  EXPECT_EQ(h.quantile(0.5), 0u);
  EXPECT_EQ(h.min(), 0u);
  h.record(123456789);
  EXPECT_EQ(h.quantile(0.0), 123456789u);  // clamped to the exact extremes
  EXPECT_EQ(h.quantile(0.99), 123456789u);
  EXPECT_EQ(h.max(), 123456789u);
}

TEST(Histogram, MergeAddsUp) {
  Histogram a, b;
  for (uint64_t v = 1; v <= 1000; ++v) (v % 2 ? a : b).record(v * 1000);
  a.merge(b);
  EXPECT_EQ(a.count(), 1000u);
  EXPECT_EQ(a.min(), 1000u);
  EXPECT_EQ(a.max(), 1000000u);
  EXPECT_NEAR(static_cast<double>(a.quantile(0.5)), 500000.0, 5000.0);
}

TEST(AtomicHistogram, CountsFromManyThreads) {
  AtomicHistogram h;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h, t] {
      for (uint64_t i = 0; i < 50000; ++i) h.record(1000 + i + static_cast<uint64_t>(t));
    });
  }
  for (auto& t : threads) t.join();
  const Histogram s = h.snapshot();
  EXPECT_EQ(s.count(), 200000u);
  EXPECT_EQ(s.min(), 1000u);
  EXPECT_EQ(s.max(), 1000u + 49999u + 3u);
}

}  // namespace
}  // namespace redcar::load
