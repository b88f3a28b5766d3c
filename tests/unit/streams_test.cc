// Streams through the Engine API: appends and their numbers and Redis IDs,
// expected versions, idempotent retries, reads by number and by ID, XDEL,
// trims, deletion, listing, XSETID, and that all of it survives reopening
// the engine — hot, and cold from the disk.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "engine/common/clock.h"
#include "engine/shard/record_bodies.h"
#include "tests/unit/engine_test_util.h"

namespace redcar {
namespace {

using namespace redcar::test;

class StreamsTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }
  void open(EngineOptions o) {
    e_.reset();
    e_ = open_engine(o);
    ASSERT_TRUE(e_);
  }
  void open() { open(mem_options(fs_)); }
  void reopen() {
    e_.reset();
    open();
  }
  Engine& e() { return *e_; }

  io::MemFs fs_;
  std::unique_ptr<Engine> e_;
};

TEST_F(StreamsTest, AppendOneAndManyNumbersFromZero) {
  auto r = append1(e(), "s", "a");
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_EQ(r->first_number, 0u);
  EXPECT_EQ(r->last_number, 0u);
  EXPECT_FALSE(r->duplicate);
  EXPECT_FALSE(r->skipped);
  EXPECT_EQ(r->first_id, r->last_id);

  auto m = append(e(), "s", events(4));
  ASSERT_TRUE(m) << m.status().to_string();
  EXPECT_EQ(m->first_number, 1u);
  EXPECT_EQ(m->last_number, 4u);
  EXPECT_GT(m->first_id, r->last_id);

  auto rr = read(e(), "s");
  ASSERT_TRUE(rr);
  EXPECT_TRUE(rr->exists);
  EXPECT_EQ(numbers_of(rr->events), range_of(0, 5));
  EXPECT_EQ(rr->next_number, 5u);
  EXPECT_EQ(rr->last_id, m->last_id);
  EXPECT_EQ(rr->events[0].payload.data, "a");
  EXPECT_EQ(rr->events[1].payload.data, "e0");
  EXPECT_EQ(rr->events[4].payload.data, "e3");
  for (auto& ev : rr->events) EXPECT_EQ(ev.stream, "s");

  // An empty append is refused and writes nothing.
  auto empty = append(e(), "s", {});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.status().code(), Code::kInvalidArgument);
  auto bad_name = append1(e(), "", "x");
  ASSERT_FALSE(bad_name);
  EXPECT_EQ(bad_name.status().code(), Code::kInvalidArgument);
}

TEST_F(StreamsTest, AutoIdsIncreaseAndShareTheMillisecond) {
  // One append of several events: one millisecond, consecutive sequences.
  auto m = append(e(), "s", events(5));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->first_id.ms, m->last_id.ms);
  EXPECT_EQ(m->last_id.seq, m->first_id.seq + 4);
  uint64_t now_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
  EXPECT_LE(m->first_id.ms, now_ms);
  EXPECT_GT(m->first_id.ms, now_ms - 10000);

  StreamId prev = m->last_id;
  for (int i = 0; i < 50; ++i) {
    auto r = append1(e(), "s", "x");
    ASSERT_TRUE(r);
    EXPECT_GT(r->first_id, prev);
    if (r->first_id.ms == prev.ms) {
      EXPECT_EQ(r->first_id.seq, prev.seq + 1);
    } else {
      EXPECT_EQ(r->first_id.seq, 0u);
    }
    prev = r->first_id;
  }
  // Appends in flight together: many fall in one millisecond.
  constexpr int kPipelined = 200;
  std::vector<std::shared_ptr<std::promise<Result<AppendResult>>>> ps;
  for (int i = 0; i < kPipelined; ++i) {
    auto p = std::make_shared<std::promise<Result<AppendResult>>>();
    ps.push_back(p);
    e().append("s", {event("p")}, {}, [p](Result<AppendResult> r) { p->set_value(std::move(r)); });
  }
  int same_ms = 0;
  for (auto& p : ps) {
    auto f = p->get_future();
    ASSERT_EQ(f.wait_for(kCallTimeout), std::future_status::ready);
    auto r = f.get();
    ASSERT_TRUE(r);
    EXPECT_GT(r->first_id, prev);
    if (r->first_id.ms == prev.ms) {
      EXPECT_EQ(r->first_id.seq, prev.seq + 1);
      same_ms++;
    } else {
      EXPECT_EQ(r->first_id.seq, 0u);
    }
    prev = r->first_id;
  }
  EXPECT_GT(same_ms, 0);

  auto rr = read(e(), "s");
  ASSERT_TRUE(rr);
  for (size_t i = 1; i < rr->events.size(); ++i) EXPECT_GT(rr->events[i].id, rr->events[i - 1].id);
}

TEST_F(StreamsTest, ExplicitIdsMustIncrease) {
  auto r = append1(e(), "s", "a", explicit_id(5, 1));
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_EQ(r->first_id, (StreamId{5, 1}));

  for (StreamId bad : {StreamId{5, 1}, StreamId{5, 0}, StreamId{4, 9}}) {
    auto b = append1(e(), "s", "b", explicit_id(bad.ms, bad.seq));
    ASSERT_FALSE(b) << bad.to_string();
    EXPECT_EQ(b.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(b.status().reason(), Reason::kIdNotAfterLast);
  }
  auto zero = append1(e(), "fresh", "a", explicit_id(0, 0));
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(zero.status().reason(), Reason::kIdZero);
  auto zero_info = info(e(), "fresh");
  ASSERT_TRUE(zero_info);
  EXPECT_FALSE(zero_info->exists);

  auto ok = append1(e(), "fresh", "a", explicit_id(0, 1));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->first_id, (StreamId{0, 1}));

  // Several events from one explicit ID: consecutive sequences.
  auto many = append(e(), "s", events(3), explicit_id(10, 0));
  ASSERT_TRUE(many);
  EXPECT_EQ(many->first_id, (StreamId{10, 0}));
  EXPECT_EQ(many->last_id, (StreamId{10, 2}));
  EXPECT_EQ(many->first_number, 1u);

  // A refused append wrote nothing.
  auto rr = read(e(), "s");
  ASSERT_TRUE(rr);
  ASSERT_EQ(rr->events.size(), 4u);
  EXPECT_EQ(rr->events[0].id, (StreamId{5, 1}));
  EXPECT_EQ(rr->events[3].id, (StreamId{10, 2}));
}

