// Consumer groups through the Engine API: creation, delivery of each event
// to exactly one consumer, the pending list, acknowledgement, history reads,
// NOACK, claims and autoclaims, consumers, SETID, destruction — and the
// group state after reopening the engine.
#include <gtest/gtest.h>

#include <future>
#include <map>
#include <set>

#include "tests/unit/engine_test_util.h"

namespace redcar {
namespace {

using namespace redcar::test;

class GroupsTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }
  void open() {
    e_.reset();
    e_ = open_engine(mem_options(fs_));
    ASSERT_TRUE(e_);
  }
  Engine& e() { return *e_; }

  Result<bool> create(const std::string& stream, const std::string& group, StreamId last, bool mkstream = false) {
    return call<bool>([&](auto cb) { e().group_create(stream, group, last, mkstream, std::nullopt, cb); });
  }
  Result<std::vector<GroupEntry>> gread(const std::string& stream, const std::string& group,
                                        const std::string& consumer, uint64_t count = UINT64_MAX) {
    GroupReadOptions o;
    o.group = group;
    o.consumer = consumer;
    o.count = count;
    return call<std::vector<GroupEntry>>([&](auto cb) { e().group_read(stream, o, cb); });
  }
  Result<std::vector<GroupEntry>> history(const std::string& stream, const std::string& group,
                                          const std::string& consumer, StreamId after = {},
                                          uint64_t count = UINT64_MAX) {
    GroupReadOptions o;
    o.group = group;
    o.consumer = consumer;
    o.count = count;
    o.history = true;
    o.after = after;
    return call<std::vector<GroupEntry>>([&](auto cb) { e().group_read(stream, o, cb); });
  }
  Result<uint64_t> ack(const std::string& stream, const std::string& group, std::vector<StreamId> ids) {
    return call<uint64_t>([&](auto cb) { e().group_ack(stream, group, ids, cb); });
  }
  Result<PendingSummary> summary(const std::string& stream, const std::string& group) {
    return call<PendingSummary>([&](auto cb) { e().group_pending_summary(stream, group, cb); });
  }
  Result<std::vector<PendingEntry>> pending(const std::string& stream, PendingQuery q) {
    return call<std::vector<PendingEntry>>([&](auto cb) { e().group_pending(stream, q, cb); });
  }
  Result<std::vector<PendingEntry>> pending(const std::string& stream, const std::string& group,
                                            const std::string& consumer = "", int64_t min_idle_ms = 0) {
    PendingQuery q;
    q.group = group;
    q.consumer = consumer;
    q.min_idle_ms = min_idle_ms;
    return pending(stream, q);
  }
  Result<ClaimResult> claim(const std::string& stream, ClaimOptions o) {
    return call<ClaimResult>([&](auto cb) { e().group_claim(stream, o, cb); });
  }
  Result<std::vector<ConsumerInfo>> consumers(const std::string& stream, const std::string& group) {
    return call<std::vector<ConsumerInfo>>([&](auto cb) { e().group_consumers(stream, group, cb); });
  }
  // The IDs of the stream's events, by number.
  std::vector<StreamId> ids(const std::string& stream) {
    std::vector<StreamId> out;
    auto rr = read(e(), stream);
    EXPECT_TRUE(rr);
    if (rr) {
      for (auto& ev : rr->events) out.push_back(ev.id);
    }
    return out;
  }
  static std::vector<uint64_t> numbers(const std::vector<GroupEntry>& v) {
    std::vector<uint64_t> out;
    for (auto& g : v) {
      EXPECT_TRUE(g.event.has_value());
      if (g.event) {
        EXPECT_EQ(g.event->id, g.id);
        out.push_back(g.event->number);
      }
    }
    return out;
  }

  io::MemFs fs_;
  std::unique_ptr<Engine> e_;
};

