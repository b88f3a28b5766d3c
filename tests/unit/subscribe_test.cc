// Subscriptions to one stream through the Engine API: where they start and
// end, catch-up from the log followed by live delivery with no gap and no
// duplicate while a producer appends, slow subscribers that must not hold
// producers back, cancel, and the end of a deleted stream.
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <semaphore>

#include "tests/unit/engine_test_util.h"

namespace redcar {
namespace {

using namespace redcar::test;

// What a subscription delivered. Shared with the handler, which runs on a
// shard thread, so it outlives the engine if need be.
struct Received {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<uint64_t> numbers;
  std::vector<std::string> data;
  size_t batches = 0;
  size_t max_batch = 0;
  bool ended = false;
  Status end_status;
  bool handler_after_end = false;
  bool auto_more = true;
  std::vector<std::function<void()>> held;  // more() calls not made yet

  Subscription::Handler handler(std::shared_ptr<Received> self) {
    return [self](std::vector<EventPtr> evs, std::function<void()> more) {
      bool call_now;
      {
        std::lock_guard lk(self->mu);
        if (self->ended) self->handler_after_end = true;
        self->batches++;
        self->max_batch = std::max(self->max_batch, evs.size());
        for (auto& e : evs) {
          self->numbers.push_back(e->number);
          self->data.push_back(e->payload.data);
        }
        call_now = self->auto_more;
        if (!call_now) self->held.push_back(more);
      }
      self->cv.notify_all();
      if (call_now) more();
    };
  }
  StatusCallback end(std::shared_ptr<Received> self) {
    return [self](Status s) {
      {
        std::lock_guard lk(self->mu);
        EXPECT_FALSE(self->ended) << "end ran twice";
        self->ended = true;
        self->end_status = s;
      }
      self->cv.notify_all();
    };
  }
  template <typename P>
  bool wait(P pred, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, timeout, [&] { return pred(*this); });
  }
  bool wait_count(size_t n) {
    return wait([n](Received& r) { return r.numbers.size() >= n; });
  }
  bool wait_end() {
    return wait([](Received& r) { return r.ended; });
  }
  std::vector<uint64_t> got() {
    std::lock_guard lk(mu);
    return numbers;
  }
  size_t count() {
    std::lock_guard lk(mu);
    return numbers.size();
  }
  // Releases the held more() calls (from this thread).
  size_t release() {
    std::vector<std::function<void()>> fs;
    {
      std::lock_guard lk(mu);
      fs.swap(held);
    }
    for (auto& f : fs) f();
    return fs.size();
  }
};

class SubscribeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    e_ = open_engine(mem_options(fs_));
    ASSERT_TRUE(e_);
  }
  Engine& e() { return *e_; }
  std::shared_ptr<Subscription> subscribe(const std::string& stream, SubscribeOptions opt,
                                          const std::shared_ptr<Received>& r) {
    return e().subscribe(stream, opt, r->handler(r), r->end(r));
  }
  static SubscribeOptions from_number(uint64_t n, std::optional<uint64_t> to = std::nullopt) {
    SubscribeOptions o;
    o.from = SubscribeOptions::From::kNumber;
    o.number = n;
    o.to = to;
    return o;
  }

  io::MemFs fs_;
  std::unique_ptr<Engine> e_;
};

TEST_F(SubscribeTest, FromStartThenLiveThenCancel) {
  ASSERT_TRUE(append(e(), "s", events(10)));
  auto r = std::make_shared<Received>();
  auto sub = subscribe("s", {}, r);
  ASSERT_TRUE(r->wait_count(10));
  ASSERT_TRUE(append(e(), "s", events(5, "live")));
  ASSERT_TRUE(r->wait_count(15));
  EXPECT_EQ(r->got(), range_of(0, 15));
  EXPECT_EQ(r->data[10], "live0");
  sub->cancel();
  ASSERT_TRUE(r->wait_end());
  EXPECT_EQ(r->end_status.code(), Code::kUnavailable);
  ASSERT_TRUE(append(e(), "s", events(5)));
  sleep_ms(30);
  EXPECT_EQ(r->count(), 15u);
  EXPECT_FALSE(r->handler_after_end);
}

TEST_F(SubscribeTest, FromEndSeesOnlyNewEvents) {
  ASSERT_TRUE(append(e(), "s", events(10)));
  auto r = std::make_shared<Received>();
  auto sub = subscribe("s", SubscribeOptions{SubscribeOptions::From::kEnd, 0, std::nullopt}, r);
  ASSERT_TRUE(append(e(), "s", events(3, "new")));
  ASSERT_TRUE(r->wait_count(3));
  sleep_ms(20);
  EXPECT_EQ(r->got(), range_of(10, 13));
  EXPECT_EQ(r->data[0], "new0");
  sub->cancel();
  ASSERT_TRUE(r->wait_end());
}