TEST_F(StreamsTest, PartialIdsPickTheSequence) {
  AppendOptions o;
  o.id_mode = IdMode::kAutoSeq;
  o.id = {0, 0};
  auto first = append1(e(), "s", "a", o);  // 0-* on an empty stream is 0-1
  ASSERT_TRUE(first);
  EXPECT_EQ(first->first_id, (StreamId{0, 1}));

  ASSERT_TRUE(append1(e(), "s", "b", explicit_id(5, 2)));
  o.id = {5, 0};
  auto same = append1(e(), "s", "c", o);
  ASSERT_TRUE(same);
  EXPECT_EQ(same->first_id, (StreamId{5, 3}));
  o.id = {7, 0};
  auto later = append(e(), "s", events(2), o);
  ASSERT_TRUE(later);
  EXPECT_EQ(later->first_id, (StreamId{7, 0}));
  EXPECT_EQ(later->last_id, (StreamId{7, 1}));
  o.id = {6, 0};
  auto back = append1(e(), "s", "d", o);
  ASSERT_FALSE(back);
  EXPECT_EQ(back.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(back.status().reason(), Reason::kIdNotAfterLast);
}

TEST_F(StreamsTest, ExpectedVersions) {
  // No stream yet.
  auto exists_missing = append1(e(), "s", "a", expect(ExpectedVersion::exists()));
  ASSERT_FALSE(exists_missing);
  EXPECT_EQ(exists_missing.status().code(), Code::kWrongExpectedVersion);
  EXPECT_EQ(exists_missing.status().detail(), -1);  // no events
  EXPECT_NE(exists_missing.status().message().find("no stream"), std::string::npos)
      << exists_missing.status().message();
  auto exact_missing = append1(e(), "s", "a", expect(ExpectedVersion::exact(0)));
  ASSERT_FALSE(exact_missing);
  EXPECT_EQ(exact_missing.status().code(), Code::kWrongExpectedVersion);

  auto created = append1(e(), "s", "a", expect(ExpectedVersion::no_stream()));
  ASSERT_TRUE(created) << created.status().to_string();
  EXPECT_EQ(created->first_number, 0u);

  auto again = append1(e(), "s", "b", expect(ExpectedVersion::no_stream()));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.status().code(), Code::kWrongExpectedVersion);
  EXPECT_NE(again.status().message().find("actual 0"), std::string::npos) << again.status().message();

  ASSERT_TRUE(append1(e(), "s", "c", expect(ExpectedVersion::exists())));
  ASSERT_TRUE(append1(e(), "s", "d", expect(ExpectedVersion::any())));

  auto exact = append(e(), "s", events(2), expect(ExpectedVersion::exact(2)));
  ASSERT_TRUE(exact) << exact.status().to_string();
  EXPECT_EQ(exact->first_number, 3u);
  EXPECT_EQ(exact->last_number, 4u);

  for (uint64_t wrong : {2u, 3u, 5u, 100u}) {
    auto conflict = append1(e(), "s", "x", expect(ExpectedVersion::exact(wrong)));
    ASSERT_FALSE(conflict);
    EXPECT_EQ(conflict.status().code(), Code::kWrongExpectedVersion);
    EXPECT_NE(conflict.status().message().find("actual 4"), std::string::npos) << conflict.status().message();
    EXPECT_EQ(conflict.status().detail(), 4);
  }
  auto rr = read(e(), "s");
  ASSERT_TRUE(rr);
  EXPECT_EQ(rr->events.size(), 5u);
}

TEST_F(StreamsTest, IdempotentRetryWritesNothing) {
  std::vector<EventData> batch = {idem_event("a", "req-1"), idem_event("b", "req-1b")};
  auto r = append(e(), "s", batch);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->duplicate);
  ASSERT_TRUE(append1(e(), "s", "other"));

  auto retry = append(e(), "s", batch);
  ASSERT_TRUE(retry) << retry.status().to_string();
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->first_number, 0u);
  EXPECT_EQ(retry->last_number, 1u);

  // The retry of an append made with an expected version is still a retry.
  auto guarded = append(e(), "s", {idem_event("c", "req-2")}, expect(ExpectedVersion::exact(2)));
  ASSERT_TRUE(guarded) << guarded.status().to_string();
  EXPECT_EQ(guarded->first_number, 3u);
  auto guarded_retry = append(e(), "s", {idem_event("c", "req-2")}, expect(ExpectedVersion::exact(2)));
  ASSERT_TRUE(guarded_retry) << guarded_retry.status().to_string();
  EXPECT_TRUE(guarded_retry->duplicate);
  EXPECT_EQ(guarded_retry->first_number, 3u);

  auto fresh = append(e(), "n", {idem_event("z", "req-3")}, expect(ExpectedVersion::no_stream()));
  ASSERT_TRUE(fresh);
  auto fresh_retry = append(e(), "n", {idem_event("z", "req-3")}, expect(ExpectedVersion::no_stream()));
  ASSERT_TRUE(fresh_retry) << fresh_retry.status().to_string();
  EXPECT_TRUE(fresh_retry->duplicate);
  EXPECT_EQ(fresh_retry->first_number, 0u);

  auto before = info(e(), "s");
  ASSERT_TRUE(before);
  EXPECT_EQ(before->length, 4u);
  EXPECT_EQ(before->entries_added, 4u);

  // Remembered across a restart.
  reopen();
  auto after = append(e(), "s", batch);
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->duplicate);
  EXPECT_EQ(after->first_number, 0u);
  auto rr = read(e(), "s");
  ASSERT_TRUE(rr);
  EXPECT_EQ(rr->events.size(), 4u);
  EXPECT_EQ(rr->next_number, 4u);
}

TEST_F(StreamsTest, NoCreateSkipsMissingStreams) {
  AppendOptions o;
  o.no_create = true;
  auto r = append1(e(), "s", "a", o);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->skipped);
  auto i = info(e(), "s");
  ASSERT_TRUE(i);
  EXPECT_FALSE(i->exists);
  auto rr = read(e(), "s");
  ASSERT_TRUE(rr);
  EXPECT_FALSE(rr->exists);

  ASSERT_TRUE(append1(e(), "s", "a"));
  auto r2 = append1(e(), "s", "b", o);
  ASSERT_TRUE(r2);
  EXPECT_FALSE(r2->skipped);
  EXPECT_EQ(r2->first_number, 1u);
}

TEST_F(StreamsTest, ReadByNumber) {
  ASSERT_TRUE(append(e(), "s", events(100)));
  auto check = [&](ReadSpec spec, std::vector<uint64_t> want) {
    auto rr = read(e(), "s", spec);
    ASSERT_TRUE(rr) << rr.status().to_string();
    EXPECT_EQ(numbers_of(rr->events), want);
    EXPECT_TRUE(rr->exists);
    EXPECT_EQ(rr->next_number, 100u);
    for (auto& ev : rr->events) EXPECT_EQ(ev.payload.data, "e" + std::to_string(ev.number));
  };
  check(numbers_spec(10, 19), range_of(10, 20));
  check(numbers_spec(95, UINT64_MAX, 10), range_of(95, 100));
  check(numbers_spec(50, UINT64_MAX, 3), range_of(50, 53));
  check(numbers_spec(31, 33), range_of(31, 34));  // across an index block
  check(numbers_spec(100), {});
  check(numbers_spec(5000), {});
  check(numbers_spec(20, 10), {});
  check(numbers_spec(0, UINT64_MAX, 0), {});
  check(numbers_spec(10, 19, 3, true), {19, 18, 17});
  check(numbers_spec(0, UINT64_MAX, 2, true), {99, 98});

  auto missing = read(e(), "nope");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->exists);
  EXPECT_TRUE(missing->events.empty());
  EXPECT_EQ(missing->next_number, 0u);
}

TEST_F(StreamsTest, ReadByIdForwardAndReverse) {
  // IDs (n+1)*10-0 for n in [0, 100): several index blocks.
  for (uint64_t n = 0; n < 100; ++n) ASSERT_TRUE(append1(e(), "s", "e" + std::to_string(n), explicit_id((n + 1) * 10, 0)));
  auto id = [](uint64_t n) { return StreamId{(n + 1) * 10, 0}; };
  auto check = [&](ReadSpec spec, std::vector<uint64_t> want) {
    auto rr = read(e(), "s", spec);
    ASSERT_TRUE(rr) << rr.status().to_string();
    EXPECT_EQ(numbers_of(rr->events), want) << spec.from_id.to_string() << ".." << spec.to_id.to_string()
                                            << (spec.reverse ? " rev" : "");
    for (auto& ev : rr->events) EXPECT_EQ(ev.id, id(ev.number));
  };
  check(ids_spec(StreamId::min(), StreamId::max()), range_of(0, 100));
  check(ids_spec(id(10), id(20)), range_of(10, 21));
  check(ids_spec(id(10), id(20), 4), range_of(10, 14));
  // Bounds between IDs.
  check(ids_spec({105, 0}, {215, 0}), range_of(10, 21));
  // Exclusive bounds, as XRANGE's '(' does.
  check(ids_spec(id(10).next(), id(20).prev()), range_of(11, 20));
  check(ids_spec({101, 0}, {109, 0}), {});
  check(ids_spec(id(99).next(), StreamId::max()), {});

  // Reverse: newest first, bounds keep their meaning.
  check(ids_spec(id(10), id(20), 3, true), {20, 19, 18});
  check(ids_spec(StreamId::min(), StreamId::max(), 5, true), {99, 98, 97, 96, 95});
  std::vector<uint64_t> all_rev = range_of(0, 100);
  std::reverse(all_rev.begin(), all_rev.end());
  check(ids_spec(StreamId::min(), StreamId::max(), UINT64_MAX, true), all_rev);
  std::vector<uint64_t> mid_rev = range_of(25, 71);
  std::reverse(mid_rev.begin(), mid_rev.end());
  check(ids_spec(id(25), id(70), UINT64_MAX, true), mid_rev);
  check(ids_spec(id(25).next(), id(70).prev(), 2, true), {69, 68});
  check(ids_spec(StreamId::min(), {5, 0}, 10, true), {});
}