TEST_F(GroupsTest, CreateFromStartEndOrAnId) {
  auto missing = create("nope", "g", StreamId::min());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_EQ(missing.status().reason(), Reason::kNoStream);
  auto i = info(e(), "nope");
  ASSERT_TRUE(i);
  EXPECT_FALSE(i->exists);

  auto made = create("made", "g", StreamId::max(), true);
  ASSERT_TRUE(made) << made.status().to_string();
  EXPECT_TRUE(*made);
  i = info(e(), "made");
  ASSERT_TRUE(i);
  EXPECT_TRUE(i->exists);
  EXPECT_EQ(i->length, 0u);
  ASSERT_EQ(i->groups.size(), 1u);
  auto none = gread("made", "g", "c");
  ASSERT_TRUE(none) << none.status().to_string();
  EXPECT_TRUE(none->empty());

  for (uint64_t n = 0; n < 10; ++n) ASSERT_TRUE(append1(e(), "s", "e" + std::to_string(n), explicit_id(10 * (n + 1), 0)));
  auto id = ids("s");
  ASSERT_TRUE(create("s", "zero", StreamId::min()));
  ASSERT_TRUE(create("s", "end", StreamId::max()));
  ASSERT_TRUE(create("s", "mid", id[4]));
  ASSERT_TRUE(create("s", "between", StreamId{65, 0}));  // between the IDs of 5 and 6
  auto dup = create("s", "zero", StreamId::max());
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.status().code(), Code::kAlreadyExists);
  EXPECT_EQ(dup.status().reason(), Reason::kGroupExists) << dup.status().message();
  auto dup_mk = create("s", "mid", StreamId::min(), true);
  ASSERT_FALSE(dup_mk);
  EXPECT_EQ(dup_mk.status().code(), Code::kAlreadyExists);

  auto z = gread("s", "zero", "c");
  ASSERT_TRUE(z);
  EXPECT_EQ(numbers(*z), range_of(0, 10));
  auto en = gread("s", "end", "c");
  ASSERT_TRUE(en);
  EXPECT_TRUE(en->empty());
  auto m = gread("s", "mid", "c");
  ASSERT_TRUE(m);
  EXPECT_EQ(numbers(*m), range_of(5, 10));
  auto b = gread("s", "between", "c");
  ASSERT_TRUE(b);
  EXPECT_EQ(numbers(*b), range_of(6, 10));

  ASSERT_TRUE(append(e(), "s", events(2)));
  auto en2 = gread("s", "end", "c");
  ASSERT_TRUE(en2);
  EXPECT_EQ(numbers(*en2), range_of(10, 12));

  auto nogroup = gread("s", "nope", "c");
  ASSERT_FALSE(nogroup);
  EXPECT_EQ(nogroup.status().code(), Code::kNotFound);
  EXPECT_EQ(nogroup.status().reason(), Reason::kNoGroup);
  auto nostream = gread("nostream", "g", "c");
  ASSERT_FALSE(nostream);
  EXPECT_EQ(nostream.status().code(), Code::kNotFound);
  EXPECT_EQ(nostream.status().reason(), Reason::kNoStream);
}

TEST_F(GroupsTest, EachEventGoesToExactlyOneConsumer) {
  ASSERT_TRUE(append(e(), "s", events(200)));
  ASSERT_TRUE(create("s", "g", StreamId::min()));
  constexpr size_t kTotal = 1200;
  std::atomic<size_t> got{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::map<std::string, std::vector<uint64_t>> by_consumer;
  // A producer keeps appending while four consumers read.
  std::thread producer([&] {
    for (size_t k = 200; k < kTotal && !failed; k += 20) {
      auto r = append(e(), "s", events(20, "p"));
      if (!r) failed = true;
    }
  });
  std::vector<std::thread> readers;
  for (int c = 0; c < 4; ++c) {
    readers.emplace_back([&, c] {
      std::string name = "c" + std::to_string(c);
      auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (got < kTotal && !failed && std::chrono::steady_clock::now() < until) {
        auto r = gread("s", "g", name, 1 + c * 3);
        if (!r) {
          failed = true;
          break;
        }
        std::lock_guard lk(mu);
        for (auto& ge : *r) {
          if (!ge.event) {
            failed = true;
            continue;
          }
          by_consumer[name].push_back(ge.event->number);
        }
        got += r->size();
      }
    });
  }
  producer.join();
  for (auto& t : readers) t.join();
  ASSERT_FALSE(failed);
  ASSERT_EQ(got.load(), kTotal);
  std::vector<uint64_t> all;
  for (auto& [name, ns] : by_consumer) {
    EXPECT_TRUE(std::is_sorted(ns.begin(), ns.end())) << name;
    all.insert(all.end(), ns.begin(), ns.end());
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, range_of(0, kTotal));
  EXPECT_GE(by_consumer.size(), 2u);
  // The pending list agrees with what each consumer got.
  auto sum = summary("s", "g");
  ASSERT_TRUE(sum);
  EXPECT_EQ(sum->count, kTotal);
  for (auto& [name, n] : sum->per_consumer) EXPECT_EQ(n, by_consumer[name].size()) << name;
  auto more = gread("s", "g", "c0");
  ASSERT_TRUE(more);
  EXPECT_TRUE(more->empty());
}

TEST_F(GroupsTest, PendingListAndAck) {
  ASSERT_TRUE(append(e(), "s", events(10)));
  auto id = ids("s");
  ASSERT_TRUE(create("s", "g", StreamId::min()));
  ASSERT_TRUE(gread("s", "g", "c1", 5));
  ASSERT_TRUE(gread("s", "g", "c2", 3));

  auto sum = summary("s", "g");
  ASSERT_TRUE(sum);
  EXPECT_EQ(sum->count, 8u);
  EXPECT_EQ(sum->lowest, id[0]);
  EXPECT_EQ(sum->highest, id[7]);
  EXPECT_EQ(sum->per_consumer,
            (std::vector<std::pair<std::string, uint64_t>>{{"c1", 5}, {"c2", 3}}));

  auto c1 = pending("s", "g", "c1");
  ASSERT_TRUE(c1);
  ASSERT_EQ(c1->size(), 5u);
  for (size_t k = 0; k < 5; ++k) {
    EXPECT_EQ((*c1)[k].id, id[k]);
    EXPECT_EQ((*c1)[k].number, k);
    EXPECT_EQ((*c1)[k].consumer, "c1");
    EXPECT_EQ((*c1)[k].delivery_count, 1u);
  }
  PendingQuery q;
  q.group = "g";
  q.from = id[3];
  q.to = id[6];
  auto window = pending("s", q);
  ASSERT_TRUE(window);
  ASSERT_EQ(window->size(), 4u);
  EXPECT_EQ(window->front().id, id[3]);
  EXPECT_EQ(window->back().consumer, "c2");
  q.count = 2;
  auto counted = pending("s", q);
  ASSERT_TRUE(counted);
  EXPECT_EQ(counted->size(), 2u);

  auto busy = pending("s", "g", "", 10000);
  ASSERT_TRUE(busy);
  EXPECT_TRUE(busy->empty());
  sleep_ms(50);
  auto idle = pending("s", "g", "", 40);
  ASSERT_TRUE(idle);
  EXPECT_EQ(idle->size(), 8u);

  auto acked = ack("s", "g", {id[0], id[1], id[1], id[9], StreamId{1, 1}});
  ASSERT_TRUE(acked);
  EXPECT_EQ(*acked, 2u);
  auto again = ack("s", "g", {id[0]});
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0u);
  auto no_group = ack("s", "nope", {id[2]});
  ASSERT_TRUE(no_group);
  EXPECT_EQ(*no_group, 0u);
  sum = summary("s", "g");
  ASSERT_TRUE(sum);
  EXPECT_EQ(sum->count, 6u);
  EXPECT_EQ(sum->lowest, id[2]);
  EXPECT_EQ(sum->per_consumer,
            (std::vector<std::pair<std::string, uint64_t>>{{"c1", 3}, {"c2", 3}}));
  auto cs = consumers("s", "g");
  ASSERT_TRUE(cs);
  ASSERT_EQ(cs->size(), 2u);
  EXPECT_EQ((*cs)[0].name, "c1");
  EXPECT_EQ((*cs)[0].pending, 3u);
  EXPECT_GT((*cs)[0].seen_ms, 0);

  // Everything acknowledged: an empty summary.
  ASSERT_TRUE(ack("s", "g", id));
  sum = summary("s", "g");
  ASSERT_TRUE(sum);
  EXPECT_EQ(sum->count, 0u);
  EXPECT_TRUE(sum->per_consumer.empty());
  auto no = summary("s", "nope");
  ASSERT_FALSE(no);
  EXPECT_EQ(no.status().code(), Code::kNotFound);
}

