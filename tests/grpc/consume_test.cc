// Consumer groups: CreateGroup and DeleteGroup, and Consume sessions —
// joining, credit (never more delivered than granted), acks, events split
// between members, redelivery when a member dies or stays silent past its
// ack timeout, Nack, Claim, a member rejoining under its name, and the
// requests a session refuses.
#include <set>
#include <thread>

#include "frontends/grpc/consume_session.h"
#include "tests/grpc/grpc_stream_clients.h"

namespace redcar::grpctest {
namespace {

using Pos = v1::Position;

// Events given back (by a member that leaves, or with Nack) are claimed by
// another member at once. The ack timeouts in those tests are long, so the
// only other way they could come is the periodic look for idle events, up to
// kMaxClaimPeriodMs later: waiting less than that tells the two apart.
constexpr std::chrono::milliseconds kGivenBackWithin{grpcfe::kMaxClaimPeriodMs * 4 / 5};

class ConsumeTest : public GrpcTest {
 protected:
  Answer<v1::CreateGroupResponse> create_group(const std::string& stream, const std::string& group,
                                               v1::Position from = {}, bool create_stream = false) {
    v1::CreateGroupRequest req;
    req.set_stream(stream);
    req.set_group(group);
    *req.mutable_from() = from;
    req.set_create_stream(create_stream);
    return unary<v1::CreateGroupResponse>(
        [&](grpc::ClientContext* c, const v1::CreateGroupRequest& r, v1::CreateGroupResponse* o) {
          return stub().CreateGroup(c, r, o);
        },
        req);
  }
  Answer<v1::DeleteGroupResponse> delete_group(const std::string& stream, const std::string& group) {
    v1::DeleteGroupRequest req;
    req.set_stream(stream);
    req.set_group(group);
    return unary<v1::DeleteGroupResponse>(
        [&](grpc::ClientContext* c, const v1::DeleteGroupRequest& r, v1::DeleteGroupResponse* o) {
          return stub().DeleteGroup(c, r, o);
        },
        req);
  }
  std::optional<v1::GroupDescription> group_of(const std::string& stream, const std::string& group) {
    auto d = describe_stream(stub(), stream);
    EXPECT_TRUE(d.ok()) << describe(d.status);
    for (auto& g : d.resp.groups()) {
      if (g.name() == group) return g;
    }
    return std::nullopt;
  }
  static Member::JoinArgs args(const std::string& consumer, uint32_t ack_timeout_ms = 0, bool create = true,
                               v1::Position from = {}) {
    return Member::JoinArgs{"s", "g", consumer, create, from, ack_timeout_ms};
  }
  // Waits for the answer to an ack or nack and returns its count.
  static std::optional<uint64_t> acked(Member& m) {
    auto r = m.next_reply();
    if (!r) return std::nullopt;
    if (r->has_acked()) return r->acked().count();
    if (r->has_nacked()) return r->nacked().count();
    ADD_FAILURE() << "not an ack answer: " << r->ShortDebugString();
    return std::nullopt;
  }
};

std::vector<uint64_t> numbers(const std::vector<v1::GroupEvent>& evs) {
  std::vector<uint64_t> out;
  for (auto& g : evs) out.push_back(g.event().number());
  return out;
}

TEST_F(ConsumeTest, CreateAndDeleteGroups) {
  auto missing = create_group("s", "g");
  EXPECT_EQ(missing.code(), grpc::StatusCode::NOT_FOUND) << describe(missing.status);
  EXPECT_EQ(stream_length(stub(), "s"), -1);

  auto made = create_group("s", "g", {}, true);
  ASSERT_TRUE(made.ok()) << describe(made.status);
  EXPECT_TRUE(made.resp.created());
  EXPECT_EQ(stream_length(stub(), "s"), 0) << "create_stream makes an empty stream";
  auto again = create_group("s", "g");
  ASSERT_TRUE(again.ok()) << describe(again.status);
  EXPECT_FALSE(again.resp.created());
  auto other = create_group("s", "h", position(Pos::END));
  ASSERT_TRUE(other.ok()) << describe(other.status);
  EXPECT_TRUE(other.resp.created());
  ASSERT_TRUE(group_of("s", "g"));
  ASSERT_TRUE(group_of("s", "h"));

  auto del = delete_group("s", "g");
  ASSERT_TRUE(del.ok()) << describe(del.status);
  EXPECT_TRUE(del.resp.existed());
  auto del2 = delete_group("s", "g");
  ASSERT_TRUE(del2.ok()) << describe(del2.status);
  EXPECT_FALSE(del2.resp.existed());
  EXPECT_FALSE(group_of("s", "g"));
  EXPECT_TRUE(group_of("s", "h"));

  // A group created at a position starts there.
  ASSERT_TRUE(fill(stub(), "t", 10));
  for (auto [name, from, first] : {std::tuple{"begin", position(Pos::BEGINNING), 0u},
                                   std::tuple{"end", position(Pos::END), 10u},
                                   std::tuple{"at4", position(Pos::NUMBER, 4), 4u}}) {
    SCOPED_TRACE(name);
    auto c = create_group("t", name, from);
    ASSERT_TRUE(c.ok()) << describe(c.status);
    Member m(stub());
    ASSERT_TRUE(m.join_and_wait(Member::JoinArgs{"t", name, "w", false, {}, 0}));
    ASSERT_TRUE(m.receive(100));
    if (first == 10) {
      ASSERT_TRUE(m.barrier());
      EXPECT_EQ(m.delivered_count(), 0u);
      ASSERT_TRUE(fill(stub(), "t", 1));  // now 11 events
      ASSERT_TRUE(m.wait_delivered(1));
      EXPECT_EQ(m.delivered_numbers(), std::vector<uint64_t>{10});
    } else {
      uint64_t end = static_cast<uint64_t>(stream_length(stub(), "t"));
      ASSERT_TRUE(m.wait_delivered(end - first));
      ASSERT_TRUE(m.barrier());
      EXPECT_EQ(m.delivered_numbers(), range_of(first, end));
    }
  }
}

TEST_F(ConsumeTest, AGroupStartsAtANumberOnlyWhereTheStreamHasGot) {
  // A group's start is the event before it; at a number past the end there
  // is none yet, so such a start is refused rather than moved to the end.
  ASSERT_TRUE(fill(stub(), "s", 10));
  auto far = create_group("s", "far", position(Pos::NUMBER, 15));
  EXPECT_EQ(far.code(), grpc::StatusCode::OUT_OF_RANGE) << describe(far.status);
  EXPECT_FALSE(group_of("s", "far"));
  {
    Member m(stub());
    ASSERT_TRUE(m.join(Member::JoinArgs{"s", "far", "w", true, position(Pos::NUMBER, 11), 0}));
    ASSERT_TRUE(m.wait_end());
    EXPECT_EQ(m.status().error_code(), grpc::StatusCode::OUT_OF_RANGE) << describe(m.status());
  }
  auto missing = create_group("new", "g", position(Pos::NUMBER, 3), true);
  EXPECT_EQ(missing.code(), grpc::StatusCode::OUT_OF_RANGE) << describe(missing.status);
  EXPECT_EQ(stream_length(stub(), "new"), -1);
  EXPECT_FALSE(group_of("s", "far"));

  // At the next number: from what is appended next.
  auto at_end = create_group("s", "next", position(Pos::NUMBER, 10));
  ASSERT_TRUE(at_end.ok()) << describe(at_end.status);
  Member m(stub());
  ASSERT_TRUE(m.join_and_wait(Member::JoinArgs{"s", "next", "w", false, {}, 0}));
  ASSERT_TRUE(m.receive(100));
  ASSERT_TRUE(m.barrier());
  EXPECT_EQ(m.delivered_count(), 0u);
  ASSERT_TRUE(fill(stub(), "s", 3));
  ASSERT_TRUE(m.wait_delivered(3));
  EXPECT_EQ(m.delivered_numbers(), range_of(10, 13));
}

TEST_F(ConsumeTest, JoinReceiveAck) {
  ASSERT_TRUE(fill(stub(), "s", 5));
  Member m(stub());
  auto j = m.join_and_wait(args("w1"));
  ASSERT_TRUE(j);
  EXPECT_TRUE(j->group_created());
  EXPECT_EQ(j->pending(), 0u);
  ASSERT_TRUE(m.receive(3));
  ASSERT_TRUE(m.wait_delivered(3));
  ASSERT_TRUE(m.barrier());
  EXPECT_EQ(m.delivered_numbers(), range_of(0, 3));
  for (auto& g : m.delivered()) {
    EXPECT_EQ(g.delivery_count(), 1u);
    EXPECT_EQ(g.event().stream(), "s");
    EXPECT_EQ(g.event().event().text_data().rfind(std::to_string(g.event().number()) + ":", 0), 0u);
  }
  auto g = group_of("s", "g");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->pending(), 3u);
  EXPECT_EQ(g->consumers(), 1u);