TEST_F(StreamsTest, DeleteEventsHidesThemDurably) {
  auto r = append(e(), "s", events(40));
  ASSERT_TRUE(r);
  auto all = read(e(), "s");
  ASSERT_TRUE(all);
  auto id = [&](uint64_t n) { return all->events[n].id; };

  auto n = call<uint64_t>([&](auto cb) { e().delete_events("s", {id(2), id(35), id(2), StreamId{1, 1}}, cb); });
  ASSERT_TRUE(n) << n.status().to_string();
  EXPECT_EQ(*n, 2u);
  auto again = call<uint64_t>([&](auto cb) { e().delete_events("s", {id(2)}, cb); });
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0u);
  auto none = call<uint64_t>([&](auto cb) { e().delete_events("missing", {id(2)}, cb); });
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, 0u);

  auto verify = [&] {
    std::vector<uint64_t> want;
    for (uint64_t k = 0; k < 40; ++k) {
      if (k != 2 && k != 35) want.push_back(k);
    }
    auto rr = read(e(), "s");
    ASSERT_TRUE(rr);
    EXPECT_EQ(numbers_of(rr->events), want);
    auto by_id = read(e(), "s", ids_spec(StreamId::min(), StreamId::max()));
    ASSERT_TRUE(by_id);
    EXPECT_EQ(numbers_of(by_id->events), want);
    auto window = read(e(), "s", numbers_spec(0, 4));
    ASSERT_TRUE(window);
    EXPECT_EQ(numbers_of(window->events), (std::vector<uint64_t>{0, 1, 3, 4}));
    auto rev = read(e(), "s", ids_spec(StreamId::min(), StreamId::max(), 3, true));
    ASSERT_TRUE(rev);
    EXPECT_EQ(numbers_of(rev->events), (std::vector<uint64_t>{39, 38, 37}));
    auto rev_num = read(e(), "s", numbers_spec(30, 37, 4, true));
    ASSERT_TRUE(rev_num);
    EXPECT_EQ(numbers_of(rev_num->events), (std::vector<uint64_t>{37, 36, 34, 33}));
    auto rev_num_low = read(e(), "s", numbers_spec(0, 3, 3, true));
    ASSERT_TRUE(rev_num_low);
    EXPECT_EQ(numbers_of(rev_num_low->events), (std::vector<uint64_t>{3, 1, 0}));
    auto i = info(e(), "s");
    ASSERT_TRUE(i);
    EXPECT_EQ(i->length, 38u);
    EXPECT_EQ(i->max_deleted_id, id(35));
    EXPECT_EQ(i->entries_added, 40u);
    EXPECT_EQ(i->next_number, 40u);
  };
  verify();
  reopen();
  verify();
  // Deleting the first event moves the first ID.
  auto first = call<uint64_t>([&](auto cb) { e().delete_events("s", {id(0)}, cb); });
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, 1u);
  auto i = info(e(), "s");
  ASSERT_TRUE(i);
  EXPECT_EQ(i->first_id, id(1));
  EXPECT_EQ(i->length, 37u);
}

TEST_F(StreamsTest, TrimByMaxCountExactAndApproximate) {
  ASSERT_TRUE(append(e(), "exact", events(100)));
  ASSERT_TRUE(append(e(), "approx", events(100)));
  auto all = read(e(), "exact");
  ASSERT_TRUE(all);

  TrimSpec t;
  t.kind = TrimSpec::Kind::kMaxCount;
  t.value = 30;
  auto removed = trim(e(), "exact", t);
  ASSERT_TRUE(removed) << removed.status().to_string();
  EXPECT_EQ(*removed, 70u);
  auto nothing = trim(e(), "exact", t);
  ASSERT_TRUE(nothing);
  EXPECT_EQ(*nothing, 0u);

  t.approximate = true;
  auto approx = trim(e(), "approx", t);
  ASSERT_TRUE(approx);
  EXPECT_LE(*approx, 70u);  // may stop early, never goes past
  EXPECT_EQ(*approx % limits::kIndexStride, 0u);
  uint64_t approx_first = *approx;

  auto verify = [&] {
    auto i = info(e(), "exact");
    ASSERT_TRUE(i);
    EXPECT_EQ(i->length, 30u);
    EXPECT_EQ(i->first_number, 70u);
    EXPECT_EQ(i->first_id, all->events[70].id);
    EXPECT_EQ(i->next_number, 100u);
    auto rr = read(e(), "exact");
    ASSERT_TRUE(rr);
    EXPECT_EQ(numbers_of(rr->events), range_of(70, 100));
    auto below = read(e(), "exact", numbers_spec(0, 69));
    ASSERT_TRUE(below);
    EXPECT_TRUE(below->events.empty());
    auto ai = info(e(), "approx");
    ASSERT_TRUE(ai);
    EXPECT_EQ(ai->first_number, approx_first);
    EXPECT_EQ(ai->length, 100u - approx_first);
    EXPECT_GE(ai->length, 30u);
  };
  verify();
  reopen();
  verify();

  // XADD with MAXLEN: trimmed as part of the append.
  AppendOptions o;
  o.trim.kind = TrimSpec::Kind::kMaxCount;
  o.trim.value = 10;
  for (int k = 0; k < 25; ++k) ASSERT_TRUE(append1(e(), "capped", "c" + std::to_string(k), o));
  auto ci = info(e(), "capped");
  ASSERT_TRUE(ci);
  EXPECT_EQ(ci->length, 10u);
  EXPECT_EQ(ci->first_number, 15u);
  reopen();
  auto cr = read(e(), "capped");
  ASSERT_TRUE(cr);
  EXPECT_EQ(numbers_of(cr->events), range_of(15, 25));
}

TEST_F(StreamsTest, TrimByMinId) {
  for (uint64_t n = 1; n <= 100; ++n) ASSERT_TRUE(append1(e(), "s", "x", explicit_id(n, 0)));
  TrimSpec t;
  t.kind = TrimSpec::Kind::kMinId;
  t.min_id = {51, 0};
  auto removed = trim(e(), "s", t);
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, 50u);
  t.min_id = {60, 5};  // between IDs: 60-0 goes, 61-0 stays
  auto more = trim(e(), "s", t);
  ASSERT_TRUE(more);
  EXPECT_EQ(*more, 10u);
  auto verify = [&] {
    auto i = info(e(), "s");
    ASSERT_TRUE(i);
    EXPECT_EQ(i->length, 40u);
    EXPECT_EQ(i->first_id, (StreamId{61, 0}));
    EXPECT_EQ(i->first_number, 60u);
    EXPECT_EQ(i->last_id, (StreamId{100, 0}));
    auto rr = read(e(), "s", ids_spec(StreamId::min(), StreamId::max()));
    ASSERT_TRUE(rr);
    ASSERT_EQ(rr->events.size(), 40u);
    EXPECT_EQ(rr->events.front().id, (StreamId{61, 0}));
  };
  verify();
  reopen();
  verify();
}