// An idle member polling its group finds nothing: that is kept in memory
// (when it was last seen), not written to the log each time.
TEST_F(GroupsTest, AReadThatFindsNothingWritesNothing) {
  ASSERT_TRUE(append(e(), "s", events(3)));
  ASSERT_TRUE(create("s", "g", StreamId::min()));
  ASSERT_TRUE(gread("s", "g", "c1", 10));  // delivers all three, and makes c1
  auto before = call<StorageStats>([&](auto cb) { e().storage_stats(cb); });
  ASSERT_TRUE(before);
  auto c = call<std::vector<ConsumerInfo>>([&](auto cb) { e().group_consumers("s", "g", cb); });
  ASSERT_TRUE(c);
  int64_t seen = c->at(0).seen_ms;
  sleep_ms(5);
  for (int i = 0; i < 50; ++i) {
    auto none = gread("s", "g", "c1", 10);
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
  }
  auto after = call<StorageStats>([&](auto cb) { e().storage_stats(cb); });
  ASSERT_TRUE(after);
  EXPECT_EQ(after->used_bytes, before->used_bytes);
  c = call<std::vector<ConsumerInfo>>([&](auto cb) { e().group_consumers("s", "g", cb); });
  ASSERT_TRUE(c);
  EXPECT_GT(c->at(0).seen_ms, seen);
  // A consumer an empty read creates is still written: it is there after a restart.
  ASSERT_TRUE(gread("s", "g", "c2", 10));
  open();
  c = call<std::vector<ConsumerInfo>>([&](auto cb) { e().group_consumers("s", "g", cb); });
  ASSERT_TRUE(c);
  EXPECT_EQ(c->size(), 2u);
}