  ASSERT_TRUE(m.receive(10));
  ASSERT_TRUE(m.wait_delivered(5));
  ASSERT_TRUE(fill(stub(), "s", 4));  // live
  ASSERT_TRUE(m.wait_delivered(9));
  EXPECT_EQ(m.delivered_numbers(), range_of(0, 9));

  ASSERT_TRUE(m.ack({0, 1, 2}));
  EXPECT_EQ(acked(m), 3u);
  ASSERT_TRUE(m.ack({2, 3, 100}));  // 2 was acked already, 100 was never delivered
  EXPECT_EQ(acked(m), 1u);
  g = group_of("s", "g");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->pending(), 5u);
  ASSERT_TRUE(m.ack(range_of(4, 9)));
  EXPECT_EQ(acked(m), 5u);
  g = group_of("s", "g");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->pending(), 0u);

  // A second member joins the existing group.
  Member m2(stub());
  auto j2 = m2.join_and_wait(args("w2"));
  ASSERT_TRUE(j2);
  EXPECT_FALSE(j2->group_created());
  // The member leaves: the call ends with OK.
  m.done();
  ASSERT_TRUE(m.wait_end());
  EXPECT_TRUE(m.status().ok()) << describe(m.status());
}

TEST_F(ConsumeTest, CreditLimitsDelivery) {
  ASSERT_TRUE(fill(stub(), "s", 300));
  Member m(stub());
  ASSERT_TRUE(m.join_and_wait(args("w")));
  // Credit given in steps, one crossing the session's batch of 256.
  for (uint32_t step : {1u, 7u, 250u, 2u, 100u}) {
    ASSERT_TRUE(m.receive(step));
    size_t want = std::min<size_t>(m.granted(), 300);
    ASSERT_TRUE(m.wait_delivered(want)) << "granted " << m.granted() << ", got " << m.delivered_count();
    ASSERT_TRUE(m.barrier());
    EXPECT_EQ(m.delivered_count(), want) << "granted " << m.granted();
  }
  EXPECT_EQ(m.delivered_numbers(), range_of(0, 300));
  // Credit left over (60) serves live events, and no more than that.
  ASSERT_TRUE(fill(stub(), "s", 100));
  ASSERT_TRUE(m.wait_delivered(360));
  ASSERT_TRUE(m.barrier());
  EXPECT_EQ(m.delivered_count(), 360u);
  EXPECT_EQ(m.delivered_numbers(), range_of(0, 360));
}