TEST_F(SubscribeTest, FromNumberAndBeforeTheStreamExists) {
  ASSERT_TRUE(append(e(), "s", events(10)));
  auto r = std::make_shared<Received>();
  auto sub = subscribe("s", from_number(5), r);
  ASSERT_TRUE(r->wait_count(5));
  ASSERT_TRUE(append(e(), "s", events(2)));
  ASSERT_TRUE(r->wait_count(7));
  EXPECT_EQ(r->got(), range_of(5, 12));

  // A stream that does not exist yet: delivery starts with its first event.
  auto later = std::make_shared<Received>();
  auto sub2 = subscribe("later", {}, later);
  // Past the end: waits for the numbers to exist.
  auto ahead = std::make_shared<Received>();
  auto sub3 = subscribe("later", from_number(3), ahead);
  sleep_ms(10);
  EXPECT_EQ(later->count(), 0u);
  ASSERT_TRUE(append(e(), "later", events(2)));
  ASSERT_TRUE(later->wait_count(2));
  EXPECT_EQ(ahead->count(), 0u);
  ASSERT_TRUE(append(e(), "later", events(3)));
  ASSERT_TRUE(later->wait_count(5));
  ASSERT_TRUE(ahead->wait_count(2));
  EXPECT_EQ(later->got(), range_of(0, 5));
  EXPECT_EQ(ahead->got(), range_of(3, 5));
  for (auto& s : {sub, sub2, sub3}) s->cancel();
  ASSERT_TRUE(r->wait_end() && later->wait_end() && ahead->wait_end());
}

TEST_F(SubscribeTest, UpToAnEndNumber) {
  ASSERT_TRUE(append(e(), "s", events(10)));
  auto r = std::make_shared<Received>();
  auto sub = subscribe("s", from_number(2, 6), r);
  ASSERT_TRUE(r->wait_end());
  EXPECT_TRUE(r->end_status.is_ok()) << r->end_status.to_string();
  EXPECT_EQ(r->got(), range_of(2, 7));

  // The end lies in the future: catch up, follow, stop after it.
  auto f = std::make_shared<Received>();
  auto sub2 = subscribe("s", from_number(0, 14), f);
  ASSERT_TRUE(f->wait_count(10));
  EXPECT_FALSE(f->ended);
  ASSERT_TRUE(append(e(), "s", events(3)));
  ASSERT_TRUE(f->wait_count(13));
  EXPECT_FALSE(f->ended);
  ASSERT_TRUE(append(e(), "s", events(5)));  // 13..17: only 13 and 14 wanted
  ASSERT_TRUE(f->wait_end());
  EXPECT_TRUE(f->end_status.is_ok()) << f->end_status.to_string();
  EXPECT_EQ(f->got(), range_of(0, 15));
}

TEST_F(SubscribeTest, SkipsDeletedAndTrimmedEvents) {
  ASSERT_TRUE(append(e(), "s", events(40)));
  auto all = read(e(), "s");
  ASSERT_TRUE(all);
  ASSERT_TRUE(call<uint64_t>([&](auto cb) { e().delete_events("s", {all->events[20].id, all->events[39].id}, cb); }));
  TrimSpec t;
  t.kind = TrimSpec::Kind::kMaxCount;
  t.value = 30;
  ASSERT_TRUE(trim(e(), "s", t));  // first live: 8 (deleted events do not count)
  auto r = std::make_shared<Received>();
  auto sub = subscribe("s", {}, r);
  std::vector<uint64_t> want;
  for (uint64_t n = 8; n < 39; ++n) {
    if (n != 20) want.push_back(n);
  }
  ASSERT_TRUE(r->wait_count(want.size()));
  ASSERT_TRUE(append(e(), "s", events(1)));
  want.push_back(40);
  ASSERT_TRUE(r->wait_count(want.size()));
  EXPECT_EQ(r->got(), want);
  sub->cancel();
  ASSERT_TRUE(r->wait_end());
}

