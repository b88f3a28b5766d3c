// The engine on a failing in-memory disk: a write error, a full disk when a
// new segment is needed, and power cuts that tear unsynced writes. Whatever
// was acknowledged must be there afterwards, in order and intact; what was
// not acknowledged may be there only whole.
#include <gtest/gtest.h>

#include <cerrno>
#include <map>
#include <random>

#include "tests/unit/engine_test_util.h"

namespace redcar {
namespace {

using namespace redcar::test;

std::string payload(const std::string& stream, uint64_t k) {
  // Long enough that a batch spans several 512-byte sectors.
  return stream + "#" + std::to_string(k) + "#" + std::string(300 + k % 200, static_cast<char>('a' + k % 26));
}

TEST(EngineFaults, WriteErrorFailsTheLogAndKeepsWhatWasAcknowledged) {
  io::MemFs fs;
  {
    auto e = open_engine(mem_options(fs));
    ASSERT_TRUE(e);
    for (uint64_t k = 0; k < 50; ++k) ASSERT_TRUE(append1(*e, "s", payload("s", k)));
    io::MemFs::Faults f;
    f.fail_writes_errno = EIO;
    fs.set_faults(f);
    auto bad = append1(*e, "s", payload("s", 50));
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.status().code(), Code::kIoError) << bad.status().to_string();
    EXPECT_EQ(bad.status().sys_errno(), EIO);
    // The log is failed for good, even once the disk recovers.
    fs.set_faults({});
    auto later = append1(*e, "s", payload("s", 51));
    ASSERT_FALSE(later);
    EXPECT_EQ(later.status().code(), Code::kUnavailable) << later.status().to_string();
    // Durable data is still readable.
    auto rr = read(*e, "s");
    ASSERT_TRUE(rr);
    EXPECT_EQ(rr->events.size(), 50u);
  }
  auto e = open_engine(mem_options(fs));
  ASSERT_TRUE(e);
  auto rr = read(*e, "s");
  ASSERT_TRUE(rr);
  ASSERT_EQ(rr->events.size(), 50u);
  for (uint64_t k = 0; k < 50; ++k) {
    EXPECT_EQ(rr->events[k].number, k);
    EXPECT_EQ(rr->events[k].payload.data, payload("s", k));
  }
  auto r = append1(*e, "s", payload("s", 50));
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_EQ(r->first_number, 50u);
}

TEST(EngineFaults, FullDiskRefusesTheAppendThatNeedsANewSegment) {
  io::MemFs fs;
  auto e = open_engine(mem_options(fs));
  ASSERT_TRUE(e);
  io::MemFs::Faults f;
  f.fail_prepare_errno = ENOSPC;
  fs.set_faults(f);
  // 64 KiB segments, ~1 KiB events: a new segment is needed well before 200.
  std::vector<uint64_t> acked;
  Status failure;
  for (uint64_t k = 0; k < 200; ++k) {
    auto r = append1(*e, "s", payload("s", k) + std::string(600, 'z'));
    if (!r) {
      failure = r.status();
      break;
    }
    acked.push_back(r->first_number);
  }
  ASSERT_FALSE(failure.is_ok()) << "no append failed";
  EXPECT_EQ(failure.code(), Code::kNoSpace) << failure.to_string();
  EXPECT_EQ(failure.sys_errno(), ENOSPC);
  EXPECT_GT(acked.size(), 10u);
  EXPECT_EQ(acked, range_of(0, acked.size()));
  // Still full: still refused, and nothing half-done.
  auto again = append1(*e, "s", std::string(1000, 'q'));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.status().code(), Code::kNoSpace);
  auto rr = read(*e, "s");
  ASSERT_TRUE(rr);
  EXPECT_EQ(rr->events.size(), acked.size());

  // Space again: appends carry on from where they stopped.
  fs.set_faults({});
  size_t n = acked.size();
  for (uint64_t k = n; k < n + 100; ++k) {
    auto r = append1(*e, "s", payload("s", k) + std::string(600, 'z'));
    ASSERT_TRUE(r) << r.status().to_string();
    EXPECT_EQ(r->first_number, k);
  }
  e.reset();
  e = open_engine(mem_options(fs));
  ASSERT_TRUE(e);
  rr = read(*e, "s");
  ASSERT_TRUE(rr);
  ASSERT_EQ(rr->events.size(), n + 100);
  for (uint64_t k = 0; k < n + 100; ++k) {
    EXPECT_EQ(rr->events[k].number, k);
    EXPECT_EQ(rr->events[k].payload.data, payload("s", k) + std::string(600, 'z'));
  }
}