TEST_F(ConsumeTest, TwoMembersShareTheEvents) {
  ASSERT_TRUE(create_group("s", "g", {}, true).ok());
  Member a(stub()), b(stub());
  ASSERT_TRUE(a.join_and_wait(args("a", 0, false)));
  ASSERT_TRUE(b.join_and_wait(args("b", 0, false)));
  ASSERT_TRUE(a.receive(1000));
  ASSERT_TRUE(b.receive(1000));
  const size_t n = 600;
  auto producer_stub = h_.stub();
  std::thread producer([&] {
    for (size_t i = 0; i < n; i += 5) EXPECT_TRUE(append(*producer_stub, "s", text_events(5)).ok());
  });
  bool all = test::eventually([&] { return a.delivered_count() + b.delivered_count() >= n; },
                              std::chrono::seconds(30));
  producer.join();
  ASSERT_TRUE(all) << "a " << a.delivered_count() << ", b " << b.delivered_count();
  ASSERT_TRUE(a.barrier());
  ASSERT_TRUE(b.barrier());
  auto na = numbers(a.delivered()), nb = numbers(b.delivered());
  std::set<uint64_t> seen;
  for (auto n1 : na) EXPECT_TRUE(seen.insert(n1).second) << n1 << " delivered twice";
  for (auto n2 : nb) EXPECT_TRUE(seen.insert(n2).second) << n2 << " delivered to both";
  EXPECT_EQ(seen.size(), n);
  EXPECT_EQ(*seen.rbegin(), n - 1);
  EXPECT_TRUE(std::is_sorted(na.begin(), na.end()));
  EXPECT_TRUE(std::is_sorted(nb.begin(), nb.end()));
  for (auto& g : a.delivered()) EXPECT_EQ(g.delivery_count(), 1u);
  for (auto& g : b.delivered()) EXPECT_EQ(g.delivery_count(), 1u);
  ASSERT_TRUE(a.ack(na));
  ASSERT_TRUE(b.ack(nb));
  EXPECT_EQ(acked(a), na.size());
  EXPECT_EQ(acked(b), nb.size());
  auto g = group_of("s", "g");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->pending(), 0u);
  EXPECT_EQ(g->consumers(), 2u);
}

