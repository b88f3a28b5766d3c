// Events.Subscribe: one stream's history then live events under a producer
// (every number once, in order, caught_up once where the history ends);
// starting at the end or at a number; `to` ending the call; prefix and
// all-stream subscriptions; the requests it refuses; and a subscriber that
// stops reading while thousands of events are written, served in full once
// it reads again while other clients are served meanwhile.
#include <thread>

#include "tests/grpc/grpc_stream_clients.h"

namespace redcar::grpctest {
namespace {

using Pos = v1::Position;

class SubscribeTest : public GrpcTest {};

TEST_F(SubscribeTest, CatchUpThenLiveUnderAProducer) {
  const size_t history = 3000, live = 3000;
  ASSERT_TRUE(fill(stub(), "s", history, 64, 100));
  std::atomic<bool> producer_failed{false};
  auto producer_stub = h_.stub();
  std::thread producer([&] {
    // Small appends, so that many land while the subscriber catches up.
    for (size_t i = 0; i < live; i += 10) {
      if (!append(*producer_stub, "s", text_events(10, "live")).ok()) producer_failed = true;
    }
  });
  Subscriber sub(stub(), subscribe_stream("s"));
  bool got_all = sub.wait_events(history + live, std::chrono::seconds(60));
  producer.join();
  ASSERT_FALSE(producer_failed);
  ASSERT_TRUE(got_all) << "received " << sub.count();
  EXPECT_EQ(test::sequence_errors(sub.numbers(), 0, history + live), "");
  // caught_up once, after at least what was written before the call began.
  auto cu = sub.caught_up_after();
  ASSERT_EQ(cu.size(), 1u);
  EXPECT_GE(cu[0], history);
  EXPECT_LE(cu[0], history + live);
  EXPECT_FALSE(sub.ended()) << describe(sub.status());
}

TEST_F(SubscribeTest, CaughtUpMarksTheEndOfTheHistory) {
  // The subscriber stops reading right after its first message, so that
  // events appended then wait in the log behind the rest of the history:
  // the message that says caught_up must end with the last event of the
  // history, the live ones after it.
  const size_t history = 5000, live = 100;
  ASSERT_TRUE(fill(stub(), "s", history, 1024, 100));
  Subscriber sub(stub(), subscribe_stream("s"));
  ASSERT_TRUE(sub.wait_events(1));
  sub.pause();
  ASSERT_TRUE(fill(stub(), "s", live, 1024, 10));
  sub.resume();
  ASSERT_TRUE(sub.wait_events(history + live, std::chrono::seconds(60))) << "received " << sub.count();
  EXPECT_EQ(test::sequence_errors(sub.numbers(), 0, history + live), "");
  EXPECT_EQ(sub.caught_up_after(), std::vector<size_t>{history});
}

TEST_F(SubscribeTest, AnEmptyOrMissingStreamIsCaughtUpAtOnce) {
  Subscriber sub(stub(), subscribe_stream("later"));
  ASSERT_TRUE(sub.wait_caught_up());
  EXPECT_EQ(sub.count(), 0u);
  ASSERT_TRUE(fill(stub(), "later", 5));
  ASSERT_TRUE(sub.wait_events(5));
  EXPECT_EQ(sub.numbers(), range_of(0, 5));
  EXPECT_EQ(sub.caught_up_after(), std::vector<size_t>{0});
}

TEST_F(SubscribeTest, FromTheEnd) {
  ASSERT_TRUE(fill(stub(), "s", 10));
  Subscriber sub(stub(), subscribe_stream("s", position(Pos::END)));
  ASSERT_TRUE(sub.wait_caught_up());
  EXPECT_EQ(sub.count(), 0u);
  ASSERT_TRUE(fill(stub(), "s", 3));
  ASSERT_TRUE(sub.wait_events(3));
  EXPECT_EQ(sub.numbers(), range_of(10, 13));
  // The first of the new batch (fill() numbers its texts from 0).
  EXPECT_EQ(sub.events()[0].event().text_data().rfind("0:", 0), 0u);
}

TEST_F(SubscribeTest, FromANumber) {
  ASSERT_TRUE(fill(stub(), "s", 10));
  Subscriber mid(stub(), subscribe_stream("s", position(Pos::NUMBER, 4)));
  ASSERT_TRUE(mid.wait_events(6));
  ASSERT_TRUE(mid.wait_caught_up());
  EXPECT_EQ(mid.caught_up_after(), std::vector<size_t>{6});
  // Past the end: caught up at once, then only numbers from 15 on.
  Subscriber ahead(stub(), subscribe_stream("s", position(Pos::NUMBER, 15)));
  ASSERT_TRUE(ahead.wait_caught_up());
  ASSERT_TRUE(fill(stub(), "s", 10));
  ASSERT_TRUE(mid.wait_events(16));
  ASSERT_TRUE(ahead.wait_events(5));
  EXPECT_EQ(mid.numbers(), range_of(4, 20));
  EXPECT_EQ(ahead.numbers(), range_of(15, 20));
}

TEST_F(SubscribeTest, ToEndsTheCallAfterThatEvent) {
  ASSERT_TRUE(fill(stub(), "s", 10));
  // Within the history.
  Subscriber past(stub(), subscribe_stream("s", position(Pos::NUMBER, 2), 6));
  ASSERT_TRUE(past.wait_end());
  EXPECT_TRUE(past.status().ok()) << describe(past.status());
  EXPECT_EQ(past.numbers(), range_of(2, 7));

  // In the future: history, then live events up to `to`, then the end.
  Subscriber future(stub(), subscribe_stream("s", {}, 14));
  ASSERT_TRUE(future.wait_events(10));
  ASSERT_TRUE(fill(stub(), "s", 3));
  ASSERT_TRUE(future.wait_events(13));
  EXPECT_FALSE(future.ended());
  ASSERT_TRUE(fill(stub(), "s", 5));  // 13..17: only 13 and 14 wanted
  ASSERT_TRUE(future.wait_end());
  EXPECT_TRUE(future.status().ok()) << describe(future.status());
  EXPECT_EQ(future.numbers(), range_of(0, 15));
}

TEST_F(SubscribeTest, ManySubscribersOfOneStream) {
  // Subscribers from the start and from the end, all started before a
  // producer writes: every one sees every number once, in order, with
  // caught_up where its history ends; cancelling some leaves the rest.
  const size_t history = 1000, live = 1000;
  ASSERT_TRUE(fill(stub(), "s", history, 64, 100));
  std::vector<std::unique_ptr<Subscriber>> from_start, from_end;
  for (int i = 0; i < 8; ++i) from_start.push_back(std::make_unique<Subscriber>(stub(), subscribe_stream("s")));
  for (int i = 0; i < 4; ++i) {
    from_end.push_back(std::make_unique<Subscriber>(stub(), subscribe_stream("s", position(Pos::END))));
  }
  for (auto& sub : from_end) ASSERT_TRUE(sub->wait_caught_up());
  ASSERT_TRUE(fill(stub(), "s", live, 10, 100));
  for (size_t i = 0; i < from_start.size(); ++i) {
    SCOPED_TRACE("from the start, subscriber " + std::to_string(i));
    Subscriber& sub = *from_start[i];
    ASSERT_TRUE(sub.wait_events(history + live, std::chrono::seconds(60))) << "received " << sub.count();
    EXPECT_EQ(test::sequence_errors(sub.numbers(), 0, history + live), "");
    auto cu = sub.caught_up_after();
    ASSERT_EQ(cu.size(), 1u);
    EXPECT_GE(cu[0], history);
  }
  for (size_t i = 0; i < from_end.size(); ++i) {
    SCOPED_TRACE("from the end, subscriber " + std::to_string(i));
    Subscriber& sub = *from_end[i];
    ASSERT_TRUE(sub.wait_events(live, std::chrono::seconds(60))) << "received " << sub.count();
    EXPECT_EQ(sub.numbers(), range_of(history, history + live));
    EXPECT_EQ(sub.caught_up_after(), std::vector<size_t>{0});
  }
  for (size_t i = 0; i < from_start.size(); i += 2) from_start[i]->cancel();
  for (size_t i = 0; i < from_start.size(); i += 2) ASSERT_TRUE(from_start[i]->wait_end());
  ASSERT_TRUE(fill(stub(), "s", 50));
  for (size_t i = 1; i < from_start.size(); i += 2) {
    SCOPED_TRACE("after the cancels, subscriber " + std::to_string(i));
    ASSERT_TRUE(from_start[i]->wait_events(history + live + 50));
    EXPECT_EQ(test::sequence_errors(from_start[i]->numbers(), 0, history + live + 50), "");
    EXPECT_FALSE(from_start[i]->ended()) << describe(from_start[i]->status());
  }
  for (size_t i = 0; i < from_start.size(); i += 2) {
    EXPECT_EQ(from_start[i]->status().error_code(), grpc::StatusCode::CANCELLED) << describe(from_start[i]->status());
  }
}

TEST_F(SubscribeTest, PrefixAndAllStreams) {
  // Names spread over both shards.
  const std::vector<std::string> mine = {"p/a", "p/b", "p/c", "p/d"}, others = {"q/x", "r"};
  for (auto& s : mine) ASSERT_TRUE(fill(stub(), s, 20));
  for (auto& s : others) ASSERT_TRUE(fill(stub(), s, 20));
  Subscriber prefix(stub(), subscribe_prefix("p/"));
  Subscriber all(stub(), subscribe_all());
  Subscriber prefix_end(stub(), subscribe_prefix("p/", position(Pos::END)));
  Subscriber all_end(stub(), subscribe_all(position(Pos::END)));
  // The END subscriptions say caught_up once they follow every shard: what
  // is appended after that is theirs.
  ASSERT_TRUE(prefix_end.wait_caught_up());
  ASSERT_TRUE(all_end.wait_caught_up());

  for (int round = 0; round < 3; ++round) {
    for (auto& s : mine) ASSERT_TRUE(fill(stub(), s, 10));
    for (auto& s : others) ASSERT_TRUE(fill(stub(), s, 10));
  }
  for (auto& s : mine) {
    SCOPED_TRACE(s);
    ASSERT_TRUE(prefix.wait_stream_events(s, 50));
    ASSERT_TRUE(all.wait_stream_events(s, 50));
    ASSERT_TRUE(prefix_end.wait_stream_events(s, 30));
    ASSERT_TRUE(all_end.wait_stream_events(s, 30));
  }
  for (auto& s : others) {
    SCOPED_TRACE(s);
    ASSERT_TRUE(all.wait_stream_events(s, 50));
    ASSERT_TRUE(all_end.wait_stream_events(s, 30));
  }

  auto check = [&](Subscriber& sub, bool from_start, bool sees_others) {
    auto got = sub.per_stream();
    for (auto& s : mine) {
      EXPECT_EQ(got[s], from_start ? range_of(0, 50) : range_of(20, 50)) << s;
    }
    for (auto& s : others) {
      if (sees_others) {
        EXPECT_EQ(got[s], from_start ? range_of(0, 50) : range_of(20, 50)) << s;
      } else {
        EXPECT_EQ(got.count(s), 0u) << s;
      }
    }
    for (auto& [name, numbers] : got) {
      if (!sees_others) {
        EXPECT_EQ(name.rfind("p/", 0), 0u) << name;
      }
      for (size_t i = 1; i < numbers.size(); ++i) {
        EXPECT_EQ(numbers[i], numbers[i - 1] + 1) << name << " out of order at " << i;
      }
    }
    // From the beginning no caught_up for several streams; from the end one,
    // before any event.
    if (from_start) {
      EXPECT_TRUE(sub.caught_up_after().empty());
    } else {
      EXPECT_EQ(sub.caught_up_after(), std::vector<size_t>{0});
    }
  };
  {
    SCOPED_TRACE("prefix from the beginning");
    check(prefix, true, false);
  }
  {
    SCOPED_TRACE("all from the beginning");
    check(all, true, true);
  }
  {
    SCOPED_TRACE("prefix from the end");
    check(prefix_end, false, false);
  }
  {
    SCOPED_TRACE("all from the end");
    check(all_end, false, true);
  }
}

TEST_F(SubscribeTest, RequestsItRefuses) {
  struct Case {
    std::string what;
    v1::SubscribeRequest req;
  };
  std::vector<Case> cases;
  cases.push_back({"prefix from a number", subscribe_prefix("p/", position(Pos::NUMBER, 3))});
  cases.push_back({"all from a number", subscribe_all(position(Pos::NUMBER, 0))});
  auto with_to = subscribe_prefix("p/");
  with_to.set_to(5);
  cases.push_back({"prefix with to", with_to});
  v1::SubscribeRequest all_false;
  all_false.set_all(false);
  cases.push_back({"all false", all_false});
  cases.push_back({"no target", v1::SubscribeRequest()});
  cases.push_back({"to below the start", subscribe_stream("s", position(Pos::NUMBER, 10), 5)});
  auto bad_kind = subscribe_stream("s");
  bad_kind.mutable_from()->set_kind(static_cast<Pos::Kind>(9));
  cases.push_back({"position kind 9", bad_kind});
  auto bad_kind_all = subscribe_all();
  bad_kind_all.mutable_from()->set_kind(static_cast<Pos::Kind>(9));
  cases.push_back({"position kind 9, all streams", bad_kind_all});
  cases.push_back({"empty stream name", subscribe_stream("")});
  for (auto& c : cases) {
    SCOPED_TRACE(c.what);
    Subscriber sub(stub(), c.req);
    ASSERT_TRUE(sub.wait_end());
    EXPECT_EQ(sub.status().error_code(), grpc::StatusCode::INVALID_ARGUMENT) << describe(sub.status());
    EXPECT_FALSE(sub.status().error_message().empty());
    EXPECT_EQ(sub.count(), 0u);
  }
}

TEST_F(SubscribeTest, ASubscriberThatStopsReadingGetsEverythingLater) {
  Subscriber slow(stub(), subscribe_stream("s"));
  ASSERT_TRUE(slow.wait_caught_up());
  slow.pause();
  // 20,000 events of 1 KiB (20 MiB, far more than the transport buffers or
  // the hot cache holds) while it does not read. The producer and other
  // clients are served all along.
  const size_t n = 20000;
  auto other = h_.stub();
  for (size_t done = 0; done < n; done += 1000) {
    ASSERT_TRUE(fill(stub(), "s", 1000, 1024, 100)) << "after " << done;
    auto a = append(*other, "elsewhere", text_events(1));
    ASSERT_TRUE(a.ok()) << describe(a.status);
    auto r = read(*other, read_request("s", done, done + 9));
    ASSERT_TRUE(r.status.ok()) << describe(r.status);
    EXPECT_EQ(numbers_of(r.events), range_of(done, done + 10));
  }
  Subscriber quick(*other, subscribe_stream("s", position(Pos::NUMBER, n - 5)));
  ASSERT_TRUE(quick.wait_events(5));
  EXPECT_EQ(quick.numbers(), range_of(n - 5, n));
  EXPECT_LT(slow.count(), n) << "the paused subscriber read on";

  slow.resume();
  ASSERT_TRUE(slow.wait_events(n, std::chrono::seconds(120))) << "received " << slow.count();
  EXPECT_EQ(test::sequence_errors(slow.numbers(), 0, n), "");
  auto evs = slow.events();
  for (size_t i = 0; i < n; i += 1999) {
    const auto& t = evs[i].event().text_data();
    EXPECT_EQ(t.size(), 1024u);
    EXPECT_EQ(t.substr(0, t.find(':')), std::to_string(i % 1000));
  }
  EXPECT_FALSE(slow.ended()) << describe(slow.status());
}

TEST_F(SubscribeTest, CancelledByTheClient) {
  ASSERT_TRUE(fill(stub(), "s", 3));
  auto sub = std::make_unique<Subscriber>(stub(), subscribe_stream("s"));
  ASSERT_TRUE(sub->wait_events(3));
  sub->cancel();
  ASSERT_TRUE(sub->wait_end());
  EXPECT_EQ(sub->status().error_code(), grpc::StatusCode::CANCELLED) << describe(sub->status());
  sub.reset();
  // The server goes on serving the stream.
  ASSERT_TRUE(fill(stub(), "s", 3));
  Subscriber again(stub(), subscribe_stream("s"));
  ASSERT_TRUE(again.wait_events(6));
  EXPECT_EQ(again.numbers(), range_of(0, 6));
}

}  // namespace
}  // namespace redcar::grpctest
