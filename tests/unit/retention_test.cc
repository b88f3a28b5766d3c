// Reclaiming segments: once trims leave nothing live in the oldest segments
// they are removed, and the state their records carried (stream IDs and
// numbering, deletions, consumer groups) survives a restart.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "engine/api/engine.h"
#include "engine/io/mem_disk.h"

namespace redcar {
namespace {

template <typename T, typename F>
Result<T> call(F&& f) {
  std::promise<Result<T>> p;
  auto fut = p.get_future();
  f([&p](Result<T> r) { p.set_value(std::move(r)); });
  if (fut.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    ADD_FAILURE() << "engine call timed out";
    std::abort();
  }
  return fut.get();
}

EngineOptions options(io::MemFs& fs) {
  EngineOptions o;
  o.data_dir = "/data";
  o.shards = 1;
  o.segment_bytes = limits::kMinSegmentBytes;
  o.reclaim_interval_ms = 20;
  o.mem_fs = &fs;
  return o;
}

size_t segment_files(io::MemFs& fs) {
  size_t n = 0;
  for (auto& f : fs.files()) n += f.size() > 4 && f.compare(f.size() - 4, 4, ".seg") == 0;
  return n;
}

bool has_first_segment(io::MemFs& fs) {
  for (auto& f : fs.files()) {
    if (f.find("00000000000000000000.seg") != std::string::npos) return true;
  }
  return false;
}

void append(Engine& e, const std::string& stream, int count) {
  for (int i = 0; i < count; ++i) {
    EventData ev;
    ev.data = std::string(200, 'a' + i % 26);
    auto r = call<AppendResult>([&](auto cb) { e.append(stream, {ev}, {}, cb); });
    ASSERT_TRUE(r) << r.status().to_string();
  }
}

TEST(Retention, TrimmedSegmentsAreReclaimedAndStateSurvives) {
  io::MemFs fs;
  {
    auto e = Engine::open(options(fs));
    ASSERT_TRUE(e) << e.status().to_string();
    Engine& eng = **e;
    append(eng, "kept", 5);
    append(eng, "old", 1500);  // ~400 KiB: several segments
    auto g = call<bool>([&](auto cb) { eng.group_create("old", "g", StreamId::min(), false, std::nullopt, cb); });
    ASSERT_TRUE(g);
    GroupReadOptions ro;
    ro.group = "g";
    ro.consumer = "alice";
    ro.count = 3;
    auto got = call<std::vector<GroupEntry>>([&](auto cb) { eng.group_read("old", ro, cb); });
    ASSERT_TRUE(got);
    ASSERT_EQ(got->size(), 3u);
    // One of them claimed with a delivery time of the epoch (TIME 0): the
    // re-stated claim must keep that time, not take the time of re-stating.
    ClaimOptions co;
    co.group = "g";
    co.consumer = "bob";
    co.ids = {(*got)[2].id};
    co.time_ms = 0;
    auto claimed = call<ClaimResult>([&](auto cb) { eng.group_claim("old", co, cb); });
    ASSERT_TRUE(claimed) << claimed.status().to_string();
    ASSERT_EQ(claimed->events.size(), 1u);
    size_t before = segment_files(fs);
    ASSERT_GE(before, 5u);
    // "kept" lives in the first segment: trimming "old" alone frees nothing.
    TrimSpec t;
    t.kind = TrimSpec::Kind::kMaxCount;
    t.value = 10;
    auto trimmed = call<uint64_t>([&](auto cb) { eng.trim("old", t, cb); });
    ASSERT_TRUE(trimmed);
    EXPECT_EQ(*trimmed, 1490u);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    // The next segment may have been made ahead of need meanwhile: what
    // must not have happened is a reclaim, which takes the oldest first.
    EXPECT_GE(segment_files(fs), before);
    EXPECT_TRUE(has_first_segment(fs));
    auto dk = call<bool>([&](auto cb) { eng.delete_stream("kept", cb); });
    ASSERT_TRUE(dk);
    for (int i = 0; i < 100 && segment_files(fs) >= before; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_LT(segment_files(fs), before);
  }
  auto e = Engine::open(options(fs));
  ASSERT_TRUE(e) << e.status().to_string();
  Engine& eng = **e;
  auto info = call<StreamInfo>([&](auto cb) { eng.stream_info("old", cb); });
  ASSERT_TRUE(info);
  EXPECT_EQ(info->length, 10u);
  EXPECT_EQ(info->next_number, 1500u);
  ASSERT_EQ(info->groups.size(), 1u);
  EXPECT_EQ(info->groups[0].pending, 3u);
  auto pend = call<PendingSummary>([&](auto cb) { eng.group_pending_summary("old", "g", cb); });
  ASSERT_TRUE(pend);
  EXPECT_EQ(pend->count, 3u);
  ASSERT_EQ(pend->per_consumer.size(), 2u);
  EXPECT_EQ(pend->per_consumer[0], (std::pair<std::string, uint64_t>{"alice", 2}));
  EXPECT_EQ(pend->per_consumer[1], (std::pair<std::string, uint64_t>{"bob", 1}));
  PendingQuery pq;
  pq.group = "g";
  pq.consumer = "bob";
  auto bobs = call<std::vector<PendingEntry>>([&](auto cb) { eng.group_pending("old", pq, cb); });
  ASSERT_TRUE(bobs);
  ASSERT_EQ(bobs->size(), 1u);
  EXPECT_EQ(bobs->front().delivered_ms, 0) << "re-stated with the time of re-stating";
  EventData ev;
  ev.data = "next";
  auto r = call<AppendResult>([&](auto cb) { eng.append("old", {ev}, {}, cb); });
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first_number, 1500u);
  auto kept = call<StreamInfo>([&](auto cb) { eng.stream_info("kept", cb); });
  ASSERT_TRUE(kept);
  EXPECT_FALSE(kept->exists);
}

TEST(Retention, FullyTrimmedStreamKeepsItsNumbering) {
  io::MemFs fs;
  {
    auto e = Engine::open(options(fs));
    ASSERT_TRUE(e);
    Engine& eng = **e;
    append(eng, "s", 1200);
    size_t before = segment_files(fs);
    TrimSpec t;
    t.kind = TrimSpec::Kind::kMaxCount;
    t.value = 0;
    ASSERT_TRUE(call<uint64_t>([&](auto cb) { eng.trim("s", t, cb); }));
    append(eng, "other", 400);  // moves the head on so old segments can go
    for (int i = 0; i < 100 && segment_files(fs) >= before; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_LT(segment_files(fs), before);
  }
  auto e = Engine::open(options(fs));
  ASSERT_TRUE(e);
  EventData ev;
  ev.data = "x";
  auto r = call<AppendResult>([&](auto cb) { (*e)->append("s", {ev}, {}, cb); });
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first_number, 1200u);
}

}  // namespace
}  // namespace redcar