TEST_F(ConsumeTest, AMemberThatDiesGivesItsEventsToAnother) {
  // Long ack timeouts: what b receives comes from a's end, not a timeout.
  ASSERT_TRUE(fill(stub(), "s", 5));
  auto a = std::make_unique<Member>(stub());  // ended on its own below
  ASSERT_TRUE(a->join_and_wait(args("a", 600000)));
  ASSERT_TRUE(a->receive(5));
  ASSERT_TRUE(a->wait_delivered(5));
  Member b(stub());
  ASSERT_TRUE(b.join_and_wait(args("b", 600000)));
  ASSERT_TRUE(b.receive(10));
  ASSERT_TRUE(b.barrier());
  EXPECT_EQ(b.delivered_count(), 0u) << "a holds every event";

  a->cancel();
  ASSERT_TRUE(a->wait_end());
  EXPECT_EQ(a->status().error_code(), grpc::StatusCode::CANCELLED);
  ASSERT_TRUE(b.wait_delivered(5, kGivenBackWithin)) << "got " << b.delivered_count();
  ASSERT_TRUE(b.barrier());
  EXPECT_EQ(numbers(b.delivered()), range_of(0, 5));
  for (auto& g : b.delivered()) EXPECT_EQ(g.delivery_count(), 2u) << g.event().number();
  ASSERT_TRUE(b.ack(range_of(0, 5)));
  EXPECT_EQ(acked(b), 5u);
  EXPECT_EQ(group_of("s", "g")->pending(), 0u);
}

