// The native API over an engine on the real disk (io_uring, O_DIRECT, a
// fresh folder per test): long reads and catch-up that come back from the
// log rather than the hot cache, and what a restart keeps — events, their
// CloudEvent ids (a retry after the restart is still a duplicate), trims,
// consumer groups and each member's pending events.
#include "tests/grpc/grpc_stream_clients.h"

namespace redcar::grpctest {
namespace {

class RealDiskTest : public GrpcTest {
 protected:
  ServerSetup setup() override {
    ServerSetup s;
    s.real_disk = true;
    return s;
  }
  void restart() {
    stub_.reset();
    ASSERT_TRUE(h_.restart());
    stub_ = h_.stub();
  }
};

TEST_F(RealDiskTest, ReadsAndCatchUpFromTheLog) {
  const size_t n = 10000;
  ASSERT_TRUE(fill(stub(), "big", n, 1024, 100));
  auto r = read(stub(), read_request("big"));
  ASSERT_TRUE(r.status.ok()) << describe(r.status);
  EXPECT_EQ(test::sequence_errors(numbers_of(r.events), 0, n), "");
  auto mid = read(stub(), read_request("big", 4321, std::nullopt, 100, true));
  ASSERT_TRUE(mid.status.ok()) << describe(mid.status);
  ASSERT_EQ(mid.events.size(), 100u);
  EXPECT_EQ(mid.events.front().number(), n - 1);
  EXPECT_EQ(mid.events.back().number(), n - 100);

  Subscriber sub(stub(), subscribe_stream("big"));
  ASSERT_TRUE(sub.wait_events(n, std::chrono::seconds(60))) << "received " << sub.count();
  ASSERT_TRUE(sub.wait_caught_up());
  EXPECT_EQ(sub.caught_up_after(), std::vector<size_t>{n});
  ASSERT_TRUE(fill(stub(), "big", 10));
  ASSERT_TRUE(sub.wait_events(n + 10));
  EXPECT_EQ(test::sequence_errors(sub.numbers(), 0, n + 10), "");
}

TEST_F(RealDiskTest, ARestartKeepsEventsIdsTrimsAndGroups) {
  std::vector<ce::CloudEvent> batch = {text_event("a", "t", "id-1"), text_event("b", "t", "id-2")};
  ASSERT_TRUE(fill(stub(), "s", 10));
  auto first = append(stub(), "s", batch);
  ASSERT_TRUE(first.ok()) << describe(first.status);
  v1::TrimRequest t;
  t.set_stream("s");
  t.set_before_number(3);
  auto tr = unary<v1::TrimResponse>(
      [&](grpc::ClientContext* c, const v1::TrimRequest& q, v1::TrimResponse* o) { return stub().Trim(c, q, o); }, t);
  ASSERT_TRUE(tr.ok()) << describe(tr.status);
  {
    Member m(stub());
    ASSERT_TRUE(m.join_and_wait(Member::JoinArgs{"s", "g", "w", true, {}, 600000}));
    ASSERT_TRUE(m.receive(4));
    ASSERT_TRUE(m.wait_delivered(4));
    ASSERT_TRUE(m.ack({3}));
    auto a = m.next_reply();
    ASSERT_TRUE(a && a->has_acked());
    EXPECT_EQ(a->acked().count(), 1u);
  }
  auto before = read(stub(), read_request("s"));
  ASSERT_TRUE(before.status.ok()) << describe(before.status);

  restart();

  auto after = read(stub(), read_request("s"));
  ASSERT_TRUE(after.status.ok()) << describe(after.status);
  ASSERT_EQ(after.events.size(), before.events.size());
  EXPECT_EQ(numbers_of(after.events), range_of(3, 12));
  for (size_t i = 0; i < after.events.size(); ++i) {
    EXPECT_EQ(after.events[i].event().SerializeAsString(), before.events[i].event().SerializeAsString()) << i;
    EXPECT_EQ(after.events[i].redis_id(), before.events[i].redis_id()) << i;
  }
  auto retry = append(stub(), "s", batch);
  ASSERT_TRUE(retry.ok()) << describe(retry.status);
  EXPECT_TRUE(retry.resp.duplicate());
  EXPECT_EQ(retry.resp.first_number(), first.resp.first_number());
  auto next = append(stub(), "s", text_events(1));
  ASSERT_TRUE(next.ok()) << describe(next.status);
  EXPECT_EQ(next.resp.first_number(), 12u);

  auto d = describe_stream(stub(), "s");
  ASSERT_TRUE(d.ok()) << describe(d.status);
  ASSERT_EQ(d.resp.groups_size(), 1);
  EXPECT_EQ(d.resp.groups(0).name(), "g");
  EXPECT_EQ(d.resp.groups(0).pending(), 3u);
  // The member comes back for what it held (events 4, 5, 6), then new ones.
  Member m(stub());
  auto j = m.join_and_wait(Member::JoinArgs{"s", "g", "w", false, {}, 600000});
  ASSERT_TRUE(j);
  EXPECT_EQ(j->pending(), 3u);
  ASSERT_TRUE(m.receive(100));
  ASSERT_TRUE(m.wait_delivered(9));
  ASSERT_TRUE(m.barrier());
  auto got = m.delivered();
  std::vector<uint64_t> nums;
  for (auto& g : got) nums.push_back(g.event().number());
  EXPECT_EQ(nums, (std::vector<uint64_t>{4, 5, 6, 7, 8, 9, 10, 11, 12}));
}

}  // namespace
}  // namespace redcar::grpctest