// Several producers keep appends in flight on streams of both shards; at
// some point syncs start failing (nothing more is acknowledged), then the
// power goes. After reopening, each stream holds every acknowledged event
// and perhaps some unacknowledged ones, each whole, numbered without gaps.
void crash_once(uint32_t seed, bool tear) {
  SCOPED_TRACE("seed " + std::to_string(seed) + (tear ? " torn" : " clean"));
  io::MemFs fs;
  const std::vector<std::string> streams = {"alpha", "beta", "gamma", "delta"};
  struct Acks {
    std::mutex mu;
    std::map<std::string, std::vector<uint64_t>> ok;  // acknowledged numbers
    std::atomic<size_t> done{0};
    std::atomic<size_t> ok_count{0};
  };
  auto acks = std::make_shared<Acks>();
  std::map<std::string, size_t> issued;
  {
    auto e = open_engine(mem_options(fs));
    ASSERT_TRUE(e);
    // A few synchronous appends first, so that each stream exists.
    for (auto& s : streams) {
      for (uint64_t k = 0; k < 3; ++k) {
        ASSERT_TRUE(append1(*e, s, payload(s, k)));
        acks->ok[s].push_back(k);
      }
      issued[s] = 3;
    }
    size_t total = 0;
    size_t fail_at = 150 + seed * 37 % 200;
    std::mt19937 rng(seed);
    for (size_t round = 0; round < 600; ++round) {
      const std::string& s = streams[rng() % streams.size()];
      uint64_t k = issued[s]++;
      // Sometimes several events in one append.
      size_t n = rng() % 4 == 0 ? 1 + rng() % 5 : 1;
      std::vector<EventData> evs;
      for (size_t j = 0; j < n; ++j) evs.push_back(event(payload(s, k + j)));
      issued[s] += n - 1;
      total++;
      e->append(s, std::move(evs), {}, [acks, s](Result<AppendResult> r) {
        if (r) {
          std::lock_guard lk(acks->mu);
          for (uint64_t x = r->first_number; x <= r->last_number; ++x) acks->ok[s].push_back(x);
          acks->ok_count++;
        }
        acks->done++;
      });
      if (round == fail_at) {
        io::MemFs::Faults f;
        f.fail_syncs_errno = EIO;
        fs.set_faults(f);
      }
      if (round % 16 == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 500));
    }
    ASSERT_TRUE(eventually([&] { return acks->done.load() == total; })) << acks->done.load() << " of " << total;
    EXPECT_GT(acks->ok_count.load(), 10u);
  }
  fs.crash(tear, seed);
  fs.set_faults({});
  auto e = open_engine(mem_options(fs));
  ASSERT_TRUE(e);
  // What recovery did, for failure messages.
  std::string recovered;
  for (unsigned i = 0; i < e->shard_count(); ++i) {
    auto& rep = e->recovery_report(i);
    recovered += " shard " + std::to_string(i) + ": " + std::to_string(rep.records) + " records, " +
                 std::to_string(rep.truncated_bytes) + " bytes truncated;";
  }
  for (auto& s : streams) {
    auto rr = read(*e, s);
    ASSERT_TRUE(rr) << rr.status().to_string();
    std::vector<uint64_t> ok;
    {
      std::lock_guard lk(acks->mu);
      ok = acks->ok[s];
    }
    std::sort(ok.begin(), ok.end());
    ASSERT_FALSE(ok.empty());
    // The acknowledged numbers form a prefix...
    EXPECT_EQ(ok, range_of(0, ok.size())) << s;
    // ...and the stream holds at least that prefix, every event intact.
    ASSERT_GE(rr->events.size(), ok.size()) << s << recovered;
    EXPECT_LE(rr->events.size(), issued[s]) << s;
    for (size_t k = 0; k < rr->events.size(); ++k) {
      EXPECT_EQ(rr->events[k].number, k) << s;
      EXPECT_EQ(rr->events[k].payload.data, payload(s, k)) << s << " event " << k;
    }
    EXPECT_EQ(rr->next_number, rr->events.size());
    // And it takes appends again, numbered on.
    auto r = append1(*e, s, "after");
    ASSERT_TRUE(r) << r.status().to_string();
    EXPECT_EQ(r->first_number, rr->events.size());
  }
}

TEST(EngineFaults, TornWritesAtPowerCutLoseNothingAcknowledged) {
  for (uint32_t seed = 1; seed <= 12; ++seed) {
    crash_once(seed, true);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(EngineFaults, CleanPowerCutLosesNothingAcknowledged) {
  for (uint32_t seed = 21; seed <= 24; ++seed) {
    crash_once(seed, false);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace redcar

namespace redcar {
namespace {

// An append of many events is one batch: when the disk is full at the
// segment it needs, none of it is written, not the events that would still
// have fitted in the old segment.
TEST(EngineFaults, FullDiskRefusesAWholeMultiEventAppend) {
  io::MemFs fs;
  auto e = test::open_engine(test::mem_options(fs));
  ASSERT_TRUE(e);
  io::MemFs::Faults f;
  f.fail_prepare_errno = ENOSPC;
  fs.set_faults(f);
  uint64_t acked = 0;
  Status failure;
  for (int k = 0; k < 200 && failure.is_ok(); ++k) {
    std::vector<EventData> batch(20);
    for (auto& ev : batch) ev.data = std::string(300, 'm');
    auto r = test::call<AppendResult>([&](auto cb) { e->append("multi", batch, {}, cb); });
    if (r) acked = r->last_number + 1;
    else failure = r.status();
  }
  ASSERT_EQ(failure.code(), Code::kNoSpace) << failure.to_string();
  auto info = test::call<StreamInfo>([&](auto cb) { e->stream_info("multi", cb); });
  ASSERT_TRUE(info);
  EXPECT_EQ(info->length, acked);
  EXPECT_EQ(info->next_number, acked);
  fs.set_faults({});
  e.reset();
  e = test::open_engine(test::mem_options(fs));
  ASSERT_TRUE(e);
  info = test::call<StreamInfo>([&](auto cb) { e->stream_info("multi", cb); });
  ASSERT_TRUE(info);
  EXPECT_EQ(info->length, acked);
}

}  // namespace
}  // namespace redcar
