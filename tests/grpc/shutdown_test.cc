// Stopping the server with calls still open: live Subscribe calls (one of
// them not reading, with most of its stream still to send), joined Consume
// members and an AppendStream the client has not closed all end with an
// error the client sees, rather than hang, and stop() returns within a few
// seconds. New calls then fail.
#include <future>

#include "tests/grpc/grpc_stream_clients.h"

namespace redcar::grpctest {
namespace {

class ShutdownTest : public GrpcTest {
 protected:
  // Runs the server's stop() on another thread and waits for it, generously:
  // a stop that hangs fails the test instead of hanging it.
  ::testing::AssertionResult stop_server(uint32_t grace_ms) {
    auto done = std::async(std::launch::async, [this, grace_ms] { h_.stop_server(grace_ms); });
    if (done.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      done.wait();  // nothing else to do: the harness cannot go on without it
      return ::testing::AssertionFailure() << "stop() took more than 30 s";
    }
    return ::testing::AssertionSuccess();
  }
};

TEST_F(ShutdownTest, StopEndsOpenStreamingCalls) {
  ASSERT_TRUE(fill(stub(), "s", 2000, 1024, 100));
  // A live subscriber, caught up and waiting.
  Subscriber live(stub(), subscribe_stream("s", position(v1::Position::END)));
  ASSERT_TRUE(live.wait_caught_up());
  // One that stopped reading with most of the stream still to come.
  Subscriber stuck(stub(), subscribe_stream("s"));
  ASSERT_TRUE(stuck.wait_events(1));
  stuck.pause();
  // Subscriptions to several streams.
  Subscriber all(stub(), subscribe_all(position(v1::Position::END)));
  // Two members, one holding events it has not acknowledged.
  Member holder(stub()), idle(stub());
  ASSERT_TRUE(holder.join_and_wait(Member::JoinArgs{"s", "g", "holder", true, {}, 0}));
  ASSERT_TRUE(holder.receive(10));
  ASSERT_TRUE(holder.wait_delivered(10));
  ASSERT_TRUE(idle.join_and_wait(Member::JoinArgs{"s", "g", "idle", true, position(v1::Position::END), 0}));
  // An AppendStream the client keeps open.
  grpc::ClientContext append_ctx;
  set_deadline(&append_ctx);
  v1::AppendStreamResponse append_resp;
  auto writer = stub().AppendStream(&append_ctx, &append_resp);
  ASSERT_TRUE(writer->Write(append_request("t", text_events(3))));

  ASSERT_TRUE(stop_server(500));

  for (auto* s : {&live, &stuck, &all}) {
    s->resume();
    ASSERT_TRUE(s->wait_end()) << "a subscription outlived the server";
    EXPECT_FALSE(s->status().ok()) << describe(s->status());
  }
  for (auto* m : {&holder, &idle}) {
    ASSERT_TRUE(m->wait_end()) << "a consume session outlived the server";
    EXPECT_FALSE(m->status().ok()) << describe(m->status());
  }
  auto finish = std::async(std::launch::async, [&] { return writer->Finish(); });
  ASSERT_EQ(finish.wait_for(std::chrono::seconds(20)), std::future_status::ready) << "AppendStream hung";
  grpc::Status st = finish.get();
  EXPECT_FALSE(st.ok()) << describe(st);

  // New calls fail at once.
  auto after = append(stub(), "s", text_events(1));
  EXPECT_EQ(after.code(), grpc::StatusCode::UNAVAILABLE) << describe(after.status);
  // What was acknowledged before is in the engine; nothing is half-written.
  auto r = test::read(h_.engine(), "s", test::numbers_spec(0));
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_EQ(r->events.size(), 2000u);
}

TEST_F(ShutdownTest, StopWithNothingOpenIsQuickAndIdempotent) {
  ASSERT_TRUE(fill(stub(), "s", 10));
  ASSERT_TRUE(stop_server(1000));
  ASSERT_TRUE(stop_server(1000));
  auto after = read(stub(), read_request("s"));
  EXPECT_EQ(after.status.error_code(), grpc::StatusCode::UNAVAILABLE) << describe(after.status);
}

TEST_F(ShutdownTest, UnaryCallsInFlightFinish) {
  // Appends running while the server stops either complete, or fail without
  // writing: whatever a client was told succeeded is there afterwards.
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  std::mutex mu;
  std::map<std::string, uint64_t> acknowledged;  // stream -> events acknowledged
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      auto s = h_.stub();
      std::string stream = "w" + std::to_string(w);
      while (!stop) {
        auto a = append(*s, stream, text_events(5));
        if (!a.ok()) break;
        std::lock_guard lk(mu);
        acknowledged[stream] = a.resp.last_number() + 1;
      }
    });
  }
  ASSERT_TRUE(test::eventually([&] {
    std::lock_guard lk(mu);
    return acknowledged.size() == 4;
  }, std::chrono::seconds(20)));
  ASSERT_TRUE(stop_server(1000));
  stop = true;
  for (auto& t : writers) t.join();
  for (auto& [stream, n] : acknowledged) {
    auto info = test::info(h_.engine(), stream);
    ASSERT_TRUE(info) << info.status().to_string();
    EXPECT_GE(info->next_number, n) << stream;
    EXPECT_EQ(info->next_number % 5, 0u) << stream << ": an append was cut in half";
  }
}

}  // namespace
}  // namespace redcar::grpctest