// A producer appends while the subscriber catches up and then follows;
// the subscriber asks for more sometimes at once, sometimes later from
// another thread (a consumer that is slow now and then).
void catch_up_then_live(Engine& e, size_t total, size_t subscribe_after) {
  struct Shared {
    std::mutex mu;
    std::deque<std::function<void()>> delayed;
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> batches{0};
    std::counting_semaphore<32> window{32};  // appends in flight, so batches form
    std::atomic<size_t> acked{0};
    std::atomic<size_t> failed{0};
  };
  auto sh = std::make_shared<Shared>();
  auto r = std::make_shared<Received>();
  std::thread helper([sh] {
    while (!sh->stop) {
      std::function<void()> f;
      {
        std::lock_guard lk(sh->mu);
        if (!sh->delayed.empty()) {
          f = std::move(sh->delayed.front());
          sh->delayed.pop_front();
        }
      }
      std::this_thread::sleep_for(std::chrono::microseconds(f ? 300 : 100));
      if (f) f();
    }
  });
  Subscription::Handler handler = [r, sh](std::vector<EventPtr> evs, std::function<void()> more) {
    {
      std::lock_guard lk(r->mu);
      for (auto& ev : evs) r->numbers.push_back(ev->number);
      r->batches++;
    }
    r->cv.notify_all();
    if (sh->batches++ % 3 == 0) {
      std::lock_guard lk(sh->mu);
      sh->delayed.push_back(std::move(more));
    } else {
      more();
    }
  };
  std::thread producer([&e, sh, total] {
    for (size_t k = 0; k < total; ++k) {
      sh->window.acquire();
      e.append("live", {event("p" + std::to_string(k))}, {}, [sh](Result<AppendResult> res) {
        if (!res) sh->failed++;
        sh->acked++;
        sh->window.release();
      });
    }
  });
  EXPECT_TRUE(eventually([&] { return sh->acked.load() >= subscribe_after; }));
  auto sub = e.subscribe("live", {}, handler, r->end(r));
  producer.join();
  EXPECT_TRUE(eventually([&] { return sh->acked.load() == total; }));
  EXPECT_EQ(sh->failed.load(), 0u);
  bool all = r->wait_count(total);
  sh->stop = true;
  helper.join();
  // Whatever the helper left behind, so that nothing waits on it.
  std::deque<std::function<void()>> left;
  {
    std::lock_guard lk(sh->mu);
    left.swap(sh->delayed);
  }
  for (auto& f : left) f();
  EXPECT_TRUE(all) << "got " << r->count() << " of " << total;
  sleep_ms(10);
  EXPECT_EQ(sequence_errors(r->got(), 0, total), "");
  sub->cancel();
  EXPECT_TRUE(r->wait_end());
}

TEST_F(SubscribeTest, CatchUpThenLiveWithoutGapOrDuplicate) { catch_up_then_live(e(), 5000, 1500); }

TEST_F(SubscribeTest, CatchUpFromDiskThenLive) {
  e_.reset();
  EngineOptions o = mem_options(fs_);
  o.hot_cache_bytes = 0;
  e_ = open_engine(o);
  ASSERT_TRUE(e_);
  catch_up_then_live(e(), 3000, 1000);
}

