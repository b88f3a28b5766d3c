// The driver against an in-process client that answers on its own thread:
// operation counts, the open loop's schedule, errors and lost slots.
#include "driver.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "clock.h"

namespace redcar::load {
namespace {

// Answers each operation after `delay_us` on one thread, in order.
class FakeClient final : public Client {
 public:
  FakeClient(int slots, int delay_us) : slots_(slots), delay_us_(delay_us) {}
  int slots() const override { return slots_; }
  std::string setup(Sink& sink) override {
    sink_ = &sink;
    worker_ = std::thread([this] { loop(); });
    return {};
  }
  void issue(int slot, int64_t start_ns) override {
    std::lock_guard lock(mu_);
    queue_.push_back({slot, now_ns() + int64_t{delay_us_} * 1000});
    ++issued_;
    cv_.notify_one();
  }
  void stop() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      cv_.notify_one();
    }
    worker_.join();
  }
  // Every n-th answer is an error; with fatal, it also loses the slot.
  int error_every = 0;
  bool fatal = false;
  uint64_t issued() {
    std::lock_guard lock(mu_);
    return issued_;
  }

 private:
  void loop() {
    uint64_t n = 0;
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      auto [slot, due] = queue_.front();
      queue_.pop_front();
      lock.unlock();
      while (now_ns() < due) std::this_thread::yield();
      OpResult r;
      r.events = 3;
      r.bytes = 10;
      if (error_every > 0 && ++n % static_cast<uint64_t>(error_every) == 0) {
        r.ok = false;
        r.fatal = fatal;
        r.error = "boom";
      }
      sink_->done(slot, r);
      lock.lock();
    }
  }

  int slots_, delay_us_;
  Sink* sink_ = nullptr;
  std::thread worker_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<int, int64_t>> queue_;
  bool stop_ = false;
  uint64_t issued_ = 0;
};

DriverConfig quiet(DriverConfig c) {
  c.progress = false;
  return c;
}

TEST(Driver, ClosedLoopRunsExactlyTheOperationsAskedFor) {
  FakeClient client(8, 50);
  Driver driver(quiet({.warmup_s = 0, .ops = 2000}));
  ASSERT_EQ(client.setup(driver), "");
  const RunResult r = driver.run(client);
  EXPECT_EQ(r.ops, 2000u);
  EXPECT_EQ(r.events, 6000u);
  EXPECT_EQ(r.bytes, 20000u);
  EXPECT_EQ(r.errors, 0u);
  EXPECT_EQ(client.issued(), 2000u);
  EXPECT_EQ(r.latency.count(), 2000u);
  EXPECT_GE(r.latency.min(), 50'000u);  // never less than the server took
  EXPECT_FALSE(r.aborted);
}

TEST(Driver, ClosedLoopByDurationSeparatesTheWarmUp) {
  FakeClient client(4, 100);
  Driver driver(quiet({.warmup_s = 0.2, .duration_s = 0.3}));
  ASSERT_EQ(client.setup(driver), "");
  const RunResult r = driver.run(client);
  EXPECT_GT(r.warmup_ops, 0u);
  EXPECT_GT(r.ops, 0u);
  EXPECT_GE(r.measured_s, 0.29);
  EXPECT_EQ(r.ops + r.warmup_ops, client.issued());
}

TEST(Driver, OpenLoopKeepsTheRate) {
  FakeClient client(16, 100);
  Driver driver(quiet({.warmup_s = 0, .ops = 1000, .rate = 5000}));
  ASSERT_EQ(client.setup(driver), "");
  const RunResult r = driver.run(client);
  EXPECT_EQ(r.ops, 1000u);
  EXPECT_GE(r.measured_s, 0.199);  // the last one is due at 0.2 s: never sooner
  EXPECT_EQ(r.unsent, 0u);
}

TEST(Driver, OpenLoopLatencyCountsFromWhenAnOperationWasDue) {
  // One slot, 1 ms per answer, due every 0.5 ms: the server keeps half the
  // pace, so operations wait longer and longer behind each other. Measured
  // from the send, every latency would be ~1 ms.
  FakeClient client(1, 1000);
  Driver driver(quiet({.warmup_s = 0, .ops = 200, .rate = 2000}));
  ASSERT_EQ(client.setup(driver), "");
  const RunResult r = driver.run(client);
  EXPECT_EQ(r.ops, 200u);
  // The i-th is answered no sooner than (i + 1) ms in and was due at i / 2
  // ms: the last waited at least ~100 ms, the median at least ~50 ms.
  EXPECT_GE(r.latency.max(), 99'000'000u);
  EXPECT_GE(r.latency.quantile(0.5), 49'000'000u);
}

TEST(Driver, ErrorsAreCountedByMessageAndStopTheRunPastTheLimit) {
  FakeClient client(4, 10);
  client.error_every = 10;
  Driver driver(quiet({.warmup_s = 0, .ops = 1000, .max_errors = 0}));
  ASSERT_EQ(client.setup(driver), "");
  RunResult r = driver.run(client);
  EXPECT_EQ(r.errors, 100u);
  EXPECT_EQ(r.error_counts["boom"], 100u);
  EXPECT_FALSE(r.aborted);

  FakeClient client2(4, 10);
  client2.error_every = 2;
  Driver driver2(quiet({.warmup_s = 0, .ops = 100000, .max_errors = 20}));
  ASSERT_EQ(client2.setup(driver2), "");
  r = driver2.run(client2);
  EXPECT_TRUE(r.aborted);
  EXPECT_LT(r.ops, 1000u);
}

TEST(Driver, LostSlotsAreNotUsedAgain) {
  FakeClient client(4, 10);
  client.error_every = 1;
  client.fatal = true;
  Driver driver(quiet({.warmup_s = 0, .ops = 1000, .max_errors = 0}));
  ASSERT_EQ(client.setup(driver), "");
  const RunResult r = driver.run(client);
  EXPECT_EQ(r.slots_lost, 4);
  EXPECT_EQ(client.issued(), 4u);
  EXPECT_TRUE(r.aborted);  // every connection failed
}

}  // namespace
}  // namespace redcar::load
