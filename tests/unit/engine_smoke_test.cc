// The engine end to end on the in-memory disk: append, read back, reopen.
#include <gtest/gtest.h>

#include <filesystem>
#include <future>

#include "engine/api/engine.h"
#include "engine/io/mem_disk.h"
#include "tests/support/temp_dir.h"

namespace redcar {
namespace {

template <typename T, typename F>
Result<T> call(F&& f) {
  std::promise<Result<T>> p;
  auto fut = p.get_future();
  f([&p](Result<T> r) { p.set_value(std::move(r)); });
  return fut.get();
}

EngineOptions mem_options(io::MemFs& fs) {
  EngineOptions o;
  o.data_dir = "/data";
  o.shards = 2;
  o.segment_bytes = limits::kMinSegmentBytes;
  o.hot_cache_bytes = 1 << 20;
  o.mem_fs = &fs;
  return o;
}

TEST(EngineSmoke, AppendReadReopen) {
  io::MemFs fs;
  {
    auto e = Engine::open(mem_options(fs));
    ASSERT_TRUE(e) << e.status().to_string();
    for (int i = 0; i < 500; ++i) {
      EventData ev;
      ev.type = "t";
      ev.data = std::string(100, 'a' + i % 26);
      auto r = call<AppendResult>([&](auto cb) { (*e)->append("orders", {ev}, {}, cb); });
      ASSERT_TRUE(r) << r.status().to_string();
      EXPECT_EQ(r->first_number, static_cast<uint64_t>(i));
    }
    auto rr = call<ReadResult>([&](auto cb) { (*e)->read("orders", ReadSpec{}, cb); });
    ASSERT_TRUE(rr);
    ASSERT_EQ(rr->events.size(), 500u);
    EXPECT_EQ(rr->events[499].payload.data, std::string(100, 'a' + 499 % 26));
  }
  auto e = Engine::open(mem_options(fs));
  ASSERT_TRUE(e) << e.status().to_string();
  ReadSpec spec;
  spec.from_number = 100;
  spec.count = 10;
  auto rr = call<ReadResult>([&](auto cb) { (*e)->read("orders", spec, cb); });
  ASSERT_TRUE(rr);
  ASSERT_EQ(rr->events.size(), 10u);
  EXPECT_EQ(rr->events[0].number, 100u);
  EXPECT_EQ(rr->next_number, 500u);
}

}  // namespace
}  // namespace redcar

namespace redcar {
namespace {

// What Maintenance.Status reports as the database size: the segments of
// every shard, and the log bytes in use, which grow with what is written.
TEST(EngineSmoke, StorageStatsCountEveryShard) {
  io::MemFs fs;
  auto e = Engine::open(mem_options(fs));
  ASSERT_TRUE(e) << e.status().to_string();
  auto before = call<StorageStats>([&](auto cb) { (*e)->storage_stats(cb); });
  ASSERT_TRUE(before);
  EXPECT_GE(before->segments, 2u);  // one per shard at least
  EXPECT_EQ(before->allocated_bytes, before->segments * limits::kMinSegmentBytes);
  EventData ev;
  ev.data = std::string(1000, 'x');
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(call<AppendResult>([&](auto cb) { (*e)->append("s" + std::to_string(i), {ev}, {}, cb); }));
  }
  auto after = call<StorageStats>([&](auto cb) { (*e)->storage_stats(cb); });
  ASSERT_TRUE(after);
  EXPECT_GE(after->used_bytes, before->used_bytes + 20 * 1000);
  (*e)->stop();
  EXPECT_EQ(call<StorageStats>([&](auto cb) { (*e)->storage_stats(cb); }).status().code(), Code::kUnavailable);
}

TEST(EngineSmoke, RealDiskAppendReopenAndLock) {
  test::TempDir dir("redcar-smoke");
  ASSERT_TRUE(dir.ok());
  EngineOptions o;
  o.data_dir = dir.path();
  o.shards = 2;
  o.segment_bytes = limits::kMinSegmentBytes;
  {
    auto e = Engine::open(o);
    ASSERT_TRUE(e) << e.status().to_string();
    auto second = Engine::open(o);
    ASSERT_FALSE(second);
    EXPECT_EQ(second.status().code(), Code::kBusy);
    for (int i = 0; i < 300; ++i) {
      EventData ev;
      ev.data = std::string(300, 'x');
      auto r = call<AppendResult>([&](auto cb) { (*e)->append("s" + std::to_string(i % 7), {ev}, {}, cb); });
      ASSERT_TRUE(r) << r.status().to_string();
    }
  }
  o.hot_cache_bytes = 0;  // every read goes to disk
  auto e = Engine::open(o);
  ASSERT_TRUE(e) << e.status().to_string();
  auto rr = call<ReadResult>([&](auto cb) { (*e)->read("s3", ReadSpec{}, cb); });
  ASSERT_TRUE(rr) << rr.status().to_string();
  EXPECT_EQ(rr->events.size(), 43u);
  e->reset();
}

}  // namespace
}  // namespace redcar