// Trimming by number drops every event below it, never past the end, and
// only moves forward.
TEST_F(StreamsTest, TrimByMinNumber) {
  ASSERT_TRUE(append(e(), "s", events(50)));
  TrimSpec t;
  t.kind = TrimSpec::Kind::kMinNumber;
  t.value = 20;
  auto removed = trim(e(), "s", t);
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, 20u);
  t.value = 10;  // behind the first kept: nothing to do
  EXPECT_EQ(*trim(e(), "s", t), 0u);
  t.value = 1000;  // past the end: everything goes, numbering stays
  EXPECT_EQ(*trim(e(), "s", t), 30u);
  reopen();
  auto i = info(e(), "s");
  ASSERT_TRUE(i);
  EXPECT_EQ(i->length, 0u);
  EXPECT_EQ(i->first_number, 50u);
  EXPECT_EQ(i->next_number, 50u);
}

TEST_F(StreamsTest, TrimByMaxBytesKeepsTheNewest) {
  // Equal events, so each takes the same bytes.
  std::vector<EventData> evs;
  for (int k = 0; k < 100; ++k) evs.push_back(event(std::string(200, 'a' + k % 26)));
  ASSERT_TRUE(append(e(), "s", evs));
  auto before = info(e(), "s");
  ASSERT_TRUE(before);
  ASSERT_GT(before->bytes, 0u);
  uint64_t per_event = before->bytes / 100;
  ASSERT_EQ(before->bytes % 100, 0u);

  // Room for 45 events: the 45 newest must stay; at most one index block
  // more may stay with them.
  TrimSpec t;
  t.kind = TrimSpec::Kind::kMaxBytes;
  t.value = per_event * 45 + per_event / 2;
  auto removed = trim(e(), "s", t);
  ASSERT_TRUE(removed) << removed.status().to_string();
  EXPECT_LE(*removed, 55u);
  EXPECT_GE(*removed, 55u - limits::kIndexStride);
  uint64_t kept = 100 - *removed;
  auto verify = [&] {
    auto i = info(e(), "s");
    ASSERT_TRUE(i);
    EXPECT_EQ(i->length, kept);
    EXPECT_EQ(i->first_number, 100 - kept);
    auto rr = read(e(), "s");
    ASSERT_TRUE(rr);
    EXPECT_EQ(numbers_of(rr->events), range_of(100 - kept, 100));
    ASSERT_FALSE(rr->events.empty());
    EXPECT_EQ(i->first_id, rr->events.front().id);
  };
  verify();
  reopen();
  verify();

  // A budget below one event's size removes all but what an index block keeps.
  t.value = 1;
  ASSERT_TRUE(trim(e(), "s", t));
  auto i = info(e(), "s");
  ASSERT_TRUE(i);
  EXPECT_LE(i->length, limits::kIndexStride);
  EXPECT_EQ(i->next_number, 100u);
}

TEST_F(StreamsTest, TrimByMaxAgeKeepsYoungEvents) {
  ASSERT_TRUE(append(e(), "s", events(64, "old")));
  // Explicit, small IDs: age is judged by the time events were written.
  for (uint64_t n = 1; n <= 40; ++n) ASSERT_TRUE(append1(e(), "ids", "old", explicit_id(n, 0)));
  sleep_ms(250);
  ASSERT_TRUE(append(e(), "s", events(10, "new")));
  ASSERT_TRUE(append1(e(), "ids", "new", explicit_id(41, 0)));

  TrimSpec t;
  t.kind = TrimSpec::Kind::kMaxAge;
  t.value = 150;  // ms
  auto removed = trim(e(), "s", t);
  ASSERT_TRUE(removed) << removed.status().to_string();
  EXPECT_GE(*removed, limits::kIndexStride);
  EXPECT_LE(*removed, 64u);
  auto ids_removed = trim(e(), "ids", t);
  ASSERT_TRUE(ids_removed);
  EXPECT_LE(*ids_removed, 40u);

  auto verify = [&] {
    auto rr = read(e(), "s");
    ASSERT_TRUE(rr);
    ASSERT_GE(rr->events.size(), 10u);
    EXPECT_EQ(rr->events.size(), 74u - *removed);
    for (size_t k = rr->events.size() - 10; k < rr->events.size(); ++k) {
      EXPECT_EQ(rr->events[k].payload.data, "new" + std::to_string(k - (rr->events.size() - 10)));
    }
    auto i = info(e(), "s");
    ASSERT_TRUE(i);
    EXPECT_EQ(i->length, rr->events.size());
    EXPECT_EQ(i->first_id, rr->events.front().id);
    auto ids = read(e(), "ids");
    ASSERT_TRUE(ids);
    ASSERT_FALSE(ids->events.empty());
    EXPECT_EQ(ids->events.back().payload.data, "new");
    EXPECT_EQ(ids->events.back().id, (StreamId{41, 0}));
  };
  verify();
  reopen();
  verify();

  // Once everything is old, everything goes.
  sleep_ms(250);
  auto rest = trim(e(), "s", t);
  ASSERT_TRUE(rest);
  auto i = info(e(), "s");
  ASSERT_TRUE(i);
  EXPECT_EQ(i->length, 0u);
  EXPECT_EQ(i->next_number, 74u);
  EXPECT_TRUE(i->exists);
  reopen();
  i = info(e(), "s");
  ASSERT_TRUE(i);
  EXPECT_EQ(i->length, 0u);
  EXPECT_TRUE(i->first_id.is_zero());
  auto after = append1(e(), "s", "again");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->first_number, 74u);
}

TEST_F(StreamsTest, DeleteStreamThenAppendRestartsAtZero) {
  ASSERT_TRUE(append(e(), "s", events(50)));
  ASSERT_TRUE(call<bool>([&](auto cb) { e().group_create("s", "g", StreamId::min(), false, std::nullopt, cb); }));
  auto d = call<bool>([&](auto cb) { e().delete_stream("s", cb); });
  ASSERT_TRUE(d);
  EXPECT_TRUE(*d);
  auto d2 = call<bool>([&](auto cb) { e().delete_stream("s", cb); });
  ASSERT_TRUE(d2);
  EXPECT_FALSE(*d2);
  auto i = info(e(), "s");
  ASSERT_TRUE(i);
  EXPECT_FALSE(i->exists);
  auto rr = read(e(), "s");
  ASSERT_TRUE(rr);
  EXPECT_FALSE(rr->exists);
  EXPECT_TRUE(rr->events.empty());
  auto names = call<std::vector<std::string>>([&](auto cb) { e().list_streams("", cb); });
  ASSERT_TRUE(names);
  EXPECT_TRUE(names->empty());

  auto r = append1(e(), "s", "reborn", explicit_id(1, 0));  // IDs restart too
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_EQ(r->first_number, 0u);
  auto verify = [&] {
    auto rr = read(e(), "s");
    ASSERT_TRUE(rr);
    ASSERT_EQ(rr->events.size(), 1u);
    EXPECT_EQ(rr->events[0].number, 0u);
    EXPECT_EQ(rr->events[0].payload.data, "reborn");
    auto i = info(e(), "s");
    ASSERT_TRUE(i);
    EXPECT_EQ(i->length, 1u);
    EXPECT_EQ(i->entries_added, 1u);
    EXPECT_TRUE(i->groups.empty());
  };
  verify();
  reopen();
  verify();
  auto r2 = append1(e(), "s", "next");
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->first_number, 1u);
}