namespace redcar {
namespace {

// Segments holding key-value history are reclaimed too, once re-stating the
// view is cheap beside what it frees; revisions, versions, history since
// compaction and the compaction point survive.
constexpr int64_t kFarDeadline = 4'102'444'800'000;  // 2100-01-01

TEST(Retention, KeyValueHistoryIsRestatedBeforeItsSegmentsGo) {
  io::MemFs fs;
  int64_t rev_before = 0;
  {
    auto e = Engine::open(options(fs));
    ASSERT_TRUE(e) << e.status().to_string();
    Engine& eng = **e;
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(call<TxnResult>([&](auto cb) { eng.kv_put("k", "v" + std::to_string(i), false, cb); }));
    }
    ASSERT_TRUE(call<TxnResult>([&](auto cb) { eng.kv_put("gone", "x", false, cb); }));
    // A deadline is re-stated with its version.
    ASSERT_TRUE(call<TxnResult>([&](auto cb) { eng.kv_put("ttl", "t", false, cb); }));
    ASSERT_TRUE(call<bool>([&](auto cb) { eng.kv_expire("ttl", {.at_ms = kFarDeadline}, cb); }));
    ASSERT_TRUE(call<TxnResult>([&](auto cb) { eng.kv_delete("gone", {}, false, cb); }));
    auto c = call<int64_t>([&](auto cb) { eng.kv_compact(3, cb); });
    ASSERT_TRUE(c) << c.status().to_string();
    append(eng, "bulk", 1500);  // several segments of events after the key-value records
    size_t before = segment_files(fs);
    TrimSpec t;
    t.kind = TrimSpec::Kind::kMaxCount;
    t.value = 0;
    ASSERT_TRUE(call<uint64_t>([&](auto cb) { eng.trim("bulk", t, cb); }));
    append(eng, "other", 300);
    for (int i = 0; i < 100 && segment_files(fs) >= before; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_LT(segment_files(fs), before);
    auto st = call<KvStatus>([&](auto cb) { eng.kv_status(cb); });
    ASSERT_TRUE(st);
    rev_before = st->revision;
  }
  // The first segment (with the original key-value writes) is gone.
  EXPECT_FALSE(has_first_segment(fs));
  auto e = Engine::open(options(fs));
  ASSERT_TRUE(e) << e.status().to_string();
  Engine& eng = **e;
  auto st = call<KvStatus>([&](auto cb) { eng.kv_status(cb); });
  ASSERT_TRUE(st);
  EXPECT_EQ(st->revision, rev_before);
  EXPECT_EQ(st->compact_revision, 3);
  RangeRequest get;
  get.key = "k";
  auto r = call<RangeResult>([&](auto cb) { eng.kv_range(get, cb); });
  ASSERT_TRUE(r);
  ASSERT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(r->kvs[0].value, "v4");
  // The store starts at revision 1 (as etcd does): the puts made 2..6.
  EXPECT_EQ(r->kvs[0].create_revision, 2);
  EXPECT_EQ(r->kvs[0].mod_revision, 6);
  EXPECT_EQ(r->kvs[0].version, 5);
  get.revision = 5;
  r = call<RangeResult>([&](auto cb) { eng.kv_range(get, cb); });
  ASSERT_TRUE(r);
  ASSERT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(r->kvs[0].value, "v3");
  get.revision = 2;
  r = call<RangeResult>([&](auto cb) { eng.kv_range(get, cb); });
  EXPECT_EQ(r.status().code(), Code::kCompacted);
  RangeRequest gone;
  gone.key = "gone";
  r = call<RangeResult>([&](auto cb) { eng.kv_range(gone, cb); });
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->kvs.empty());
  auto ttl = call<int64_t>([&](auto cb) { eng.kv_deadline("ttl", cb); });
  ASSERT_TRUE(ttl);
  EXPECT_EQ(*ttl, kFarDeadline);
  auto put = call<TxnResult>([&](auto cb) { eng.kv_put("k", "after", false, cb); });
  ASSERT_TRUE(put);
  EXPECT_EQ(put->revision, rev_before + 1);
}

// A stream's deadline is kept in a stream-config record: re-stated with the
// stream's numbering before the segment holding it goes.
TEST(Retention, AStreamsDeadlineIsRestatedBeforeItsSegmentsGo) {
  io::MemFs fs;
  {
    auto e = Engine::open(options(fs));
    ASSERT_TRUE(e);
    Engine& eng = **e;
    append(eng, "s", 1200);
    ASSERT_TRUE(call<bool>([&](auto cb) { eng.stream_expire("s", {.at_ms = kFarDeadline}, cb); }));
    // Events after the record, then gone, so that its segment is dead too.
    append(eng, "filler", 1200);
    size_t before = segment_files(fs);
    TrimSpec t;
    t.kind = TrimSpec::Kind::kMaxCount;
    t.value = 0;
    ASSERT_TRUE(call<uint64_t>([&](auto cb) { eng.trim("s", t, cb); }));
    ASSERT_TRUE(call<uint64_t>([&](auto cb) { eng.trim("filler", t, cb); }));
    append(eng, "other", 400);
    // Reclaiming goes in one pass: every dead segment at once.
    for (int i = 0; i < 100 && segment_files(fs) >= before; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_LT(segment_files(fs), before);
  }
  EXPECT_FALSE(has_first_segment(fs));
  auto e = Engine::open(options(fs));
  ASSERT_TRUE(e);
  auto info = call<StreamInfo>([&](auto cb) { (*e)->stream_info("s", cb); });
  ASSERT_TRUE(info);
  EXPECT_TRUE(info->exists);
  EXPECT_EQ(info->next_number, 1200u);
  EXPECT_EQ(info->deadline_ms, kFarDeadline);
}

}  // namespace
}  // namespace redcar