TEST_F(ConsumeTest, AMemberThatLeavesWhileEventsAreOnTheirWayLosesNone) {
  // A member grants credit and leaves at once: events the engine handed it
  // as the session ended were never sent; they go to the other member at
  // once too (long ack timeouts: nobody waits one out).
  Member b(stub());
  ASSERT_TRUE(b.join_and_wait(args("b", 600000)));
  uint64_t total = 0;
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    ASSERT_TRUE(fill(stub(), "s", 20));
    total += 20;
    {
      Member a(stub());
      ASSERT_TRUE(a.join_and_wait(args("a" + std::to_string(round), 600000)));
      ASSERT_TRUE(a.receive(1));
      ASSERT_TRUE(a.wait_delivered(1));
      ASSERT_TRUE(a.receive(19));
      a.done();
      ASSERT_TRUE(a.wait_end());
    }
    // b takes what is left, and what a was given.
    ASSERT_TRUE(b.receive(static_cast<uint32_t>(total - b.granted())));
    ASSERT_TRUE(b.wait_delivered(total, kGivenBackWithin)) << "b got " << b.delivered_count() << " of " << total;
  }
  ASSERT_TRUE(b.barrier());
  std::set<uint64_t> seen;
  for (auto n : numbers(b.delivered())) EXPECT_TRUE(seen.insert(n).second) << n << " twice";
  EXPECT_EQ(seen.size(), total);
}

TEST_F(ConsumeTest, ASilentMemberLosesItsEventsAfterTheAckTimeout) {
  ASSERT_TRUE(fill(stub(), "s", 5));
  Member a(stub());
  ASSERT_TRUE(a.join_and_wait(args("a", 300)));
  ASSERT_TRUE(a.receive(5));
  ASSERT_TRUE(a.wait_delivered(5));
  // a stays connected and says nothing.
  Member b(stub());
  ASSERT_TRUE(b.join_and_wait(args("b", 300)));
  ASSERT_TRUE(b.receive(10));
  ASSERT_TRUE(b.wait_delivered(5)) << "got " << b.delivered_count();
  ASSERT_TRUE(b.barrier());
  EXPECT_EQ(numbers(b.delivered()), range_of(0, 5));
  for (auto& g : b.delivered()) EXPECT_EQ(g.delivery_count(), 2u) << g.event().number();
  EXPECT_FALSE(a.ended());
  EXPECT_EQ(a.delivered_count(), 5u) << "a had no credit left";
}

TEST_F(ConsumeTest, NackGivesAnEventBackAtOnce) {
  ASSERT_TRUE(fill(stub(), "s", 3));
  Member a(stub());
  ASSERT_TRUE(a.join_and_wait(args("a", 600000)));
  ASSERT_TRUE(a.receive(4));
  ASSERT_TRUE(a.wait_delivered(3));
  ASSERT_TRUE(a.nack({1}));
  EXPECT_EQ(acked(a), 1u);
  ASSERT_TRUE(a.wait_delivered(4, kGivenBackWithin)) << "the event given back did not come again";
  auto got = a.delivered();
  EXPECT_EQ(numbers(got), (std::vector<uint64_t>{0, 1, 2, 1}));
  EXPECT_EQ(got[3].delivery_count(), 2u);
  ASSERT_TRUE(a.barrier());
  EXPECT_EQ(a.delivered_count(), 4u);
  // A nack of what the member does not hold gives nothing back.
  ASSERT_TRUE(a.nack({77}));
  EXPECT_EQ(acked(a), 0u);
}

TEST_F(ConsumeTest, NackedEventGoesToAnotherMemberWithCredit) {
  // b is given credit just before a's nack, so the give-back often finds b
  // busy with the delivery round that credit started: it must not be lost.
  for (int round = 0; round < 10; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::string stream = "s" + std::to_string(round);
    ASSERT_TRUE(fill(stub(), stream, 3));
    Member a(stub());
    ASSERT_TRUE(a.join_and_wait(Member::JoinArgs{stream, "g", "a", true, {}, 600000}));
    ASSERT_TRUE(a.receive(3));
    ASSERT_TRUE(a.wait_delivered(3));
    Member b(stub());
    ASSERT_TRUE(b.join_and_wait(Member::JoinArgs{stream, "g", "b", true, {}, 600000}));
    ASSERT_TRUE(b.receive(5));
    ASSERT_TRUE(a.nack({0, 2}));
    EXPECT_EQ(acked(a), 2u);
    ASSERT_TRUE(b.wait_delivered(2, kGivenBackWithin)) << "got " << b.delivered_count();
    EXPECT_EQ(numbers(b.delivered()), (std::vector<uint64_t>{0, 2}));
    for (auto& g : b.delivered()) EXPECT_EQ(g.delivery_count(), 2u);
  }
}