TEST_F(GroupsTest, HistoryReadsTheConsumersOwnPendingEntries) {
  ASSERT_TRUE(append(e(), "s", events(10)));
  auto id = ids("s");
  ASSERT_TRUE(create("s", "g", StreamId::min()));
  auto first = gread("s", "g", "c1", 5);
  ASSERT_TRUE(first);
  for (auto& ge : *first) EXPECT_EQ(ge.delivery_count, 1u);
  ASSERT_TRUE(gread("s", "g", "c2", 2));

  auto h = history("s", "g", "c1");
  ASSERT_TRUE(h) << h.status().to_string();
  EXPECT_EQ(numbers(*h), range_of(0, 5));
  EXPECT_EQ((*h)[2].event->payload.data, "e2");
  for (auto& ge : *h) EXPECT_EQ(ge.delivery_count, 2u);  // the read says what the PEL now holds
  auto p = pending("s", "g", "c1");
  ASSERT_TRUE(p);
  for (auto& pe : *p) EXPECT_EQ(pe.delivery_count, 2u);
  auto p2 = pending("s", "g", "c2");
  ASSERT_TRUE(p2);
  for (auto& pe : *p2) EXPECT_EQ(pe.delivery_count, 1u);

  auto after = history("s", "g", "c1", id[2]);
  ASSERT_TRUE(after);
  EXPECT_EQ(numbers(*after), (std::vector<uint64_t>{3, 4}));
  auto counted = history("s", "g", "c1", {}, 2);
  ASSERT_TRUE(counted);
  EXPECT_EQ(numbers(*counted), (std::vector<uint64_t>{0, 1}));

  ASSERT_TRUE(ack("s", "g", {id[1]}));
  ASSERT_TRUE(call<uint64_t>([&](auto cb) { e().delete_events("s", {id[3]}, cb); }));
  auto h2 = history("s", "g", "c1");
  ASSERT_TRUE(h2);
  ASSERT_EQ(h2->size(), 4u);
  EXPECT_EQ((*h2)[0].id, id[0]);
  EXPECT_EQ((*h2)[1].id, id[2]);
  EXPECT_EQ((*h2)[2].id, id[3]);
  EXPECT_FALSE((*h2)[2].event.has_value());  // deleted: the entry without its event
  EXPECT_EQ((*h2)[3].id, id[4]);

  // History does not move the group forward.
  auto next = gread("s", "g", "c1", 1);
  ASSERT_TRUE(next);
  EXPECT_EQ(numbers(*next), (std::vector<uint64_t>{7}));
  auto nobody = history("s", "g", "c9");
  ASSERT_TRUE(nobody);
  EXPECT_TRUE(nobody->empty());
}

TEST_F(GroupsTest, NoAckLeavesNothingPending) {
  ASSERT_TRUE(append(e(), "s", events(6)));
  auto id = ids("s");
  ASSERT_TRUE(create("s", "g", StreamId::min()));
  GroupReadOptions o;
  o.group = "g";
  o.consumer = "c";
  o.count = 4;
  o.no_ack = true;
  auto r = call<std::vector<GroupEntry>>([&](auto cb) { e().group_read("s", o, cb); });
  ASSERT_TRUE(r);
  EXPECT_EQ(numbers(*r), range_of(0, 4));
  auto sum = summary("s", "g");
  ASSERT_TRUE(sum);
  EXPECT_EQ(sum->count, 0u);
  auto i = info(e(), "s");
  ASSERT_TRUE(i);
  ASSERT_EQ(i->groups.size(), 1u);
  EXPECT_EQ(i->groups[0].last_delivered, id[3]);
  auto rest = gread("s", "g", "c");
  ASSERT_TRUE(rest);
  EXPECT_EQ(numbers(*rest), range_of(4, 6));
  sum = summary("s", "g");
  ASSERT_TRUE(sum);
  EXPECT_EQ(sum->count, 2u);
}

TEST_F(GroupsTest, LentReadsDeliverEachEventOnceAsCopiedReadsDo) {
  // Twenty lent reads of one group at once (they queue behind each other on
  // the group) and copied reads of another group: every event goes once to
  // one consumer of each group, with the same fields, and both groups'
  // pending lists read back the same after a reopen.
  ASSERT_TRUE(append(e(), "s", events(100)));
  ASSERT_TRUE(create("s", "lent", StreamId::min()));
  ASSERT_TRUE(create("s", "copied", StreamId::min()));
  struct Read {
    GroupReadLent req;
    std::vector<std::pair<uint64_t, std::string>> got;  // number, data
    std::promise<Result<uint64_t>> done;
  };
  std::vector<std::unique_ptr<Read>> reads;
  for (int i = 0; i < 20; ++i) {
    auto r = std::make_unique<Read>();
    r->req.stream = "s";
    r->req.opt.group = "lent";
    r->req.opt.consumer = "c" + std::to_string(i % 4);
    r->req.opt.count = 7;
    Read* raw = r.get();
    r->req.visit = [raw](const EventView& ev) {
      raw->got.emplace_back(ev.number, std::string(ev.data));
      return true;
    };
    reads.push_back(std::move(r));
  }
  for (auto& r : reads) {
    Read* raw = r.get();
    e().group_read_lent(&r->req, [raw](Result<uint64_t> n) { raw->done.set_value(std::move(n)); });
  }
  std::map<uint64_t, std::string> lent;
  for (auto& r : reads) {
    auto n = r->done.get_future().get();
    ASSERT_TRUE(n) << n.status().to_string();
    ASSERT_EQ(*n, r->got.size());
    for (auto& [number, value] : r->got) EXPECT_TRUE(lent.emplace(number, value).second) << number << " twice";
  }
  ASSERT_EQ(lent.size(), 100u);  // 20 x 7 asked, 100 there
  EXPECT_EQ(lent.begin()->first, 0u);
  EXPECT_EQ(lent.rbegin()->first, 99u);
  auto copied = gread("s", "copied", "x");
  ASSERT_TRUE(copied);
  ASSERT_EQ(copied->size(), 100u);
  for (auto& ge : *copied) {
    ASSERT_TRUE(ge.event);
    EXPECT_EQ(lent[ge.event->number], ge.event->payload.data) << ge.event->number;
  }
  // Nothing left: a lent read delivers none.
  Read last;
  last.req.stream = "s";
  last.req.opt.group = "lent";
  last.req.opt.consumer = "c0";
  last.req.visit = [](const EventView&) { return true; };
  e().group_read_lent(&last.req, [&last](Result<uint64_t> n) { last.done.set_value(std::move(n)); });
  auto none = last.done.get_future().get();
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, 0u);
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "before the reopen" : "after the reopen");
    auto lent_sum = summary("s", "lent");
    auto copied_sum = summary("s", "copied");
    ASSERT_TRUE(lent_sum);
    ASSERT_TRUE(copied_sum);
    EXPECT_EQ(lent_sum->count, 100u);
    EXPECT_EQ(copied_sum->count, 100u);
    EXPECT_EQ(lent_sum->lowest, copied_sum->lowest);
    EXPECT_EQ(lent_sum->highest, copied_sum->highest);
    ASSERT_EQ(lent_sum->per_consumer.size(), 4u);
    uint64_t total = 0;
    for (auto& [consumer, n] : lent_sum->per_consumer) total += n;
    EXPECT_EQ(total, 100u);
    open();
  }
}