TEST_F(SubscribeTest, SlowSubscriberDoesNotBlockProducers) {
  ASSERT_TRUE(append(e(), "s", events(5)));
  auto r = std::make_shared<Received>();
  r->auto_more = false;
  auto sub = subscribe("s", {}, r);
  ASSERT_TRUE(r->wait_count(5));
  // It holds its batch; producers carry on regardless.
  auto t0 = std::chrono::steady_clock::now();
  constexpr size_t kTotal = 3000;
  for (size_t k = 5; k < kTotal; k += 25) {
    auto res = append(e(), "s", events(std::min<size_t>(25, kTotal - k), "x"));
    ASSERT_TRUE(res) << res.status().to_string();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  sleep_ms(20);
  {
    std::lock_guard lk(r->mu);
    EXPECT_EQ(r->batches, 1u);
    EXPECT_EQ(r->numbers.size(), 5u);
  }
  // Now it asks again, each time after a pause: everything comes, in order.
  ASSERT_TRUE(eventually(
      [&] {
        r->release();
        return r->count() >= kTotal;
      },
      std::chrono::milliseconds(10000)));
  EXPECT_EQ(sequence_errors(r->got(), 0, kTotal), "");
  EXPECT_LE(r->max_batch, limits::kSubscriberBatchEvents);
  // And it follows live appends again.
  {
    std::lock_guard lk(r->mu);
    r->auto_more = true;
  }
  r->release();
  ASSERT_TRUE(append(e(), "s", events(2)));
  ASSERT_TRUE(eventually([&] {
    r->release();
    return r->count() >= kTotal + 2;
  }));
  EXPECT_EQ(sequence_errors(r->got(), 0, kTotal + 2), "");
  sub->cancel();
  ASSERT_TRUE(r->wait_end());
}

TEST_F(SubscribeTest, CancelWhileHoldingABatch) {
  ASSERT_TRUE(append(e(), "s", events(5)));
  auto r = std::make_shared<Received>();
  r->auto_more = false;
  auto sub = subscribe("s", {}, r);
  ASSERT_TRUE(r->wait_count(5));
  sub->cancel();
  sub->cancel();  // twice: ends once
  ASSERT_TRUE(r->wait_end());
  EXPECT_EQ(r->end_status.code(), Code::kUnavailable);
  r->release();  // asking for more after the end does nothing
  ASSERT_TRUE(append(e(), "s", events(5)));
  sleep_ms(20);
  EXPECT_EQ(r->count(), 5u);
  EXPECT_FALSE(r->handler_after_end);
}

TEST_F(SubscribeTest, DeletingTheStreamEndsItWithNotFound) {
  ASSERT_TRUE(append(e(), "s", events(5)));
  auto live = std::make_shared<Received>();
  auto held = std::make_shared<Received>();
  held->auto_more = false;
  auto sub1 = subscribe("s", {}, live);
  auto sub2 = subscribe("s", {}, held);
  ASSERT_TRUE(live->wait_count(5));
  ASSERT_TRUE(held->wait_count(5));
  auto d = call<bool>([&](auto cb) { e().delete_stream("s", cb); });
  ASSERT_TRUE(d);
  EXPECT_TRUE(*d);
  ASSERT_TRUE(live->wait_end());
  ASSERT_TRUE(held->wait_end());
  EXPECT_EQ(live->end_status.code(), Code::kNotFound);
  EXPECT_EQ(held->end_status.code(), Code::kNotFound);
  held->release();
  // The stream's next life is not theirs.
  ASSERT_TRUE(append(e(), "s", events(3)));
  sleep_ms(20);
  EXPECT_EQ(live->count(), 5u);
  EXPECT_EQ(held->count(), 5u);
  // A new subscriber sees the new life from 0.
  auto fresh = std::make_shared<Received>();
  auto sub3 = subscribe("s", {}, fresh);
  ASSERT_TRUE(fresh->wait_count(3));
  EXPECT_EQ(fresh->got(), range_of(0, 3));
  sub3->cancel();
  ASSERT_TRUE(fresh->wait_end());
}

TEST_F(SubscribeTest, AllStreamsWithAPrefix) {
  std::vector<std::string> xs;
  for (int k = 0; k < 8; ++k) xs.push_back("x/" + std::to_string(k));
  for (auto& s : xs) ASSERT_TRUE(append(e(), s, events(3, s + ":")));
  ASSERT_TRUE(append(e(), "y/0", events(3)));
  struct Seen {
    std::mutex mu;
    std::map<std::string, std::vector<uint64_t>> by_stream;
    size_t total = 0;
    int ends = 0;
    Status end_status;
  };
  auto seen = std::make_shared<Seen>();
  auto sub = e().subscribe_all(
      "x/", true,
      [seen](std::vector<EventPtr> evs, std::function<void()> more) {
        {
          std::lock_guard lk(seen->mu);
          for (auto& ev : evs) {
            seen->by_stream[ev->stream].push_back(ev->number);
            EXPECT_EQ(ev->payload.data, ev->stream + ":" + std::to_string(ev->number % 3));
            seen->total++;
          }
        }
        more();
      },
      [seen](Status st) {
        std::lock_guard lk(seen->mu);
        seen->ends++;
        seen->end_status = st;
      });
  auto total = [&] {
    std::lock_guard lk(seen->mu);
    return seen->total;
  };
  ASSERT_TRUE(eventually([&] { return total() >= 24; })) << total();
  for (auto& s : xs) ASSERT_TRUE(append(e(), s, events(3, s + ":")));
  ASSERT_TRUE(append(e(), "y/0", events(3)));
  ASSERT_TRUE(eventually([&] { return total() >= 48; })) << total();
  sleep_ms(20);
  sub->cancel();
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lk(seen->mu);
    return seen->ends > 0;
  }));
  sleep_ms(20);
  std::lock_guard lk(seen->mu);
  EXPECT_EQ(seen->ends, 1);
  EXPECT_EQ(seen->total, 48u);
  EXPECT_EQ(seen->by_stream.count("y/0"), 0u);
  for (auto& s : xs) EXPECT_EQ(seen->by_stream[s], range_of(0, 6)) << s;
}

TEST_F(SubscribeTest, StoppingTheEngineEndsSubscriptions) {
  ASSERT_TRUE(append(e(), "s", events(5)));
  auto r = std::make_shared<Received>();
  auto sub = subscribe("s", {}, r);
  ASSERT_TRUE(r->wait_count(5));
  e_.reset();
  ASSERT_TRUE(r->wait_end());
  EXPECT_EQ(r->end_status.code(), Code::kUnavailable);
}

}  // namespace
}  // namespace redcar