TEST_F(ConsumeTest, ClaimTakesOverIdleEvents) {
  ASSERT_TRUE(fill(stub(), "s", 3));
  Member a(stub());
  ASSERT_TRUE(a.join_and_wait(args("a", 600000)));
  ASSERT_TRUE(a.receive(3));
  ASSERT_TRUE(a.wait_delivered(3));
  Member b(stub());
  ASSERT_TRUE(b.join_and_wait(args("b", 600000)));
  // Not idle that long: nothing.
  ASSERT_TRUE(b.claim(3600000));
  auto none = b.next_reply();
  ASSERT_TRUE(none && none->has_claimed()) << (none ? none->ShortDebugString() : "no answer");
  EXPECT_EQ(none->claimed().events_size(), 0);
  // Any idle time, two of them.
  ASSERT_TRUE(b.claim(0, 2));
  auto got = b.next_reply();
  ASSERT_TRUE(got && got->has_claimed()) << (got ? got->ShortDebugString() : "no answer");
  ASSERT_EQ(got->claimed().events_size(), 2);
  EXPECT_EQ(got->claimed().events(0).event().number(), 0u);
  EXPECT_EQ(got->claimed().events(1).event().number(), 1u);
  for (auto& g : got->claimed().events()) {
    EXPECT_EQ(g.delivery_count(), 2u);
    EXPECT_EQ(g.event().event().text_data().rfind(std::to_string(g.event().number()) + ":", 0), 0u);
  }
  EXPECT_EQ(b.delivered_count(), 0u) << "a claim is not a delivery";
  ASSERT_TRUE(b.ack({0, 1}));
  EXPECT_EQ(acked(b), 2u);
  ASSERT_TRUE(a.ack({2}));
  EXPECT_EQ(acked(a), 1u);
  EXPECT_EQ(group_of("s", "g")->pending(), 0u);
}

TEST_F(ConsumeTest, ARejoiningMemberFirstGetsItsOwnPendingEvents) {
  ASSERT_TRUE(fill(stub(), "s", 6));
  {
    Member first(stub());
    ASSERT_TRUE(first.join_and_wait(args("w", 600000)));
    ASSERT_TRUE(first.receive(3));
    ASSERT_TRUE(first.wait_delivered(3));
    first.done();
    ASSERT_TRUE(first.wait_end());
    EXPECT_TRUE(first.status().ok()) << describe(first.status());
  }
  Member again(stub());
  auto j = again.join_and_wait(args("w", 600000));
  ASSERT_TRUE(j);
  EXPECT_FALSE(j->group_created());
  EXPECT_EQ(j->pending(), 3u);
  ASSERT_TRUE(again.receive(10));
  ASSERT_TRUE(again.wait_delivered(6));
  ASSERT_TRUE(again.barrier());
  auto got = again.delivered();
  EXPECT_EQ(numbers(got), range_of(0, 6));
  // Its own pending events come again (delivered a second time), then new ones.
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].delivery_count(), i < 3 ? 2u : 1u) << i;
}