TEST_F(GroupsTest, GroupsThatComeAndGoAreServedAsNew) {
  // A group's operations queue in an entry kept while the group exists;
  // entries of groups gone are dropped in sweeps as more are made. Three
  // generations of 100 groups, each made at an explicit ID (an operation
  // queued on a group that does not exist yet), read and destroyed: every
  // read gets what its own group has not delivered, never another's state.
  ASSERT_TRUE(append(e(), "s", events(10)));
  auto id = ids("s");
  for (int gen = 0; gen < 3; ++gen) {
    SCOPED_TRACE("generation " + std::to_string(gen));
    for (int i = 0; i < 100; ++i) {
      std::string g = "g" + std::to_string(gen % 2) + "-" + std::to_string(i);
      ASSERT_TRUE(create("s", g, id[static_cast<size_t>(i % 5)]));
      auto r = gread("s", g, "c", 3);
      ASSERT_TRUE(r);
      uint64_t from = static_cast<uint64_t>(i % 5) + 1;
      EXPECT_EQ(numbers(*r), range_of(from, from + 3));
    }
    for (int i = 0; i < 100; ++i) {
      std::string g = "g" + std::to_string(gen % 2) + "-" + std::to_string(i);
      ASSERT_TRUE(call<bool>([&](auto cb) { e().group_destroy("s", g, cb); }));
    }
  }
}

TEST_F(GroupsTest, ClaimAtTimeZeroRecordsTheEpoch) {
  // XCLAIM ... TIME 0: the delivery time is the epoch, not "now", and it
  // stays the epoch after a restart replays the claim record.
  ASSERT_TRUE(append(e(), "s", events(3)));
  auto id = ids("s");
  ASSERT_TRUE(create("s", "g", StreamId::min()));
  ASSERT_TRUE(gread("s", "g", "c1", 2));
  ClaimOptions o;
  o.group = "g";
  o.consumer = "c2";
  o.ids = {id[0]};
  o.time_ms = 0;
  auto c = claim("s", o);
  ASSERT_TRUE(c) << c.status().to_string();
  ASSERT_EQ(c->events.size(), 1u);
  auto check = [&](const char* when) {
    auto p = pending("s", "g");
    ASSERT_TRUE(p) << when;
    ASSERT_EQ(p->size(), 2u) << when;
    EXPECT_EQ((*p)[0].id, id[0]) << when;
    EXPECT_EQ((*p)[0].consumer, "c2") << when;
    EXPECT_EQ((*p)[0].delivered_ms, 0) << when << ": TIME 0 is the epoch";
    EXPECT_GT((*p)[1].delivered_ms, 0) << when << ": delivered by the read, now";
    // Idle since the epoch: any idle time qualifies it for another claim.
    auto idle = pending("s", "g", "", int64_t{1} << 40);
    ASSERT_TRUE(idle) << when;
    ASSERT_EQ(idle->size(), 1u) << when;
    EXPECT_EQ(idle->front().id, id[0]) << when;
  };
  check("just claimed");
  open();
  check("after reopening");

  // A TIME in the past, not the epoch, is kept as given too.
  o.ids = {id[1]};
  o.time_ms = 12345;
  ASSERT_TRUE(claim("s", o));
  auto p = pending("s", "g", "c2");
  ASSERT_TRUE(p);
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[1].delivered_ms, 12345);
}