// A deadline (EXPIRE on a stream): readers stop seeing the stream at it,
// the shard's timer deletes it (counted as expired), and what is written
// next is a new stream. A deadline moved later before it passes keeps the
// stream; one in the past deletes it at once.
TEST_F(StreamsTest, ExpiredStreamIsDeletedAndWritesStartAnew) {
  ASSERT_TRUE(append(e(), "s", events(50)));
  ASSERT_TRUE(call<bool>([&](auto cb) { e().group_create("s", "g", StreamId::min(), false, std::nullopt, cb); }));
  ASSERT_TRUE(append(e(), "moved", events(3)));
  auto expire = [&](const std::string& name, KvExpire x) {
    auto r = call<bool>([&](auto cb) { e().stream_expire(name, x, cb); });
    EXPECT_TRUE(r) << r.status().to_string();
    return r && *r;
  };
  EXPECT_FALSE(expire("missing", {.at_ms = now_ms() + 1000}));
  const int64_t at = now_ms() + 400;
  ASSERT_TRUE(expire("s", {.at_ms = at}));
  ASSERT_TRUE(expire("moved", {.at_ms = now_ms() + 200}));
  ASSERT_TRUE(expire("moved", {.at_ms = now_ms() + 3'600'000, .gt = true}));
  auto i = info(e(), "s");
  ASSERT_TRUE(i);
  EXPECT_EQ(i->deadline_ms, at);
  auto stats = [&] {
    auto r = call<KvExpiryStats>([&](auto cb) { e().stream_expiry_stats(cb); });
    EXPECT_TRUE(r);
    return r ? *r : KvExpiryStats{};
  };
  EXPECT_EQ(stats().database(0).keys, 2u);
  EXPECT_EQ(stats().database(0).expiring, 2u);
  while (now_ms() <= at) sleep_ms(5);
  i = info(e(), "s");
  ASSERT_TRUE(i);
  EXPECT_FALSE(i->exists);
  auto rr = read(e(), "s");
  ASSERT_TRUE(rr);
  EXPECT_TRUE(rr->events.empty());
  auto names = call<std::vector<std::string>>([&](auto cb) { e().list_streams("", cb); });
  ASSERT_TRUE(names);
  EXPECT_EQ(*names, std::vector<std::string>{"moved"});
  EXPECT_TRUE(eventually([&] { return stats().expired == 1; }));
  EXPECT_EQ(stats().database(0).keys, 1u);
  auto verify = [&] {
    auto m = info(e(), "moved");
    ASSERT_TRUE(m);
    EXPECT_TRUE(m->exists) << "its deadline moved later";
    auto gone = info(e(), "s");
    ASSERT_TRUE(gone);
    EXPECT_FALSE(gone->exists);
  };
  verify();
  reopen();
  verify();
  auto r = append1(e(), "s", "reborn", explicit_id(1, 0));
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_EQ(r->first_number, 0u);
  i = info(e(), "s");
  ASSERT_TRUE(i);
  EXPECT_EQ(i->length, 1u);
  EXPECT_EQ(i->deadline_ms, 0);
  EXPECT_TRUE(i->groups.empty());
  // In the past: deleted when the call is answered.
  EXPECT_TRUE(expire("moved", {.at_ms = 1}));
  i = info(e(), "moved");
  ASSERT_TRUE(i);
  EXPECT_FALSE(i->exists);
}

// Writes that come between a stream's deadline and its delete: each one
// acts on a new stream, whichever of the write and the timer comes first.
TEST_F(StreamsTest, WritesRacingADeadlineActOnANewStream) {
  for (int round = 0; round < 20; ++round) {
    const std::string name = "race" + std::to_string(round);
    ASSERT_TRUE(append(e(), name, events(5)));
    const int64_t at = now_ms() + 2;
    ASSERT_TRUE(call<bool>([&](auto cb) { e().stream_expire(name, {.at_ms = at}, cb); }));
    while (now_ms() <= at) {
    }
    auto r = append1(e(), name, "new");
    ASSERT_TRUE(r) << r.status().to_string();
    EXPECT_EQ(r->first_number, 0u) << name;
    auto i = info(e(), name);
    ASSERT_TRUE(i);
    EXPECT_EQ(i->length, 1u) << name;
    EXPECT_EQ(i->deadline_ms, 0) << name;
  }
  reopen();
  for (int round = 0; round < 20; ++round) {
    auto i = info(e(), "race" + std::to_string(round));
    ASSERT_TRUE(i);
    EXPECT_EQ(i->length, 1u);
    EXPECT_EQ(i->next_number, 1u);
  }
}

// stream-config bodies: tagged values; an unknown tag or trailing bytes
// are refused, as settings this version cannot keep.
TEST(StreamConfigBody, RoundTripAndRefusals) {
  using shard::StreamConfigBody;
  StreamConfigBody b;
  ASSERT_TRUE(shard::decode_stream_config(shard::encode_stream_config({.deadline_ms = 1234567}), &b));
  EXPECT_EQ(b.deadline_ms, 1234567);
  ASSERT_TRUE(shard::decode_stream_config(shard::encode_stream_config({}), &b));
  EXPECT_EQ(b.deadline_ms, 0);
  EXPECT_FALSE(shard::decode_stream_config(std::string("\x01\x07\x05", 3), &b)) << "tag 7";
  EXPECT_FALSE(shard::decode_stream_config(std::string("\x00\x00", 2), &b)) << "trailing";
  EXPECT_FALSE(shard::decode_stream_config(std::string("\x01\x01", 2), &b)) << "cut short";
}

TEST_F(StreamsTest, ListStreamsAcrossShards) {
  std::set<unsigned> shards;
  for (int k = 0; k < 20; ++k) {
    std::string name = "a/" + std::to_string(k);
    shards.insert(e().shard_of(name));
    ASSERT_TRUE(append1(e(), name, "x"));
  }
  for (int k = 0; k < 5; ++k) ASSERT_TRUE(append1(e(), "b/" + std::to_string(k), "x"));
  EXPECT_EQ(shards.size(), 2u);
  EXPECT_EQ(e().shard_count(), 2u);

  auto verify = [&] {
    auto a = call<std::vector<std::string>>([&](auto cb) { e().list_streams("a/", cb); });
    ASSERT_TRUE(a);
    ASSERT_EQ(a->size(), 20u);
    EXPECT_TRUE(std::is_sorted(a->begin(), a->end()));
    for (auto& n : *a) EXPECT_EQ(n.rfind("a/", 0), 0u);
    auto all = call<std::vector<std::string>>([&](auto cb) { e().list_streams("", cb); });
    ASSERT_TRUE(all);
    EXPECT_EQ(all->size(), 25u);
    EXPECT_TRUE(std::is_sorted(all->begin(), all->end()));
    auto none = call<std::vector<std::string>>([&](auto cb) { e().list_streams("zzz", cb); });
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
  };
  verify();
  reopen();
  verify();
}

TEST_F(StreamsTest, SetLastId) {
  ASSERT_TRUE(append1(e(), "s", "a", explicit_id(5, 0)));
  auto missing = call<bool>([&](auto cb) { e().set_last_id("nope", {1, 0}, std::nullopt, std::nullopt, cb); });
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  auto smaller = call<bool>([&](auto cb) { e().set_last_id("s", {4, 0}, std::nullopt, std::nullopt, cb); });
  ASSERT_FALSE(smaller);
  EXPECT_EQ(smaller.status().code(), Code::kInvalidArgument);
  auto bad_added = call<bool>([&](auto cb) { e().set_last_id("s", {6, 0}, uint64_t{0}, std::nullopt, cb); });
  ASSERT_FALSE(bad_added);
  EXPECT_EQ(bad_added.status().code(), Code::kInvalidArgument);

  auto ok = call<bool>([&](auto cb) { e().set_last_id("s", {100, 7}, uint64_t{10}, StreamId{3, 0}, cb); });
  ASSERT_TRUE(ok) << ok.status().to_string();
  EXPECT_TRUE(*ok);
  auto verify = [&] {
    auto i = info(e(), "s");
    ASSERT_TRUE(i);
    EXPECT_EQ(i->last_id, (StreamId{100, 7}));
    EXPECT_EQ(i->entries_added, 10u);
    EXPECT_EQ(i->max_deleted_id, (StreamId{3, 0}));
    EXPECT_EQ(i->length, 1u);
    auto rr = read(e(), "s");
    ASSERT_TRUE(rr);
    EXPECT_EQ(rr->last_id, (StreamId{100, 7}));
  };
  verify();
  reopen();
  verify();
  auto low = append1(e(), "s", "b", explicit_id(50, 0));
  ASSERT_FALSE(low);
  AppendOptions o;
  o.id_mode = IdMode::kAutoSeq;
  o.id = {100, 0};
  auto r = append1(e(), "s", "c", o);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first_id, (StreamId{100, 8}));
  EXPECT_EQ(r->first_number, 1u);
  // A last ID far ahead of the clock: auto IDs continue from it.
  ASSERT_TRUE(call<bool>([&](auto cb) { e().set_last_id("s", {UINT64_MAX / 2, 0}, std::nullopt, std::nullopt, cb); }));
  auto a = append1(e(), "s", "d");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->first_id, (StreamId{UINT64_MAX / 2, 1}));
}