TEST_F(ConsumeTest, RequestsASessionRefuses) {
  ASSERT_TRUE(fill(stub(), "s", 3));
  auto expect_end = [](Member& m, grpc::StatusCode code, const char* what) {
    ASSERT_TRUE(m.wait_end()) << what;
    EXPECT_EQ(m.status().error_code(), code) << what << ": " << describe(m.status());
    EXPECT_FALSE(m.status().error_message().empty()) << what;
  };
  {
    Member m(stub());
    ASSERT_TRUE(m.receive(5));
    expect_end(m, grpc::StatusCode::INVALID_ARGUMENT, "first request not a join");
  }
  {
    Member m(stub());
    ASSERT_TRUE(m.send(v1::ConsumeRequest()));
    expect_end(m, grpc::StatusCode::INVALID_ARGUMENT, "an empty first request");
  }
  {
    Member m(stub());
    ASSERT_TRUE(m.join_and_wait(args("w")));
    ASSERT_TRUE(m.join(args("w")));
    expect_end(m, grpc::StatusCode::INVALID_ARGUMENT, "second join");
  }
  {
    Member m(stub());
    ASSERT_TRUE(m.join_and_wait(args("w")));
    ASSERT_TRUE(m.receive(0));
    expect_end(m, grpc::StatusCode::INVALID_ARGUMENT, "receive 0");
  }
  {
    Member m(stub());
    ASSERT_TRUE(m.join_and_wait(args("w")));
    ASSERT_TRUE(m.receive(grpcfe::kMaxConsumerCredit + 1));
    expect_end(m, grpc::StatusCode::OUT_OF_RANGE, "receive over the limit");
  }
  {
    Member m(stub());
    ASSERT_TRUE(m.join_and_wait(args("w2")));
    ASSERT_TRUE(m.receive(grpcfe::kMaxConsumerCredit - 10));  // holds 3 events
    ASSERT_TRUE(m.receive(100));
    expect_end(m, grpc::StatusCode::OUT_OF_RANGE, "credit adding up over the limit");
  }
  {
    Member m(stub());
    ASSERT_TRUE(m.join_and_wait(args("w")));
    ASSERT_TRUE(m.claim(0, grpcfe::kMaxConsumerCredit + 1));
    expect_end(m, grpc::StatusCode::OUT_OF_RANGE, "claim count over the limit");
  }
  {
    Member m(stub());
    ASSERT_TRUE(m.join(Member::JoinArgs{"s", "nogroup", "w", false, {}, 0}));
    expect_end(m, grpc::StatusCode::NOT_FOUND, "a missing group");
  }
  {
    Member m(stub());
    ASSERT_TRUE(m.join(args("w", grpcfe::kMaxAckTimeoutMs + 1)));
    expect_end(m, grpc::StatusCode::OUT_OF_RANGE, "ack timeout over the limit");
  }
  {
    Member m(stub());
    ASSERT_TRUE(m.join(args("w", 0, true, position(static_cast<Pos::Kind>(9)))));
    expect_end(m, grpc::StatusCode::INVALID_ARGUMENT, "position kind 9");
  }
  for (auto [what, a] : {std::pair{"empty consumer", Member::JoinArgs{"s", "g", "", true, {}, 0}},
                         std::pair{"empty group", Member::JoinArgs{"s", "", "w", true, {}, 0}},
                         std::pair{"empty stream", Member::JoinArgs{"", "g", "w", true, {}, 0}},
                         std::pair{"group of 256 bytes", Member::JoinArgs{"s", std::string(256, 'g'), "w", true, {}, 0}},
                         std::pair{"consumer with a newline", Member::JoinArgs{"s", "g", "a\nb", true, {}, 0}}}) {
    Member m(stub());
    ASSERT_TRUE(m.join(a));
    expect_end(m, grpc::StatusCode::INVALID_ARGUMENT, what);
  }
  // Nothing else changed: the stream holds its three events, pending at
  // most with the one member that had credit for them.
  auto g = group_of("s", "g");
  ASSERT_TRUE(g);
  EXPECT_LE(g->pending(), 3u);
  EXPECT_EQ(stream_length(stub(), "s"), 3);
  EXPECT_FALSE(group_of("s", "nogroup"));
}

}  // namespace
}  // namespace redcar::grpctest