TEST_F(GroupsTest, ClaimAfterIdle) {
  ASSERT_TRUE(append(e(), "s", events(6)));
  auto id = ids("s");
  ASSERT_TRUE(create("s", "g", StreamId::min()));
  ASSERT_TRUE(gread("s", "g", "c1", 3));

  ClaimOptions o;
  o.group = "g";
  o.consumer = "c2";
  o.min_idle_ms = 10000;
  o.ids = {id[0], id[1], id[2]};
  auto early = claim("s", o);
  ASSERT_TRUE(early) << early.status().to_string();
  EXPECT_TRUE(early->events.empty());
  sleep_ms(60);
  o.min_idle_ms = 50;
  auto c = claim("s", o);
  ASSERT_TRUE(c) << c.status().to_string();
  ASSERT_EQ(c->events.size(), 3u);
  EXPECT_EQ(c->events[0].payload.data, "e0");
  EXPECT_EQ(c->delivery_counts, (std::vector<uint64_t>{2, 2, 2}));
  auto p = pending("s", "g");
  ASSERT_TRUE(p);
  ASSERT_EQ(p->size(), 3u);
  for (auto& pe : *p) {
    EXPECT_EQ(pe.consumer, "c2");
    EXPECT_EQ(pe.delivery_count, 2u);
  }
  // Just now claimed: not idle enough for another claim.
  o.consumer = "c3";
  o.min_idle_ms = 5000;
  auto again = claim("s", o);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->events.empty());

  // JUSTID: IDs only, the delivery count stays.
  o.min_idle_ms = 0;
  o.just_id = true;
  o.ids = {id[0], id[4]};  // id[4] was never delivered: not claimed
  auto j = claim("s", o);
  ASSERT_TRUE(j);
  EXPECT_TRUE(j->events.empty());
  EXPECT_EQ(j->claimed_ids, (std::vector<StreamId>{id[0]}));
  p = pending("s", "g", "c3");
  ASSERT_TRUE(p);
  ASSERT_EQ(p->size(), 1u);
  EXPECT_EQ(p->front().delivery_count, 2u);

  // RETRYCOUNT and IDLE set what the pending entry says.
  ClaimOptions set;
  set.group = "g";
  set.consumer = "c1";
  set.ids = {id[1]};
  set.retry_count = 7;
  set.idle_ms = 100000;
  ASSERT_TRUE(claim("s", set));
  p = pending("s", "g", "c1", 90000);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->size(), 1u);
  EXPECT_EQ(p->front().id, id[1]);
  EXPECT_EQ(p->front().delivery_count, 7u);

  auto sum = summary("s", "g");
  ASSERT_TRUE(sum);
  EXPECT_EQ(sum->count, 3u);
  EXPECT_EQ(sum->per_consumer,
            (std::vector<std::pair<std::string, uint64_t>>{{"c1", 1}, {"c2", 1}, {"c3", 1}}));
  auto cs = consumers("s", "g");
  ASSERT_TRUE(cs);
  for (auto& ci : *cs) EXPECT_EQ(ci.pending, 1u) << ci.name;

  // FORCE takes entries nobody was given; they count as delivered once,
  // plus this delivery unless JUSTID.
  ClaimOptions force;
  force.group = "g";
  force.consumer = "c4";
  force.force = true;
  force.ids = {id[4], StreamId{1, 1}};  // the second is no event of the stream
  auto f = claim("s", force);
  ASSERT_TRUE(f) << f.status().to_string();
  ASSERT_EQ(f->events.size(), 1u);
  EXPECT_EQ(f->events[0].id, id[4]);
  force.ids = {id[5]};
  force.just_id = true;
  auto fj = claim("s", force);
  ASSERT_TRUE(fj);
  EXPECT_EQ(fj->claimed_ids, (std::vector<StreamId>{id[5]}));
  p = pending("s", "g", "c4");
  ASSERT_TRUE(p);
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[0].delivery_count, 2u);
  EXPECT_EQ((*p)[1].delivery_count, 1u);
  // The group itself has not moved: id[3] is the next to deliver.
  auto next = gread("s", "g", "c1", 1);
  ASSERT_TRUE(next);
  EXPECT_EQ(numbers(*next), (std::vector<uint64_t>{3}));
}

TEST_F(GroupsTest, AutoclaimWithCursorReportsDeletedEntries) {
  ASSERT_TRUE(append(e(), "s", events(10)));
  auto id = ids("s");
  ASSERT_TRUE(create("s", "g", StreamId::min()));
  ASSERT_TRUE(gread("s", "g", "c1"));
  auto d = call<uint64_t>([&](auto cb) { e().delete_events("s", {id[3], id[6]}, cb); });
  ASSERT_TRUE(d);
  ASSERT_EQ(*d, 2u);
  sleep_ms(60);

  ClaimOptions o;
  o.group = "g";
  o.consumer = "c2";
  o.autoclaim = true;
  o.min_idle_ms = 50;
  o.count = 4;
  o.start = StreamId::min();
  std::vector<uint64_t> claimed;
  std::vector<StreamId> deleted;
  int rounds = 0;
  do {
    auto r = claim("s", o);
    ASSERT_TRUE(r) << r.status().to_string();
    for (auto& ev : r->events) claimed.push_back(ev.number);
    deleted.insert(deleted.end(), r->deleted_ids.begin(), r->deleted_ids.end());
    EXPECT_LE(r->events.size() + r->deleted_ids.size(), 4u);
    if (rounds == 0) {
      EXPECT_EQ(r->next_start, id[4]);
    }
    o.start = r->next_start;
    ASSERT_LT(++rounds, 10);
  } while (!o.start.is_zero());
  EXPECT_EQ(rounds, 3);
  EXPECT_EQ(claimed, (std::vector<uint64_t>{0, 1, 2, 4, 5, 7, 8, 9}));
  EXPECT_EQ(deleted, (std::vector<StreamId>{id[3], id[6]}));
  auto sum = summary("s", "g");
  ASSERT_TRUE(sum);
  EXPECT_EQ(sum->count, 8u);
  EXPECT_EQ(sum->per_consumer, (std::vector<std::pair<std::string, uint64_t>>{{"c2", 8}}));

  // Nothing idle enough: nothing claimed, the cursor still moves.
  o.start = StreamId::min();
  o.min_idle_ms = 100000;
  auto r = claim("s", o);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->events.empty());
  // JUSTID.
  o.min_idle_ms = 0;
  o.just_id = true;
  o.count = 100;
  auto j = claim("s", o);
  ASSERT_TRUE(j);
  EXPECT_EQ(j->claimed_ids.size(), 8u);
  EXPECT_TRUE(j->next_start.is_zero());
}