TEST_F(StreamsTest, StreamInfoFields) {
  auto missing = info(e(), "s");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->exists);
  EXPECT_EQ(missing->name, "s");

  auto t0 = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto r = append(e(), "s", events(10));
  ASSERT_TRUE(r);
  ASSERT_TRUE(call<bool>([&](auto cb) { e().group_create("s", "g1", StreamId::min(), false, std::nullopt, cb); }));
  ASSERT_TRUE(call<bool>([&](auto cb) { e().group_create("s", "g2", StreamId::max(), false, std::nullopt, cb); }));
  GroupReadOptions gr;
  gr.group = "g1";
  gr.consumer = "c";
  gr.count = 4;
  ASSERT_TRUE(call<std::vector<GroupEntry>>([&](auto cb) { e().group_read("s", gr, cb); }));

  auto verify = [&] {
    auto i = info(e(), "s");
    ASSERT_TRUE(i);
    EXPECT_TRUE(i->exists);
    EXPECT_EQ(i->name, "s");
    EXPECT_EQ(i->length, 10u);
    EXPECT_EQ(i->first_number, 0u);
    EXPECT_EQ(i->next_number, 10u);
    EXPECT_EQ(i->first_id, r->first_id);
    EXPECT_EQ(i->last_id, r->last_id);
    EXPECT_TRUE(i->max_deleted_id.is_zero());
    EXPECT_EQ(i->entries_added, 10u);
    EXPECT_GT(i->bytes, 10u * 48);
    EXPECT_GE(i->created_us, t0 - 1000);
    ASSERT_EQ(i->groups.size(), 2u);
    EXPECT_EQ(i->groups[0].name, "g1");
    EXPECT_EQ(i->groups[0].pending, 4u);
    EXPECT_EQ(i->groups[0].consumers, 1u);
    EXPECT_EQ(i->groups[0].last_delivered, (StreamId{r->first_id.ms, r->first_id.seq + 3}));
    EXPECT_EQ(i->groups[0].entries_read, 4u);
    ASSERT_TRUE(i->groups[0].lag.has_value());
    EXPECT_EQ(*i->groups[0].lag, 6u);
    EXPECT_EQ(i->groups[1].name, "g2");
    EXPECT_EQ(i->groups[1].last_delivered, r->last_id);
    EXPECT_EQ(i->groups[1].pending, 0u);
    ASSERT_TRUE(i->groups[1].lag.has_value());
    EXPECT_EQ(*i->groups[1].lag, 0u);
  };
  verify();
  reopen();
  verify();
}

TEST_F(StreamsTest, EventsRoundTrip) {
  EventData a;
  a.type = "order.placed";
  a.data = std::string("bin\0ary\xff", 8);
  a.content_type = "application/octet-stream";
  EventData b = fields_event({{"name", "alice"}, {"", ""}, {"k", std::string(3, '\0')}, {"name", "dup"}});
  EventData c;  // nothing at all
  ASSERT_TRUE(append(e(), "s", {a, b, c}));
  auto verify = [&] {
    auto rr = read(e(), "s");
    ASSERT_TRUE(rr);
    ASSERT_EQ(rr->events.size(), 3u);
    const EventData& ra = rr->events[0].payload;
    EXPECT_EQ(ra.type, a.type);
    EXPECT_EQ(ra.data, a.data);
    EXPECT_EQ(ra.content_type, a.content_type);
    EXPECT_TRUE(ra.fields.empty());
    const EventData& rb = rr->events[1].payload;
    ASSERT_EQ(rb.fields.size(), 4u);
    for (size_t k = 0; k < 4; ++k) {
      EXPECT_EQ(rb.fields[k].name, b.fields[k].name);
      EXPECT_EQ(rb.fields[k].value, b.fields[k].value);
    }
    EXPECT_TRUE(rb.type.empty());
    EXPECT_TRUE(rb.data.empty());
    const EventData& rc = rr->events[2].payload;
    EXPECT_TRUE(rc.type.empty() && rc.data.empty() && rc.fields.empty() && rc.content_type.empty());
    EXPECT_GT(rr->events[0].timestamp_us, 0);
  };
  verify();
  reopen();
  verify();
}

TEST_F(StreamsTest, OneMebibyteEvent) {
  EngineOptions o = mem_options(fs_);
  o.data_dir = "/big";
  o.segment_bytes = 4 << 20;
  open(o);
  std::string big(1 << 20, '\0');
  for (size_t k = 0; k < big.size(); ++k) big[k] = static_cast<char>('a' + (k * 7919) % 26);
  ASSERT_TRUE(append1(e(), "s", "small"));
  auto r = append1(e(), "s", big);
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_EQ(r->first_number, 1u);
  ASSERT_TRUE(append1(e(), "s", "after"));
  auto verify = [&] {
    auto rr = read(e(), "s");
    ASSERT_TRUE(rr) << rr.status().to_string();
    ASSERT_EQ(rr->events.size(), 3u);
    EXPECT_EQ(rr->events[0].payload.data, "small");
    EXPECT_TRUE(rr->events[1].payload.data == big);
    EXPECT_EQ(rr->events[2].payload.data, "after");
  };
  verify();
  o.hot_cache_bytes = 0;  // read it back from the disk
  open(o);
  verify();

  // Too large for a 64 KiB segment: refused, nothing written.
  EngineOptions small = mem_options(fs_);
  small.data_dir = "/small";
  open(small);
  auto too_big = append1(e(), "other", std::string(100 << 10, 'x'));
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.status().code(), Code::kInvalidArgument);
  auto i = info(e(), "other");
  ASSERT_TRUE(i);
  EXPECT_FALSE(i->exists);
  // Behind a small one in the same append: the whole append is refused.
  auto mixed = append(e(), "other", {event("small"), event(std::string(100 << 10, 'x'))});
  ASSERT_FALSE(mixed);
  EXPECT_EQ(mixed.status().code(), Code::kInvalidArgument);
  i = info(e(), "other");
  ASSERT_TRUE(i);
  EXPECT_FALSE(i->exists);
  auto after = append1(e(), "other", "next");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->first_number, 0u);
}