TEST_F(GroupsTest, ConsumersCreateAndDelete) {
  ASSERT_TRUE(append(e(), "s", events(10)));
  ASSERT_TRUE(create("s", "g", StreamId::min()));
  auto made = call<bool>([&](auto cb) { e().consumer_create("s", "g", "idle", cb); });
  ASSERT_TRUE(made);
  EXPECT_TRUE(*made);
  auto again = call<bool>([&](auto cb) { e().consumer_create("s", "g", "idle", cb); });
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  auto nogroup = call<bool>([&](auto cb) { e().consumer_create("s", "nope", "x", cb); });
  ASSERT_FALSE(nogroup);
  EXPECT_EQ(nogroup.status().code(), Code::kNotFound);

  ASSERT_TRUE(gread("s", "g", "busy", 4));
  ASSERT_TRUE(gread("s", "g", "other", 2));
  auto cs = consumers("s", "g");
  ASSERT_TRUE(cs);
  ASSERT_EQ(cs->size(), 3u);
  EXPECT_EQ((*cs)[0].name, "busy");
  EXPECT_EQ((*cs)[0].pending, 4u);
  EXPECT_GE((*cs)[0].active_ms, 0);
  EXPECT_EQ((*cs)[1].name, "idle");
  EXPECT_EQ((*cs)[1].pending, 0u);
  EXPECT_EQ((*cs)[1].active_ms, -1);
  EXPECT_GT((*cs)[1].seen_ms, 0);

  auto del = call<uint64_t>([&](auto cb) { e().consumer_delete("s", "g", "busy", cb); });
  ASSERT_TRUE(del);
  EXPECT_EQ(*del, 4u);
  auto del_missing = call<uint64_t>([&](auto cb) { e().consumer_delete("s", "g", "ghost", cb); });
  ASSERT_TRUE(del_missing);
  EXPECT_EQ(*del_missing, 0u);
  auto del_idle = call<uint64_t>([&](auto cb) { e().consumer_delete("s", "g", "idle", cb); });
  ASSERT_TRUE(del_idle);
  EXPECT_EQ(*del_idle, 0u);
  auto sum = summary("s", "g");
  ASSERT_TRUE(sum);
  EXPECT_EQ(sum->count, 2u);
  EXPECT_EQ(sum->per_consumer, (std::vector<std::pair<std::string, uint64_t>>{{"other", 2}}));
  cs = consumers("s", "g");
  ASSERT_TRUE(cs);
  ASSERT_EQ(cs->size(), 1u);
  EXPECT_EQ((*cs)[0].name, "other");
  // Its entries are not redelivered: the group has moved on.
  auto next = gread("s", "g", "busy");
  ASSERT_TRUE(next);
  EXPECT_EQ(numbers(*next), range_of(6, 10));

  open();
  sum = summary("s", "g");
  ASSERT_TRUE(sum);
  EXPECT_EQ(sum->per_consumer,
            (std::vector<std::pair<std::string, uint64_t>>{{"busy", 4}, {"other", 2}}));
}

TEST_F(GroupsTest, SetIdAndDestroy) {
  ASSERT_TRUE(append(e(), "s", events(10)));
  auto id = ids("s");
  ASSERT_TRUE(create("s", "g", StreamId::min()));
  ASSERT_TRUE(gread("s", "g", "c", 6));

  auto back = call<bool>([&](auto cb) { e().group_set_id("s", "g", id[1], std::nullopt, cb); });
  ASSERT_TRUE(back) << back.status().to_string();
  auto r = gread("s", "g", "d", 3);
  ASSERT_TRUE(r);
  EXPECT_EQ(numbers(*r), range_of(2, 5));
  auto p = pending("s", "g", "d");
  ASSERT_TRUE(p);
  ASSERT_EQ(p->size(), 3u);
  EXPECT_EQ(p->front().delivery_count, 2u);  // delivered again: it changed hands
  auto sum = summary("s", "g");
  ASSERT_TRUE(sum);
  EXPECT_EQ(sum->count, 6u);
  EXPECT_EQ(sum->per_consumer, (std::vector<std::pair<std::string, uint64_t>>{{"c", 3}, {"d", 3}}));

  ASSERT_TRUE(call<bool>([&](auto cb) { e().group_set_id("s", "g", StreamId::max(), std::nullopt, cb); }));
  auto none = gread("s", "g", "c");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  auto i = info(e(), "s");
  ASSERT_TRUE(i);
  EXPECT_EQ(i->groups[0].last_delivered, id[9]);

  auto nogroup = call<bool>([&](auto cb) { e().group_set_id("s", "nope", StreamId::min(), std::nullopt, cb); });
  ASSERT_FALSE(nogroup);
  EXPECT_EQ(nogroup.status().code(), Code::kNotFound);

  auto d = call<bool>([&](auto cb) { e().group_destroy("s", "g", cb); });
  ASSERT_TRUE(d);
  EXPECT_TRUE(*d);
  auto d2 = call<bool>([&](auto cb) { e().group_destroy("s", "g", cb); });
  ASSERT_TRUE(d2);
  EXPECT_FALSE(*d2);
  auto gone = gread("s", "g", "c");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.status().code(), Code::kNotFound);
  i = info(e(), "s");
  ASSERT_TRUE(i);
  EXPECT_TRUE(i->groups.empty());
  open();
  i = info(e(), "s");
  ASSERT_TRUE(i);
  EXPECT_TRUE(i->groups.empty());
  // A group of the same name starts afresh.
  ASSERT_TRUE(create("s", "g", StreamId::max()));
  sum = summary("s", "g");
  ASSERT_TRUE(sum);
  EXPECT_EQ(sum->count, 0u);
}