// Every read a client can make, as text, to compare two engines' answers.
std::string snapshot(Engine& e, const std::vector<std::string>& streams) {
  std::string out;
  auto dump = [&](const Result<ReadResult>& rr) {
    if (!rr) {
      out += "error " + rr.status().to_string() + "\n";
      return;
    }
    out += "exists " + std::to_string(rr->exists) + " next " + std::to_string(rr->next_number) + " last " +
           rr->last_id.to_string() + ":";
    for (auto& ev : rr->events) {
      out += " " + std::to_string(ev.number) + "/" + ev.id.to_string() + "/" + ev.payload.type + "/" +
             ev.payload.data + "/" + std::to_string(ev.timestamp_us);
    }
    out += "\n";
  };
  for (auto& s : streams) {
    dump(read(e, s));
    dump(read(e, s, numbers_spec(37, 90)));
    dump(read(e, s, numbers_spec(0, UINT64_MAX, 7, true)));
    dump(read(e, s, numbers_spec(100, 150, 20, true)));
    dump(read(e, s, ids_spec(StreamId::min(), StreamId::max(), 45)));
    dump(read(e, s, ids_spec(StreamId::min(), StreamId::max(), 45, true)));
    dump(read(e, s, ids_spec({1000, 0}, {1100, 0}, UINT64_MAX, true)));
    auto i = info(e, s);
    if (i) {
      out += "info " + std::to_string(i->length) + " " + std::to_string(i->first_number) + " " +
             i->first_id.to_string() + " " + i->last_id.to_string() + " " + std::to_string(i->bytes) + "\n";
    }
  }
  return out;
}

TEST_F(StreamsTest, ColdReadsGiveTheSameAnswers) {
  std::vector<std::string> streams = {"c0", "c1", "c2", "c3"};
  for (uint64_t n = 0; n < 300; ++n) {
    for (auto& s : streams) {
      ASSERT_TRUE(append1(e(), s, s + std::string(150, 'a' + n % 26) + std::to_string(n), explicit_id(10 * n + 1, n)));
    }
  }
  auto ids = read(e(), "c1", numbers_spec(40, 60));
  ASSERT_TRUE(ids);
  std::vector<StreamId> del;
  for (auto& ev : ids->events) {
    if (ev.number % 3 == 0) del.push_back(ev.id);
  }
  ASSERT_TRUE(call<uint64_t>([&](auto cb) { e().delete_events("c1", del, cb); }));
  TrimSpec t;
  t.kind = TrimSpec::Kind::kMaxCount;
  t.value = 250;
  ASSERT_TRUE(trim(e(), "c2", t));
  std::string hot = snapshot(e(), streams);

  EngineOptions o = mem_options(fs_);
  o.hot_cache_bytes = 0;
  open(o);
  std::string cold = snapshot(e(), streams);
  EXPECT_EQ(hot, cold);
  open(mem_options(fs_));
  EXPECT_EQ(hot, snapshot(e(), streams));
}

// Every field of an event, to compare reads that copy with reads that lend.
std::string describe(const Event& ev) {
  std::string out = ev.stream + " #" + std::to_string(ev.number) + " " + ev.id.to_string() + " @" +
                    std::to_string(ev.timestamp_us) + " type=" + ev.payload.type + " data=" + ev.payload.data +
                    " idem=" + ev.payload.idempotency_id + " ct=" + ev.payload.content_type;
  for (auto& f : ev.payload.fields) out += " [" + f.name + "=" + f.value + "]";
  return out;
}

// A read through read_views, each view copied while it is lent; the visit
// stops after `stop_after` events.
Result<std::string> read_lent(Engine& e, const std::string& s, ReadSpec spec, size_t stop_after = SIZE_MAX) {
  auto out = std::make_shared<std::string>();
  auto seen = std::make_shared<size_t>(0);
  auto st = call<bool>([&](auto cb) {
    e.read_views(
        s, spec,
        [out, seen, stop_after](const EventView& v) {
          Event ev;
          ev.stream = v.stream;
          ev.number = v.number;
          ev.id = v.id;
          ev.timestamp_us = v.timestamp_us;
          ev.payload.type = v.type;
          ev.payload.data = v.data;
          ev.payload.idempotency_id = v.idempotency_id;
          ev.payload.content_type = v.content_type;
          EventView::Fields fields = v.fields;
          std::string_view name, value;
          while (fields.next(&name, &value)) ev.payload.fields.push_back({std::string(name), std::string(value)});
          EXPECT_EQ(ev.payload.fields.size(), v.fields.size());
          *out += describe(ev) + "\n";
          return ++*seen < stop_after;
        },
        [cb](Status st) {
          if (!st) return cb(st);
          cb(true);
        });
  });
  if (!st) return st.status();
  return *out;
}

Result<std::string> read_copied(Engine& e, const std::string& s, ReadSpec spec) {
  auto r = read(e, s, spec);
  if (!r) return r.status();
  std::string out;
  for (auto& ev : r->events) out += describe(ev) + "\n";
  return out;
}

TEST_F(StreamsTest, LentReadsGiveWhatCopiedReadsGive) {
  // Typed events, fields (empty ones, NULs, repeats), idempotency ids,
  // deleted and trimmed events, by number and by ID, hot and cold.
  for (uint64_t n = 0; n < 300; ++n) {
    EventData d;
    if (n % 3 == 0) {
      d.type = "t" + std::to_string(n);
      d.data = std::string("da\0ta", 5) + std::string(n % 200, 'd');
      d.content_type = "application/json";
      d.idempotency_id = "idem-" + std::to_string(n);
    } else {
      d = fields_event({{"f", std::string(n, 'v')}, {"", ""}, {"k", std::string(3, '\0')}, {"f", "dup"}});
    }
    ASSERT_TRUE(append(e(), "v", {d}));
    ASSERT_TRUE(append1(e(), "other", "o" + std::to_string(n)));
  }
  auto some = read(e(), "v", numbers_spec(50, 80));
  ASSERT_TRUE(some);
  std::vector<StreamId> del;
  for (auto& ev : some->events) {
    if (ev.number % 4 == 0) del.push_back(ev.id);
  }
  ASSERT_TRUE(call<uint64_t>([&](auto cb) { e().delete_events("v", del, cb); }));
  TrimSpec t;
  t.kind = TrimSpec::Kind::kMaxCount;
  t.value = 280;
  ASSERT_TRUE(trim(e(), "v", t));
  auto mid = read(e(), "v", numbers_spec(120, 120));
  ASSERT_TRUE(mid);
  ASSERT_EQ(mid->events.size(), 1u);
  const StreamId mid_id = mid->events[0].id;

  const std::vector<ReadSpec> specs = {
      numbers_spec(0),
      numbers_spec(45, 90, 17),
      numbers_spec(299, UINT64_MAX, 5),
      ids_spec(StreamId::min(), StreamId::max()),
      ids_spec(mid_id, StreamId::max(), 10),
      ids_spec(StreamId::min(), mid_id, 1000),
  };
  auto compare = [&](const char* when) {
    for (size_t i = 0; i < specs.size(); ++i) {
      auto lent = read_lent(e(), "v", specs[i]);
      auto copied = read_copied(e(), "v", specs[i]);
      ASSERT_TRUE(lent) << when << " spec " << i;
      ASSERT_TRUE(copied) << when << " spec " << i;
      EXPECT_FALSE(copied->empty()) << when << " spec " << i;
      EXPECT_EQ(*lent, *copied) << when << " spec " << i;
    }
    // A visitor that says stop gets no more events.
    auto three = read_lent(e(), "v", numbers_spec(0), 3);
    auto copied = read_copied(e(), "v", numbers_spec(0, UINT64_MAX, 3));
    ASSERT_TRUE(three && copied);
    EXPECT_EQ(*three, *copied) << when;
    auto none = read_lent(e(), "missing", numbers_spec(0));
    ASSERT_TRUE(none);
    EXPECT_EQ(*none, "") << when;
  };
  compare("hot");
  EngineOptions o = mem_options(fs_);
  o.hot_cache_bytes = 0;
  open(o);
  compare("cold");
}

TEST_F(StreamsTest, LentPagesThatStopAtAFullPageGoOnWithoutReadingAgain) {
  // A page reader (the native Read) stops its scan at the event that would
  // not fit, without taking it; its next page starts at that event. The
  // pages add up to the stream, and, cold, they read the log about once:
  // each page goes on from where the last one stopped, not from the start
  // of its index block (up to kIndexStride events again, per page).
  const uint64_t events = 800;
  for (uint64_t n = 0; n < events; ++n) {
    ASSERT_TRUE(append1(e(), "p", std::to_string(n) + ":" + std::string(10000, 'x')));
    if (n % 7 == 0) {
      ASSERT_TRUE(append1(e(), "other", "o"));
    }
  }
  // Events of 10 KB: an index block's events span more than a block of
  // the log. The hot cache holds the last eighth of the stream; the log
  // reader's block cache (a quarter of it) one block.
  EngineOptions o = mem_options(fs_);
  o.hot_cache_bytes = 1u << 20;
  open(o);
  uint64_t before = fs_.async_read_bytes();
  auto whole = read_lent(e(), "p", numbers_spec(0));
  ASSERT_TRUE(whole);
  const uint64_t once = fs_.async_read_bytes() - before;

  open(o);
  before = fs_.async_read_bytes();
  const size_t page = 41;  // not a multiple of the index stride
  std::vector<uint64_t> got;
  for (uint64_t from = 0;;) {
    size_t taken = 0;
    auto st = call<bool>([&](auto cb) {
      e().read_views(
          "p", numbers_spec(from),
          [&](const EventView& v) {
            if (taken == page) return false;  // full: left for the next page
            EXPECT_EQ(v.data.substr(0, v.data.find(':')), std::to_string(v.number));
            got.push_back(v.number);
            taken++;
            return true;
          },
          [cb](Status st) {
            if (!st) return cb(st);
            cb(true);
          });
    });
    ASSERT_TRUE(st);
    if (taken == 0) break;
    from = got.back() + 1;
  }
  const uint64_t paged = fs_.async_read_bytes() - before;
  EXPECT_EQ(got, test::range_of(0, events));
  EXPECT_LE(paged, once + once / 10) << "read whole: " << once << " bytes; in pages of " << page << ": " << paged;
}

TEST_F(StreamsTest, PagedReadsGoOnWhereTheLastPageStopped) {
  // A reader's next page starts where its last one stopped (not at its
  // index block's first event): the pages must still add up to the
  // stream, hot and cold, interleaved with other streams, and after a
  // delete the stream made again is paged through from its own events.
  auto page_through = [&](const std::string& s, uint64_t page) {
    std::string out;
    uint64_t from = 0;
    for (;;) {
      auto r = read(e(), s, numbers_spec(from, UINT64_MAX, page));
      EXPECT_TRUE(r);
      if (!r || r->events.empty()) break;
      for (auto& ev : r->events) out += std::to_string(ev.number) + "=" + ev.payload.data + " ";
      from = r->events.back().number + 1;
    }
    return out;
  };
  auto whole = [&](const std::string& s) {
    std::string out;
    auto r = read(e(), s);
    EXPECT_TRUE(r);
    if (r) {
      for (auto& ev : r->events) out += std::to_string(ev.number) + "=" + ev.payload.data + " ";
    }
    return out;
  };
  for (uint64_t n = 0; n < 200; ++n) {
    ASSERT_TRUE(append1(e(), "p", "p" + std::to_string(n) + std::string(n % 90, 'x')));
    if (n % 3 == 0) {
      ASSERT_TRUE(append1(e(), "q", "q" + std::to_string(n)));
    }
  }
  const std::string all = whole("p");
  for (uint64_t page : {1, 7, 32, 33, 100}) EXPECT_EQ(page_through("p", page), all) << "page " << page;

  // A page that stopped at event 9, then the stream is deleted and made
  // again: event 10 of the new stream is read, not an early end.
  auto first = read(e(), "p", numbers_spec(0, UINT64_MAX, 10));
  ASSERT_TRUE(first);
  ASSERT_EQ(first->events.size(), 10u);
  ASSERT_TRUE(call<bool>([&](auto cb) { e().delete_stream("p", cb); }));
  for (uint64_t n = 0; n < 40; ++n) ASSERT_TRUE(append1(e(), "p", "new" + std::to_string(n)));
  auto next = read(e(), "p", numbers_spec(10, UINT64_MAX, 5));
  ASSERT_TRUE(next);
  ASSERT_EQ(next->events.size(), 5u);
  EXPECT_EQ(next->events[0].number, 10u);
  EXPECT_EQ(next->events[0].payload.data, "new10");
  EXPECT_EQ(page_through("p", 6), whole("p"));

  EngineOptions o = mem_options(fs_);
  o.hot_cache_bytes = 0;
  open(o);
  const std::string cold = whole("p");
  EXPECT_EQ(page_through("p", 3), cold);
  EXPECT_EQ(page_through("q", 5), whole("q"));
}

TEST(StreamsRealDisk, ColdReadsAfterReopenGiveTheSameAnswers) {
  TempDir dir;
  EngineOptions o;
  o.data_dir = dir.path();
  o.shards = 2;
  o.segment_bytes = limits::kMinSegmentBytes;
  std::vector<std::string> streams = {"d0", "d1", "d2"};
  std::string hot;
  {
    auto e = open_engine(o);
    ASSERT_TRUE(e);
    for (uint64_t n = 0; n < 200; ++n) {
      for (auto& s : streams) {
        ASSERT_TRUE(append1(*e, s, s + std::string(200 + n % 50, 'a' + n % 26), explicit_id(10 * n + 1, n)));
      }
    }
    TrimSpec t;
    t.kind = TrimSpec::Kind::kMaxCount;
    t.value = 150;
    ASSERT_TRUE(trim(*e, "d1", t));
    hot = snapshot(*e, streams);
  }
  o.hot_cache_bytes = 0;
  auto e = open_engine(o);
  ASSERT_TRUE(e);
  EXPECT_EQ(hot, snapshot(*e, streams));
}

TEST_F(StreamsTest, ManyStreamsInterleavedSurviveReopen) {
  constexpr int kStreams = 200, kEvents = 12;
  auto name = [](int k) { return "stream-" + std::to_string(k); };
  // Interleaved, several appends in flight at once.
  for (int round = 0; round < kEvents; ++round) {
    std::vector<std::future<Result<AppendResult>>> futs;
    std::vector<std::shared_ptr<std::promise<Result<AppendResult>>>> ps;
    for (int k = 0; k < kStreams; ++k) {
      auto p = std::make_shared<std::promise<Result<AppendResult>>>();
      futs.push_back(p->get_future());
      e().append(name(k), {event(name(k) + "#" + std::to_string(round))}, {},
                 [p](Result<AppendResult> r) { p->set_value(std::move(r)); });
    }
    for (int k = 0; k < kStreams; ++k) {
      ASSERT_EQ(futs[k].wait_for(kCallTimeout), std::future_status::ready);
      auto r = futs[k].get();
      ASSERT_TRUE(r) << r.status().to_string();
      EXPECT_EQ(r->first_number, static_cast<uint64_t>(round));
    }
  }
  auto verify = [&] {
    for (int k = 0; k < kStreams; ++k) {
      auto rr = read(e(), name(k));
      ASSERT_TRUE(rr);
      ASSERT_EQ(rr->events.size(), static_cast<size_t>(kEvents)) << name(k);
      for (int n = 0; n < kEvents; ++n) {
        EXPECT_EQ(rr->events[n].number, static_cast<uint64_t>(n));
        EXPECT_EQ(rr->events[n].payload.data, name(k) + "#" + std::to_string(n));
      }
    }
    auto all = call<std::vector<std::string>>([&](auto cb) { e().list_streams("stream-", cb); });
    ASSERT_TRUE(all);
    EXPECT_EQ(all->size(), static_cast<size_t>(kStreams));
  };
  verify();
  reopen();
  verify();
  EngineOptions o = mem_options(fs_);
  o.hot_cache_bytes = 0;
  open(o);
  verify();
}

}  // namespace
}  // namespace redcar