TEST_F(GroupsTest, GroupStateSurvivesReopen) {
  ASSERT_TRUE(append(e(), "s", events(20)));
  auto id = ids("s");
  ASSERT_TRUE(create("s", "g", StreamId::min()));
  ASSERT_TRUE(create("s", "h", id[9]));
  ASSERT_TRUE(gread("s", "g", "c1", 5));
  ASSERT_TRUE(gread("s", "g", "c2", 3));
  ASSERT_TRUE(ack("s", "g", {id[1]}));
  ASSERT_TRUE(history("s", "g", "c2"));  // c2's entries: delivered twice
  ASSERT_TRUE(call<bool>([&](auto cb) { e().consumer_create("s", "g", "c3", cb); }));
  ClaimOptions o;
  o.group = "g";
  o.consumer = "c2";
  o.ids = {id[4]};
  ASSERT_TRUE(claim("s", o));
  GroupReadOptions na;
  na.group = "h";
  na.consumer = "x";
  na.count = 2;
  na.no_ack = true;
  ASSERT_TRUE(call<std::vector<GroupEntry>>([&](auto cb) { e().group_read("s", na, cb); }));
  ASSERT_TRUE(gread("s", "h", "y", 1));

  auto state = [&] {
    std::string out;
    for (const char* g : {"g", "h"}) {
      auto p = pending("s", g);
      EXPECT_TRUE(p);
      if (!p) continue;
      for (auto& pe : *p) {
        out += std::string(g) + " " + pe.id.to_string() + " " + std::to_string(pe.number) + " " + pe.consumer +
               " " + std::to_string(pe.delivered_ms) + " " + std::to_string(pe.delivery_count) + "\n";
      }
      auto cs = consumers("s", g);
      EXPECT_TRUE(cs);
      if (!cs) continue;
      for (auto& c : *cs) out += std::string(g) + " consumer " + c.name + " " + std::to_string(c.pending) + "\n";
    }
    auto i = info(e(), "s");
    EXPECT_TRUE(i);
    if (i) {
      for (auto& gi : i->groups) {
        out += gi.name + " " + gi.last_delivered.to_string() + " " + std::to_string(gi.entries_read) + " " +
               std::to_string(gi.pending) + " " + std::to_string(gi.consumers) + "\n";
      }
    }
    return out;
  };
  std::string before = state();
  auto cs_before = consumers("s", "g");
  ASSERT_TRUE(cs_before);
  open();
  EXPECT_EQ(before, state());
  auto cs_after = consumers("s", "g");
  ASSERT_TRUE(cs_after);
  ASSERT_EQ(cs_after->size(), 3u);
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ((*cs_after)[k].name, (*cs_before)[k].name);
    EXPECT_EQ((*cs_after)[k].seen_ms, (*cs_before)[k].seen_ms) << (*cs_after)[k].name;
    EXPECT_EQ((*cs_after)[k].active_ms, (*cs_before)[k].active_ms) << (*cs_after)[k].name;
  }
  EXPECT_EQ((*cs_after)[2].active_ms, -1);

  auto p = pending("s", "g");
  ASSERT_TRUE(p);
  std::map<uint64_t, std::pair<std::string, uint64_t>> pel;
  for (auto& pe : *p) pel[pe.number] = {pe.consumer, pe.delivery_count};
  EXPECT_EQ(pel, (std::map<uint64_t, std::pair<std::string, uint64_t>>{
                     {0, {"c1", 1}}, {2, {"c1", 1}}, {3, {"c1", 1}}, {4, {"c2", 2}},
                     {5, {"c2", 2}}, {6, {"c2", 2}}, {7, {"c2", 2}}}));
  // Reading goes on where it stopped.
  auto next = gread("s", "g", "c1", 2);
  ASSERT_TRUE(next);
  EXPECT_EQ(numbers(*next), (std::vector<uint64_t>{8, 9}));
  auto hn = gread("s", "h", "x", 2);
  ASSERT_TRUE(hn);
  EXPECT_EQ(numbers(*hn), (std::vector<uint64_t>{13, 14}));
  auto hs = summary("s", "h");
  ASSERT_TRUE(hs);
  EXPECT_EQ(hs->count, 3u);
}

}  // namespace
}  // namespace redcar
