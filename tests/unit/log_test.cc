// The per-shard Log (engine/log/log.h) over the in-memory disk: staging and
// group commit, segment rolling, reopening, scans from the hot cache and
// from disk, the fsync modes, recovery of every kind of damaged folder the
// decision table knows, and injected write, sync and space errors. One test
// runs the real io_uring disk on a temporary folder.
//
// Each open of a log gets its own reactor and disk (a Session), so that
// nothing a closed log left queued can run after it is gone; the MemFs
// outlives them, the way a data folder outlives a process.
#include "engine/log/log.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "engine/common/limits.h"
#include "engine/io/mem_disk.h"
#include "engine/io/uring_disk.h"
#include "runtime/reactor.h"
#include "tests/support/temp_dir.h"

namespace redcar::log {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kSeg = limits::kMinSegmentBytes;
const std::string kDir = "/data/shard-000";

std::string seg_path(uint64_t first, const std::string& dir = kDir) { return dir + "/" + segment_file_name(first); }

struct Rec {
  RecordType type = RecordType::kEvent;
  std::string name;
  std::string body;
  uint64_t number = 0;
  uint64_t id_ms = 0;
  uint64_t id_seq = 0;
  int64_t timestamp_us = 0;
  uint64_t offset = 0;
  bool operator==(const Rec&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Rec& r) {
  return os << "{type " << int(r.type) << " " << r.name << " #" << r.number << " body " << r.body.size()
            << "B at " << r.offset << "}";
}

Rec rec_of(const RecordView& v, uint64_t offset) {
  return {v.header.type,  std::string(v.name), std::string(v.body), v.header.number, v.header.id_ms,
          v.header.id_seq, v.header.timestamp_us, offset};
}

// Compares record lists, reporting the first difference rather than both
// lists whole.
::testing::AssertionResult same(const std::vector<Rec>& got, const std::vector<Rec>& want) {
  if (got == want) return ::testing::AssertionSuccess();
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  auto r = ::testing::AssertionFailure();
  r << "got " << got.size() << " records, want " << want.size() << "; first difference at " << i << ":";
  if (i < got.size()) r << " got " << got[i];
  if (i < want.size()) r << " want " << want[i];
  return r;
}

// Runs the loop until `done` holds; false if `limit` passes first.
bool run_until(runtime::Reactor& loop, const std::function<bool()>& done,
               std::chrono::milliseconds limit = 5000ms) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    loop.run_for(2ms);
  }
  return true;
}

// Runs the loop for `d` (timers included).
void run_for(runtime::Reactor& loop, std::chrono::milliseconds d) { loop.run_for(d); }

std::unique_ptr<runtime::Reactor> make_loop() {
  std::unique_ptr<runtime::Reactor> r;
  int rc = runtime::Reactor::create({.ring_entries = 256}, &r);
  EXPECT_EQ(rc, 0) << "io_uring_setup";
  return r;
}

std::string body_for(uint64_t i, size_t bytes) {
  std::string b(bytes, '\0');
  for (size_t k = 0; k < bytes; ++k) b[k] = static_cast<char>('a' + (i * 7 + k) % 26);
  return b;
}

// Every flush may overlap the one before, whatever its size: the most
// interleaving, for the ordering and recovery tests.
LogOptions options(uint64_t segment_bytes = kSeg) {
  LogOptions o;
  o.dir = kDir;
  o.segment_bytes = segment_bytes;
  o.min_overlapping_flush_bytes = 0;
  return o;
}

// One open of the log.
struct Session {
  std::unique_ptr<runtime::Reactor> loop = make_loop();
  std::unique_ptr<io::Disk> disk;
  std::unique_ptr<Log> log;
  Status open_status;
  RecoveryReport report;
  std::vector<Rec> recovered;  // what open() passed to apply
  std::vector<Rec> durable;    // what the durable hook saw
  std::vector<Rec> staged;     // what this session staged, in order
  uint64_t next_number = 0;

  void open(const LogOptions& opt) {
    log = std::make_unique<Log>(*disk, *loop, opt);
    open_status = log->open([this](const RecordView& r, uint64_t off) { recovered.push_back(rec_of(r, off)); },
                            &report);
    log->set_durable_hook([this](const RecordView& r, uint64_t off) { durable.push_back(rec_of(r, off)); });
  }

  Result<uint64_t> try_put(size_t body_bytes, const std::string& name = "stream") {
    RecordHeader h;
    h.type = RecordType::kEvent;
    h.number = next_number;
    h.id_ms = 1000 + next_number;
    h.id_seq = next_number % 3;
    h.timestamp_us = 1700000000000000 + static_cast<int64_t>(next_number);
    std::string body = body_for(next_number, body_bytes);
    auto r = log->stage(h, name, body);
    if (r) {
      staged.push_back({h.type, name, body, h.number, h.id_ms, h.id_seq, h.timestamp_us, *r});
      ++next_number;
    }
    return r;
  }
  uint64_t put(size_t body_bytes, const std::string& name = "stream") {
    auto r = try_put(body_bytes, name);
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r.is_ok() ? *r : 0;
  }

  // Waits for everything staged so far; returns what the waiter was told.
  Status sync() {
    bool called = false;
    Status st;
    log->when_durable([&](const Status& s) {
      EXPECT_FALSE(called) << "waiter answered twice";
      called = true;
      st = s;
    });
    if (!run_until(*loop, [&] { return called; })) return Status(Code::kUnavailable, "test: no answer");
    return st;
  }

  void drain() {
    bool done = false;
    log->drain([&] { done = true; });
    EXPECT_TRUE(run_until(*loop, [&] { return done; }));
  }

  // A clean stop: what Shard::stop() does.
  void close() {
    bool done = false;
    log->close([&] { done = true; });
    EXPECT_TRUE(run_until(*loop, [&] { return done; }));
  }

  std::vector<Rec> scan(uint64_t from, size_t limit = SIZE_MAX, Status* status = nullptr) {
    std::vector<Rec> out;
    bool finished = false;
    Status st;
    log->scan(
        from,
        [&out, limit](const RecordView& r, uint64_t off) {
          out.push_back(rec_of(r, off));
          return out.size() < limit;
        },
        [&](Status s) {
          EXPECT_FALSE(finished) << "scan finished twice";
          finished = true;
          st = s;
        });
    EXPECT_TRUE(run_until(*loop, [&] { return finished; })) << "scan from " << from << " never finished";
    if (status) {
      *status = st;
    } else {
      EXPECT_TRUE(st.is_ok()) << st.to_string();
    }
    return out;
  }
};

std::unique_ptr<Session> open_mem(io::MemFs& fs, const LogOptions& opt = options()) {
  auto s = std::make_unique<Session>();
  s->disk = std::make_unique<io::MemDisk>(fs, *s->loop);
  s->open(opt);
  return s;
}

std::vector<Rec> slice(const std::vector<Rec>& v, size_t from, size_t to = SIZE_MAX) {
  to = std::min(to, v.size());
  return from >= to ? std::vector<Rec>{} : std::vector<Rec>(v.begin() + from, v.begin() + to);
}

std::vector<Rec> concat(std::vector<Rec> a, const std::vector<Rec>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Writes `count` records of `body_bytes`, waiting for durability every
// `per_batch`; returns what was staged.
std::vector<Rec> write_records(Session& s, size_t count, size_t body_bytes, size_t per_batch) {
  size_t first = s.staged.size();
  for (size_t i = 0; i < count; ++i) {
    s.put(body_bytes + (i * 13) % 50);
    if ((i + 1) % per_batch == 0) {
      EXPECT_TRUE(s.sync().is_ok());
    }
  }
  EXPECT_TRUE(s.sync().is_ok());
  return slice(s.staged, first);
}

bool all_zero(const std::vector<uint8_t>& v) {
  return std::all_of(v.begin(), v.end(), [](uint8_t b) { return b == 0; });
}

void flip_byte(io::MemFs& fs, const std::string& path, uint64_t file_offset) {
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(fs.read_file(path, &bytes)) << path;
  ASSERT_LT(file_offset, bytes.size());
  bytes[file_offset] ^= 0x10;
  fs.write_file(path, std::move(bytes));
}

// Silences the log's own error and warning lines in tests that cause them
// on purpose.
class QuietLogs {
 public:
  QuietLogs() : level_(spdlog::get_level()) { spdlog::set_level(spdlog::level::off); }
  ~QuietLogs() { spdlog::set_level(level_); }

 private:
  spdlog::level::level_enum level_;
};

void check_scans(Session& s, const std::vector<Rec>& all);

// --- Opening, staging, group commit -------------------------------------------

TEST(Log, OpenEmptyFolderCreatesSegmentZero) {
  io::MemFs fs;
  auto s = open_mem(fs);
  ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
  EXPECT_TRUE(s->recovered.empty());
  EXPECT_EQ(s->report.records, 0u);
  EXPECT_EQ(s->log->durable_end(), 0u);
  EXPECT_EQ(s->log->staged_end(), 0u);
  EXPECT_EQ(s->log->first_offset(), 0u);
  std::vector<uint8_t> seg0;
  ASSERT_TRUE(fs.read_file(seg_path(0), &seg0));
  EXPECT_EQ(seg0.size(), kSeg);
  EXPECT_TRUE(all_zero(seg0));  // prepared; the header comes with the first batch
  EXPECT_TRUE(s->scan(kSegmentHeaderBytes).empty());
  bool called = false;
  s->log->when_durable([&](const Status& st) {
    EXPECT_TRUE(st.is_ok());
    called = true;
  });
  EXPECT_TRUE(called) << "nothing staged: answered at once";
}

TEST(Log, DurableHookSeesRecordsInOrderWithTheirOffsets) {
  io::MemFs fs;
  auto s = open_mem(fs);
  ASSERT_TRUE(s->open_status.is_ok());
  uint64_t first = s->put(10);
  EXPECT_EQ(first, kSegmentHeaderBytes + kRecordHeaderBytes) << "after the segment header and the batch record";
  for (int i = 0; i < 9; ++i) s->put(i * 11, "s" + std::to_string(i));
  // Nothing is visible before it is durable.
  EXPECT_TRUE(s->durable.empty());
  EXPECT_EQ(s->log->durable_end(), 0u);
  ASSERT_TRUE(s->sync().is_ok());
  EXPECT_TRUE(same(s->durable, s->staged));
  EXPECT_EQ(s->log->durable_end(), s->log->staged_end());
  for (size_t i = 1; i < s->staged.size(); ++i) {
    EXPECT_EQ(s->staged[i].offset,
              s->staged[i - 1].offset + record_size(s->staged[i - 1].name.size(), s->staged[i - 1].body.size()));
  }
  std::vector<uint8_t> seg0;
  ASSERT_TRUE(fs.read_file(seg_path(0), &seg0));
  SegmentHeader sh;
  ASSERT_EQ(decode_segment_header(seg0.data(), &sh), DecodeResult::kOk);
  EXPECT_EQ(sh.first_offset, 0u);
  EXPECT_EQ(sh.size_bytes, kSeg);
  EXPECT_EQ(sh.shard_count, 1);
}

TEST(Log, GroupCommitOneFlushPerTurn) {
  io::MemFs fs;
  auto s = open_mem(fs);
  ASSERT_TRUE(s->open_status.is_ok());
  int answered = 0;
  for (int i = 0; i < 200; ++i) {
    s->put(40);
    s->log->when_durable([&](const Status& st) {
      EXPECT_TRUE(st.is_ok());
      ++answered;
    });
  }
  ASSERT_TRUE(run_until(*s->loop, [&] { return answered == 200; }));
  EXPECT_EQ(s->log->flushes(), 1u) << "200 records staged in one turn share one write and one sync";
  EXPECT_TRUE(same(s->durable, s->staged));

  // Records staged while a flush is in flight wait for it and then share the
  // next one.
  s->put(40);
  s->loop->poll();  // the turn's flush: its write is now in flight
  EXPECT_EQ(s->log->flushes(), 1u);
  for (int i = 0; i < 50; ++i) s->put(40);
  ASSERT_TRUE(s->sync().is_ok());
  EXPECT_EQ(s->log->flushes(), 3u);
  EXPECT_TRUE(same(s->durable, s->staged));
}

TEST(Log, FlushesStartedInTurnAfterTurnAnswerInLogOrder) {
  io::MemFs fs;
  std::vector<Rec> all;
  {
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok());
    std::vector<int> answered;
    // Writes stay in flight until released, then complete newest first.
    fs.hold_completions();
    uint64_t most_in_flight = 0;
    for (int i = 0; i < 40; ++i) {
      s->put(100 + i * 37);
      s->log->when_durable([&answered, i](const Status& st) {
        EXPECT_TRUE(st.is_ok());
        answered.push_back(i);
      });
      s->loop->poll();  // one turn of the loop per record: flushes overlap
      most_in_flight = std::max(most_in_flight, s->log->flushes_in_flight());
    }
    EXPECT_EQ(most_in_flight, limits::kMaxFlushesInFlight);
    EXPECT_TRUE(answered.empty());
    fs.release_completions(/*newest_first=*/true);
    ASSERT_TRUE(run_until(*s->loop, [&] { return answered.size() == 40; }));
    for (int i = 0; i < 40; ++i) EXPECT_EQ(answered[i], i);
    all = s->staged;
    EXPECT_TRUE(same(s->durable, all));
    EXPECT_EQ(s->log->durable_end(), s->log->staged_end());
    check_scans(*s, all);
  }
  auto s = open_mem(fs);
  ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
  EXPECT_TRUE(same(s->recovered, all));
  check_scans(*s, all);
}

// With the default threshold, a small batch waits for the flush in flight
// and grows meanwhile; batches of kMinOverlappingFlushBytes or more start at
// once beside it. Same steps of the loop both times: one record per step.
TEST(Log, SmallBatchesWaitForTheFlushInFlightLargeOnesOverlap) {
  auto run = [](size_t body_bytes) {
    io::MemFs fs;
    LogOptions o = options(8u << 20);
    o.min_overlapping_flush_bytes = limits::kMinOverlappingFlushBytes;
    auto s = open_mem(fs, o);
    EXPECT_TRUE(s->open_status.is_ok());
    int answered = 0;
    uint64_t most_in_flight = 0;
    fs.hold_completions();  // a slow disk: each write stays in flight
    for (int i = 0; i < 40; ++i) {
      s->put(body_bytes);
      s->log->when_durable([&](const Status& st) {
        EXPECT_TRUE(st.is_ok());
        ++answered;
      });
      s->loop->poll();
      most_in_flight = std::max(most_in_flight, s->log->flushes_in_flight());
    }
    fs.release_completions();
    EXPECT_TRUE(run_until(*s->loop, [&] { return answered == 40; }));
    EXPECT_TRUE(same(s->durable, s->staged));
    return std::pair{s->log->flushes(), most_in_flight};
  };
  auto [small_flushes, small_overlap] = run(100);
  auto [large_flushes, large_overlap] = run(limits::kMinOverlappingFlushBytes + 1000);
  EXPECT_EQ(small_overlap, 1u);
  EXPECT_GT(large_overlap, 1u);
  EXPECT_LE(large_overlap, limits::kMaxFlushesInFlight);
  EXPECT_LT(small_flushes, large_flushes);
}

TEST(Log, SegmentsRollAndReopenGivesTheSameRecords) {
  io::MemFs fs;
  std::vector<Rec> all;
  {
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok());
    all = write_records(*s, 300, 900, 7);
    EXPECT_TRUE(same(s->durable, all));
    for (const Rec& r : all) {
      uint64_t size = record_size(r.name.size(), r.body.size());
      EXPECT_EQ(r.offset / kSeg, (r.offset + size - 1) / kSeg) << r << " spans two segments";
      EXPECT_GE(r.offset % kSeg, kSegmentHeaderBytes + kRecordHeaderBytes) << r;
    }
    EXPECT_GE(all.back().offset / kSeg, 3u) << "300 records of ~900 B fill several 64 KiB segments";
    s->drain();
  }
  for (uint64_t seg = 0; seg <= all.back().offset / kSeg; ++seg) {
    std::vector<uint8_t> bytes;
    ASSERT_TRUE(fs.read_file(seg_path(seg * kSeg), &bytes)) << seg;
    SegmentHeader sh;
    ASSERT_EQ(decode_segment_header(bytes.data(), &sh), DecodeResult::kOk);
    EXPECT_EQ(sh.first_offset, seg * kSeg);
  }
  {
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
    EXPECT_TRUE(same(s->recovered, all));
    EXPECT_EQ(s->report.records, all.size());
    EXPECT_EQ(s->report.truncated_bytes, 0u);
    EXPECT_TRUE(s->report.repaired.empty());
    // Appends go on after the last record.
    auto more = write_records(*s, 50, 900, 5);
    EXPECT_GT(more.front().offset, all.back().offset);
    all = concat(all, more);
  }
  auto s = open_mem(fs);
  ASSERT_TRUE(s->open_status.is_ok());
  EXPECT_TRUE(same(s->recovered, all));
}

// --- Scans --------------------------------------------------------------------

void check_scans(Session& s, const std::vector<Rec>& all) {
  // From the batch record at the start of the log: everything.
  EXPECT_TRUE(same(s.scan(s.log->first_offset() + kSegmentHeaderBytes), all));
  for (size_t k : {size_t{0}, size_t{1}, all.size() / 3, all.size() / 2, all.size() - 1}) {
    EXPECT_TRUE(same(s.scan(all[k].offset), slice(all, k))) << "from record " << k;
  }
  // A visitor that stops.
  EXPECT_TRUE(same(s.scan(all[5].offset, 3), slice(all, 5, 8)));
  // From the end: nothing.
  EXPECT_TRUE(s.scan(s.log->written_end()).empty());
}

TEST(Log, ScanFromTheHotCache) {
  io::MemFs fs;
  auto s = open_mem(fs);
  ASSERT_TRUE(s->open_status.is_ok());
  auto all = write_records(*s, 250, 700, 9);
  ASSERT_GE(all.back().offset / kSeg, 2u);
  check_scans(*s, all);
}

TEST(Log, ScanColdWithoutHotCache) {
  io::MemFs fs;
  LogOptions opt = options();
  opt.hot_cache_bytes = 0;
  auto s = open_mem(fs, opt);
  ASSERT_TRUE(s->open_status.is_ok());
  auto all = write_records(*s, 250, 700, 9);
  ASSERT_GE(all.back().offset / kSeg, 2u);
  check_scans(*s, all);
}

TEST(Log, ScanAfterReopenReadsFromDisk) {
  io::MemFs fs;
  std::vector<Rec> all;
  {
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok());
    all = write_records(*s, 250, 700, 9);
  }
  auto s = open_mem(fs);
  ASSERT_TRUE(s->open_status.is_ok());
  check_scans(*s, all);
  check_scans(*s, all);  // again: now partly from the block cache
  // Cold data followed by hot data in one scan.
  auto more = write_records(*s, 30, 700, 4);
  EXPECT_TRUE(same(s->scan(all[100].offset), concat(slice(all, 100), more)));
}

TEST(Log, ScanFromColdIntoHot) {
  // A hot cache far smaller than the data: old records come from disk, the
  // newest from memory, in one scan.
  io::MemFs fs;
  LogOptions opt = options();
  opt.hot_cache_bytes = 16 << 10;
  auto s = open_mem(fs, opt);
  ASSERT_TRUE(s->open_status.is_ok());
  auto all = write_records(*s, 250, 700, 9);
  check_scans(*s, all);
}

TEST(Log, RemoveSegmentsBelow) {
  io::MemFs fs;
  LogOptions opt = options();
  opt.hot_cache_bytes = 0;  // the hot cache may still hold removed records
  auto s = open_mem(fs, opt);
  ASSERT_TRUE(s->open_status.is_ok());
  auto all = write_records(*s, 250, 900, 5);
  const uint64_t last_seg = all.back().offset / kSeg * kSeg;
  ASSERT_GE(last_seg, 3 * kSeg);
  // Only whole segments below the offset go.
  ASSERT_TRUE(s->log->remove_segments_below(2 * kSeg + 100).is_ok());
  EXPECT_EQ(s->log->first_offset(), 2 * kSeg);
  std::vector<uint8_t> unused;
  EXPECT_FALSE(fs.read_file(seg_path(0), &unused));
  EXPECT_FALSE(fs.read_file(seg_path(kSeg), &unused));
  EXPECT_TRUE(fs.read_file(seg_path(2 * kSeg), &unused));
  std::vector<Rec> kept;
  for (const Rec& r : all) {
    if (r.offset >= 2 * kSeg) kept.push_back(r);
  }
  EXPECT_TRUE(same(s->scan(kept.front().offset), kept));
  Status st;
  s->scan(all[0].offset, SIZE_MAX, &st);
  EXPECT_EQ(st.code(), Code::kNotFound);
  // Never the active segment.
  ASSERT_TRUE(s->log->remove_segments_below(last_seg + 10 * kSeg).is_ok());
  EXPECT_EQ(s->log->first_offset(), last_seg);
  s.reset();
  auto again = open_mem(fs);
  ASSERT_TRUE(again->open_status.is_ok()) << again->open_status.to_string();
  std::vector<Rec> tail;
  for (const Rec& r : all) {
    if (r.offset >= last_seg) tail.push_back(r);
  }
  EXPECT_TRUE(same(again->recovered, tail));
}

TEST(Log, ColdScanAcrossReadBlocks) {
  // 1 MiB segments hold several cold reads (256 KiB), so records straddle
  // read blocks; one record is larger than a read.
  for (size_t hot : {size_t{0}, limits::kDefaultHotCacheBytes}) {
    io::MemFs fs;
    LogOptions opt = options(1 << 20);
    opt.hot_cache_bytes = hot;
    std::vector<Rec> all;
    {
      auto s = open_mem(fs, opt);
      ASSERT_TRUE(s->open_status.is_ok());
      for (int i = 0; i < 1500; ++i) {
        s->put(100 + (i * 37) % 3000);
        if (i == 700) s->put(300 << 10);
        if (i % 20 == 0) {
          ASSERT_TRUE(s->sync().is_ok());
        }
      }
      ASSERT_TRUE(s->sync().is_ok());
      all = s->staged;
    }
    auto s = open_mem(fs, opt);
    ASSERT_TRUE(s->open_status.is_ok());
    ASSERT_TRUE(same(s->recovered, all));
    EXPECT_TRUE(same(s->scan(all[0].offset), all)) << "hot cache " << hot;
    EXPECT_TRUE(same(s->scan(all[0].offset), all)) << "hot cache " << hot << ", second pass";
    EXPECT_TRUE(same(s->scan(all[650].offset), slice(all, 650)));
  }
}

// Writes `count` records of about `bytes` (up to 700 more) in batches of
// ten, closes the log and returns them.
std::vector<Rec> write_records_of(io::MemFs& fs, const LogOptions& opt, int count, size_t bytes) {
  auto s = open_mem(fs, opt);
  EXPECT_TRUE(s->open_status.is_ok());
  for (int i = 0; i < count; ++i) {
    s->put(bytes + (i * 131) % 700);
    if (i % 10 == 0) {
      EXPECT_TRUE(s->sync().is_ok());
    }
  }
  EXPECT_TRUE(s->sync().is_ok());
  return s->staged;
}

TEST(Log, ColdScanReadsEachBlockOnce) {
  // Records of 16 KB straddle nearly every 256 KiB read block. Each is
  // joined from its two blocks, so a scan of the whole log reads about the
  // log once; reading every straddling record again from its own position
  // read close to twice that.
  for (size_t hot : {size_t{0}, limits::kDefaultHotCacheBytes}) {
    io::MemFs fs;
    LogOptions opt = options(4 << 20);
    opt.hot_cache_bytes = hot;
    std::vector<Rec> all = write_records_of(fs, opt, 600, 16000);
    auto s = open_mem(fs, opt);
    ASSERT_TRUE(s->open_status.is_ok());
    const uint64_t spanned = s->log->written_end() - s->log->first_offset();
    ASSERT_GE(spanned, uint64_t{8} << 20);
    const uint64_t before = fs.async_read_bytes();
    EXPECT_TRUE(same(s->scan(all[0].offset), all)) << "hot cache " << hot;
    const uint64_t read = fs.async_read_bytes() - before;
    EXPECT_LE(read, spanned + spanned / 8) << "read " << read << " bytes for a log of " << spanned;
    EXPECT_TRUE(same(s->scan(all[123].offset), slice(all, 123)));
  }
}

TEST(Log, ColdScanInOrderReadsAheadAndStillReadsEachBlockOnce) {
  // A scan in order (a catch-up) has the next blocks read ahead of it; the
  // scan takes them instead of reading them again, whether it reaches them
  // at a block's start or by joining a record that straddles two blocks.
  for (size_t hot : {size_t{0}, size_t{4} << 20}) {
    for (size_t record : {size_t{3000}, size_t{16000}}) {
      SCOPED_TRACE("hot cache " + std::to_string(hot) + ", records of " + std::to_string(record));
      io::MemFs fs;
      LogOptions opt = options(4 << 20);
      opt.hot_cache_bytes = hot;
      std::vector<Rec> all = write_records_of(fs, opt, static_cast<int>((12u << 20) / record), record);
      auto s = open_mem(fs, opt);
      ASSERT_TRUE(s->open_status.is_ok());
      const uint64_t spanned = s->log->written_end() - s->log->first_offset();
      const uint64_t before = fs.async_read_bytes();
      EXPECT_TRUE(same(s->scan(all[0].offset), all));
      const uint64_t read = fs.async_read_bytes() - before;
      EXPECT_LE(read, spanned + spanned / 8) << "read " << read << " bytes for a log of " << spanned;
      const LogReader& r = s->log->reader();
      EXPECT_GT(r.read_ahead_issued(), spanned / limits::kColdReadBytes / 2);
      EXPECT_GE(r.read_ahead_used() + 2 * limits::kReadAheadBlocks, r.read_ahead_issued())
          << "blocks read ahead and never used";
      // A scan that starts in the middle gets the same records.
      EXPECT_TRUE(same(s->scan(all[all.size() / 3].offset), slice(all, all.size() / 3)));
    }
  }
}

// Fills the first segment so that its data ends `left` bytes before its end.
std::vector<Rec> fill_segment_zero(Session& s, uint64_t left) {
  // 112 bytes of segment and batch header, then 65 records of 1000 bytes
  // and one of the rest, all in one batch.
  for (int i = 0; i < 65; ++i) s.put(1000 - kRecordHeaderBytes - 6);  // name "stream"
  uint64_t rest = kSeg - kSegmentHeaderBytes - kRecordHeaderBytes - 65 * 1000 - left;
  s.put(rest - kRecordHeaderBytes - 6);
  EXPECT_TRUE(s.sync().is_ok());
  const Rec& last = s.staged.back();
  EXPECT_EQ(last.offset + record_size(last.name.size(), last.body.size()), kSeg - left);
  return s.staged;
}

TEST(Log, SegmentFilledToItsLastBytes) {
  for (uint64_t left : {0u, 8u, 40u, 56u}) {
    SCOPED_TRACE("bytes left at the end of segment 0: " + std::to_string(left));
    for (size_t hot : {size_t{0}, limits::kDefaultHotCacheBytes}) {
      io::MemFs fs;
      LogOptions opt = options();
      opt.hot_cache_bytes = hot;
      std::vector<Rec> all;
      {
        auto s = open_mem(fs, opt);
        ASSERT_TRUE(s->open_status.is_ok());
        fill_segment_zero(*s, left);
        auto more = write_records(*s, 20, 500, 4);
        all = s->staged;
        EXPECT_EQ(more.front().offset, kSeg + kSegmentHeaderBytes + kRecordHeaderBytes);
        EXPECT_TRUE(same(s->durable, all));
        check_scans(*s, all);
        // A reader that went past the last record of segment 0 goes on in
        // segment 1.
        EXPECT_TRUE(same(s->scan(kSeg - left), more));
      }
      auto s = open_mem(fs, opt);
      ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
      EXPECT_TRUE(same(s->recovered, all));
      check_scans(*s, all);
      EXPECT_TRUE(same(s->scan(kSeg - left), slice(all, 66)));
    }
  }
}

TEST(Log, NewestSegmentFullToTheEndReopens) {
  io::MemFs fs;
  std::vector<Rec> all;
  {
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok());
    all = fill_segment_zero(*s, 0);
  }
  auto s = open_mem(fs);
  ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
  EXPECT_TRUE(same(s->recovered, all));
  EXPECT_EQ(s->report.truncated_bytes, 0u);
  auto more = write_records(*s, 5, 100, 5);
  EXPECT_EQ(more.front().offset, kSeg + kSegmentHeaderBytes + kRecordHeaderBytes);
  EXPECT_TRUE(same(s->scan(all[60].offset), concat(slice(all, 60), more)));
}

// --- Fsync modes --------------------------------------------------------------

TEST(Log, FsyncNeverAcknowledgesWrittenData) {
  io::MemFs fs;
  LogOptions opt = options();
  opt.fsync = FsyncMode::kNever;
  std::vector<Rec> all;
  {
    auto s = open_mem(fs, opt);
    ASSERT_TRUE(s->open_status.is_ok());
    all = write_records(*s, 100, 900, 10);
    EXPECT_TRUE(same(s->durable, all));
    check_scans(*s, all);
    s->drain();
    // Acknowledged when written; nothing is durable until the close syncs.
    const LogPositions& p = s->log->positions();
    EXPECT_EQ(p.written, p.staged);
    EXPECT_LT(p.durable, p.written);
    s->close();
    EXPECT_EQ(p.durable, p.written);
  }
  // A clean stop loses nothing (only a crash would).
  auto s = open_mem(fs, opt);
  ASSERT_TRUE(s->open_status.is_ok());
  EXPECT_TRUE(same(s->recovered, all));
}

TEST(Log, FsyncIntervalAcknowledgesAndSyncsSoonAfter) {
  io::MemFs fs;
  LogOptions opt = options();
  opt.fsync = FsyncMode::kInterval;
  opt.fsync_interval_ms = 5;
  std::vector<Rec> all;
  {
    auto s = open_mem(fs, opt);
    ASSERT_TRUE(s->open_status.is_ok());
    all = write_records(*s, 40, 500, 10);
    EXPECT_TRUE(same(s->durable, all));
    run_for(*s->loop, 60ms);
    // The periodic sync caught up with what was written.
    EXPECT_EQ(s->log->durable_end(), s->log->written_end());
  }
  fs.crash(false, 1);
  auto s = open_mem(fs, opt);
  ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
  EXPECT_TRUE(same(s->recovered, all));
}

TEST(Log, FsyncIntervalSyncsSegmentsLeftBehindByARoll) {
  io::MemFs fs;
  LogOptions opt = options();
  opt.fsync = FsyncMode::kInterval;
  opt.fsync_interval_ms = 40;
  std::vector<Rec> all;
  {
    auto s = open_mem(fs, opt);
    ASSERT_TRUE(s->open_status.is_ok());
    // Well within one interval: segment 0 fills and the log moves on.
    all = write_records(*s, 100, 900, 10);
    ASSERT_GE(all.back().offset, kSeg);
    run_for(*s->loop, 150ms);
  }
  fs.crash(false, 1);
  auto s = open_mem(fs, opt);
  ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
  EXPECT_TRUE(same(s->recovered, all));
}

// --- Recovery of damaged folders ----------------------------------------------

TEST(LogRecovery, EmptyFolderOpensEmpty) {
  io::MemFs fs;
  // A segment whose preparation a crash interrupted is cleared away.
  fs.write_file(kDir + "/" + segment_file_name(0) + ".tmp", std::vector<uint8_t>(100, 1));
  auto s = open_mem(fs);
  ASSERT_TRUE(s->open_status.is_ok());
  EXPECT_TRUE(s->recovered.empty());
  EXPECT_EQ(s->log->durable_end(), 0u);
  std::vector<uint8_t> unused;
  EXPECT_FALSE(fs.read_file(kDir + "/" + segment_file_name(0) + ".tmp", &unused));
  write_records(*s, 3, 10, 3);
}

TEST(LogRecovery, TornLastBatchIsTruncatedAndAcknowledgedRecordsStay) {
  QuietLogs quiet;
  int torn = 0;
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    io::MemFs fs;
    std::vector<Rec> acked, attempted;
    {
      auto s = open_mem(fs);
      ASSERT_TRUE(s->open_status.is_ok());
      acked = write_records(*s, 25 + seed % 7, 300, 6);
      // The next flush's write lands, its fdatasync fails: unacknowledged.
      io::MemFs::Faults f;
      f.fail_syncs_errno = EIO;
      fs.set_faults(f);
      for (int i = 0; i < 20; ++i) s->put(350);
      Status st = s->sync();
      EXPECT_EQ(st.code(), Code::kIoError);
      EXPECT_EQ(st.sys_errno(), EIO);
      attempted = slice(s->staged, acked.size());
      fs.set_faults({});
    }
    fs.crash(/*tear=*/true, seed);
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
    // A batch is all or nothing.
    if (s->recovered.size() == acked.size()) {
      EXPECT_TRUE(same(s->recovered, acked));
      ++torn;
    } else {
      EXPECT_TRUE(same(s->recovered, concat(acked, attempted)));
    }
    // The log goes on from there, and opens cleanly next time.
    auto recovered = s->recovered;
    auto more = write_records(*s, 5, 300, 5);
    s.reset();
    auto again = open_mem(fs);
    ASSERT_TRUE(again->open_status.is_ok());
    EXPECT_TRUE(same(again->recovered, concat(recovered, more)));
  }
  EXPECT_GT(torn, 20) << "most seeds tear the unsynced batch";
}

TEST(LogRecovery, ShortSegmentFileIsRefusedByName) {
  io::MemFs fs;
  {
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok());
    write_records(*s, 120, 900, 10);
  }
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(fs.read_file(seg_path(0), &bytes));
  bytes.resize(kSeg / 2);
  fs.write_file(seg_path(0), bytes);
  auto s = open_mem(fs);
  EXPECT_EQ(s->open_status.code(), Code::kCorruption);
  EXPECT_NE(s->open_status.message().find(seg_path(0)), std::string::npos) << s->open_status.to_string();
}

TEST(LogRecovery, FlippedByteInTheNewestSegmentBeforeValidBatches) {
  QuietLogs quiet;
  io::MemFs fs;
  std::vector<Rec> a, b, c;
  {
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok());
    a = write_records(*s, 4, 100, 4);
    b = write_records(*s, 4, 100, 4);
    // More batches after the damaged one than could have been in flight with it.
    for (uint64_t i = 0; i <= limits::kMaxFlushesInFlight; ++i) c = concat(c, write_records(*s, 2, 100, 2));
  }
  const uint64_t bad_batch = b.front().offset - kRecordHeaderBytes;
  flip_byte(fs, seg_path(0), b[1].offset + 60);
  {
    auto s = open_mem(fs);
    EXPECT_EQ(s->open_status.code(), Code::kCorruption);
    const std::string& m = s->open_status.message();
    EXPECT_NE(m.find(seg_path(0)), std::string::npos) << m;
    EXPECT_NE(m.find("file offset " + std::to_string(bad_batch)), std::string::npos) << m;
  }
  LogOptions repair = options();
  repair.repair = true;
  {
    auto s = open_mem(fs, repair);
    ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
    EXPECT_TRUE(same(s->recovered, a));
    EXPECT_FALSE(s->report.repaired.empty());
    auto more = write_records(*s, 3, 100, 3);
    EXPECT_EQ(more.front().offset, bad_batch + kRecordHeaderBytes);
    a = concat(a, more);
  }
  auto s = open_mem(fs);
  ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
  EXPECT_TRUE(same(s->recovered, a));
}

TEST(LogRecovery, FlippedByteFollowedOnlyByBatchesThatMayHaveBeenInFlight) {
  // FORMAT.md: valid batches numbered within the flushes that may have been
  // in flight with the bad one cannot be told from an out-of-order torn
  // flush, so the tail is truncated there, even though here they had been
  // acknowledged.
  QuietLogs quiet;
  io::MemFs fs;
  std::vector<Rec> a, b;
  {
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok());
    a = write_records(*s, 4, 100, 4);
    b = write_records(*s, 4, 100, 4);
    for (uint64_t i = 0; i + 1 < limits::kMaxFlushesInFlight; ++i) write_records(*s, 2, 100, 2);
  }
  flip_byte(fs, seg_path(0), b[1].offset + 60);
  auto s = open_mem(fs);
  ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
  EXPECT_TRUE(same(s->recovered, a));
  EXPECT_GT(s->report.truncated_bytes, 0u);
}

TEST(LogRecovery, FlippedByteInAnOlderSegment) {
  QuietLogs quiet;
  io::MemFs fs;
  std::vector<Rec> all;
  {
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok());
    all = write_records(*s, 200, 900, 5);
    ASSERT_GE(all.back().offset / kSeg, 2u);
  }
  // Record 31 sits in the batch of records 30..34, in segment 0.
  ASSERT_LT(all[34].offset, kSeg);
  const uint64_t bad_batch = all[30].offset - kRecordHeaderBytes;
  flip_byte(fs, seg_path(0), all[31].offset + 70);
  {
    auto s = open_mem(fs);
    EXPECT_EQ(s->open_status.code(), Code::kCorruption);
    const std::string& m = s->open_status.message();
    EXPECT_NE(m.find(seg_path(0)), std::string::npos) << m;
    EXPECT_NE(m.find("file offset " + std::to_string(bad_batch)), std::string::npos) << m;
  }
  LogOptions repair = options();
  repair.repair = true;
  std::vector<Rec> kept;
  {
    auto s = open_mem(fs, repair);
    ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
    EXPECT_TRUE(same(s->recovered, slice(all, 0, 30)));
    EXPECT_FALSE(s->report.repaired.empty());
    auto more = write_records(*s, 40, 900, 5);
    kept = concat(slice(all, 0, 30), more);
    EXPECT_TRUE(same(s->scan(all[0].offset), kept));
  }
  auto s = open_mem(fs);
  ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
  EXPECT_TRUE(same(s->recovered, kept));
}

TEST(LogRecovery, MissingMiddleSegmentIsRefused) {
  QuietLogs quiet;
  io::MemFs fs;
  std::vector<Rec> all;
  {
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok());
    all = write_records(*s, 250, 900, 5);
    ASSERT_GE(all.back().offset / kSeg, 3u);
  }
  fs.remove_file(seg_path(kSeg));
  {
    auto s = open_mem(fs);
    EXPECT_EQ(s->open_status.code(), Code::kCorruption);
    EXPECT_NE(s->open_status.message().find(seg_path(2 * kSeg)), std::string::npos)
        << s->open_status.to_string();
    EXPECT_NE(s->open_status.message().find("missing segment"), std::string::npos);
  }
  LogOptions repair = options();
  repair.repair = true;
  auto s = open_mem(fs, repair);
  ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
  std::vector<Rec> first_segment;
  for (const Rec& r : all) {
    if (r.offset < kSeg) first_segment.push_back(r);
  }
  EXPECT_TRUE(same(s->recovered, first_segment));
}

TEST(LogRecovery, OlderSegmentWithAZeroedHeaderIsRefused) {
  io::MemFs fs;
  {
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok());
    auto all = write_records(*s, 250, 900, 5);
    ASSERT_GE(all.back().offset / kSeg, 3u);
  }
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(fs.read_file(seg_path(kSeg), &bytes));
  std::fill(bytes.begin(), bytes.begin() + limits::kBlockBytes, 0);
  fs.write_file(seg_path(kSeg), bytes);
  auto s = open_mem(fs);
  EXPECT_EQ(s->open_status.code(), Code::kCorruption) << "segment 1 lost its header: its records may not vanish";
  EXPECT_NE(s->open_status.message().find(seg_path(kSeg)), std::string::npos) << s->open_status.to_string();
}

TEST(LogRecovery, ZeroFilledSpareIsKeptAndReused) {
  io::MemFs fs;
  std::vector<Rec> all;
  {
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok());
    all = write_records(*s, 10, 900, 5);
  }
  // The spare prepared ahead of need is there, empty.
  std::vector<uint8_t> spare;
  ASSERT_TRUE(fs.read_file(seg_path(kSeg), &spare));
  EXPECT_EQ(spare.size(), kSeg);
  EXPECT_TRUE(all_zero(spare));
  // No new segment can be made now: the roll must use the spare.
  io::MemFs::Faults f;
  f.fail_prepare_errno = ENOSPC;
  fs.set_faults(f);
  {
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
    EXPECT_TRUE(same(s->recovered, all));
    auto more = write_records(*s, 70, 900, 5);
    EXPECT_GE(more.back().offset, kSeg);
    EXPECT_LT(more.back().offset, 2 * kSeg);
    all = concat(all, more);
  }
  fs.set_faults({});
  auto s = open_mem(fs);
  ASSERT_TRUE(s->open_status.is_ok());
  EXPECT_TRUE(same(s->recovered, all));
}

TEST(LogRecovery, SpareWithStrayBytesIsWipedBeforeUse) {
  QuietLogs quiet;
  // A first flush into the spare was torn: its header sector never landed,
  // later sectors did. The spare looks unwritten but is not empty.
  io::MemFs fs;
  std::vector<Rec> all;
  {
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok());
    all = write_records(*s, 10, 900, 5);
  }
  std::vector<uint8_t> spare(kSeg, 0);
  std::fill(spare.begin() + 4096, spare.begin() + 8192, 0x5A);
  std::fill(spare.end() - 512, spare.end(), 0x5A);
  fs.write_file(seg_path(kSeg), spare);
  {
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
    EXPECT_TRUE(same(s->recovered, all));
    ASSERT_TRUE(fs.read_file(seg_path(kSeg), &spare));
    EXPECT_TRUE(all_zero(spare));
    // Fill it and move past it, so that it is scanned as an older segment.
    all = concat(all, write_records(*s, 150, 900, 5));
    ASSERT_GE(all.back().offset, 2 * kSeg);
  }
  auto s = open_mem(fs);
  ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
  EXPECT_TRUE(same(s->recovered, all));
}

// --- Clean close ---------------------------------------------------------------

TEST(LogClose, CleanCloseSkipsTheTailSearchAndTheSpareCheck) {
  io::MemFs fs;
  std::vector<Rec> all;
  {
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok());
    all = write_records(*s, 150, 900, 5);
    ASSERT_GE(all.back().offset, 2 * kSeg);
    ASSERT_LT(all.back().offset, 3 * kSeg);
    s->close();
    EXPECT_EQ(s->try_put(10).status().code(), Code::kUnavailable) << "nothing is staged after close";
  }
  std::vector<uint8_t> spare;
  ASSERT_TRUE(fs.read_file(seg_path(3 * kSeg), &spare)) << "a spare is there to be checked";
  auto s = open_mem(fs);
  ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
  EXPECT_TRUE(same(s->recovered, all));
  EXPECT_TRUE(s->report.clean_close);
  // The three segments with data, each one read (a 64 KiB segment is one
  // read), and nothing of the spare.
  EXPECT_EQ(s->report.bytes_read, 3 * kSeg);
  EXPECT_EQ(s->report.truncated_bytes, 0u);
  auto more = write_records(*s, 20, 900, 5);
  s.reset();  // no close: as after a crash

  auto again = open_mem(fs);
  ASSERT_TRUE(again->open_status.is_ok()) << again->open_status.to_string();
  EXPECT_TRUE(same(again->recovered, concat(all, more)));
  EXPECT_FALSE(again->report.clean_close) << "the close batch is no longer last";
  EXPECT_GE(again->report.bytes_read, 4 * kSeg) << "the spare is checked after a crash";
}

TEST(LogClose, ReopeningAndClosingWithoutWritingAddsNothing) {
  io::MemFs fs;
  std::vector<Rec> all;
  uint64_t end = 0;
  {
    auto s = open_mem(fs);
    all = write_records(*s, 10, 100, 5);
    s->close();
    end = s->log->durable_end();
  }
  for (int i = 0; i < 3; ++i) {
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok());
    EXPECT_TRUE(s->report.clean_close);
    EXPECT_TRUE(same(s->recovered, all));
    EXPECT_EQ(s->log->durable_end(), end);
    s->close();
    EXPECT_EQ(s->log->durable_end(), end) << "no second close batch behind the first";
  }
}

TEST(LogClose, ClosingALogNeverWrittenWritesItsFirstBatch) {
  io::MemFs fs;
  {
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok());
    s->close();
  }
  auto s = open_mem(fs);
  ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
  EXPECT_TRUE(s->report.clean_close);
  EXPECT_TRUE(s->recovered.empty());
  EXPECT_EQ(s->report.bytes_read, kSeg) << "segment 0 alone; no search for stray bytes";
  auto all = write_records(*s, 30, 500, 5);
  s.reset();
  auto again = open_mem(fs);
  ASSERT_TRUE(again->open_status.is_ok());
  EXPECT_TRUE(same(again->recovered, all));
}

TEST(LogClose, CloseMakesEverythingDurableWhateverTheFsyncMode) {
  for (FsyncMode mode : {FsyncMode::kNever, FsyncMode::kInterval}) {
    SCOPED_TRACE(mode == FsyncMode::kNever ? "never" : "interval");
    io::MemFs fs;
    LogOptions opt = options();
    opt.fsync = mode;
    opt.fsync_interval_ms = 60000;  // the timer never fires in this test
    std::vector<Rec> all;
    {
      auto s = open_mem(fs, opt);
      ASSERT_TRUE(s->open_status.is_ok());
      all = write_records(*s, 100, 900, 10);  // across segments
      ASSERT_GE(all.back().offset, kSeg);
      s->close();
    }
    fs.crash(/*tear=*/false, 1);  // a power cut right after the stop
    auto s = open_mem(fs, opt);
    ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
    EXPECT_TRUE(same(s->recovered, all));
    EXPECT_TRUE(s->report.clean_close);
  }
}

TEST(LogClose, TornCloseBatchIsATornTail) {
  QuietLogs quiet;
  io::MemFs fs;
  std::vector<Rec> all;
  uint64_t close_at = 0;
  {
    auto s = open_mem(fs);
    all = write_records(*s, 20, 300, 4);
    close_at = s->log->durable_end();
    s->close();
    ASSERT_EQ(s->log->durable_end(), close_at + kRecordHeaderBytes);
  }
  flip_byte(fs, seg_path(0), close_at + 20);
  auto s = open_mem(fs);
  ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
  EXPECT_TRUE(same(s->recovered, all));
  EXPECT_FALSE(s->report.clean_close);
  EXPECT_GT(s->report.truncated_bytes, 0u);
  auto more = write_records(*s, 5, 300, 5);
  s.reset();
  auto again = open_mem(fs);
  ASSERT_TRUE(again->open_status.is_ok());
  EXPECT_TRUE(same(again->recovered, concat(all, more)));
}

TEST(LogClose, FirstWriteAfterACleanOpenGoesAloneAndDurable) {
  // Were a later write to land while the first one after the close batch
  // did not, the close batch would look last and vouch for a tail that holds
  // a stray batch. So the first write goes alone, and durable even under
  // --fsync never.
  io::MemFs fs;
  LogOptions opt = options();  // every flush may overlap
  opt.fsync = FsyncMode::kNever;
  {
    auto s = open_mem(fs, opt);
    write_records(*s, 10, 100, 5);
    s->close();
  }
  std::vector<Rec> first;
  {
    auto s = open_mem(fs, opt);
    ASSERT_TRUE(s->report.clean_close);
    s->put(100);
    s->loop->poll();  // the turn's flush: the first write is in flight
    EXPECT_EQ(s->log->flushes_in_flight(), 1u);
    s->put(100);
    bool drained = false;
    s->log->drain([&] { drained = true; });  // starts what may start now
    EXPECT_EQ(s->log->flushes_in_flight(), 1u) << "the second write waits for the first";
    ASSERT_TRUE(run_until(*s->loop, [&] { return drained; }));
    first = slice(s->staged, 0, 1);
    // From then on writes overlap as usual.
    s->put(100);
    s->loop->poll();
    s->put(100);
    drained = false;
    s->log->drain([&] { drained = true; });
    EXPECT_EQ(s->log->flushes_in_flight(), 2u);
    ASSERT_TRUE(run_until(*s->loop, [&] { return drained; }));
  }
  fs.crash(/*tear=*/false, 1);  // unsynced writes are lost, durable ones stay
  auto s = open_mem(fs, opt);
  ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
  EXPECT_FALSE(s->report.clean_close);
  ASSERT_GE(s->recovered.size(), 11u);
  EXPECT_EQ(s->recovered[10].body, first[0].body) << "the first write after the clean open was durable";
}

TEST(LogClose, CrashesAndCleanClosesInAnyOrderNeverLoseTheLog) {
  // fsync never, writes overlapping, power cuts that tear whatever was not
  // synced, clean closes in between: the log always opens, holds everything
  // before its last clean close, and then a prefix of what came after. At
  // most five appends before a power cut: under --fsync never, more
  // unsynced batches than kMaxFlushesInFlight may land out of order, which
  // recovery cannot tell from corruption (with --fsync always no more than
  // that many are ever in doubt).
  QuietLogs quiet;
  io::MemFs fs;
  LogOptions opt = options();
  opt.fsync = FsyncMode::kNever;
  std::vector<Rec> kept;  // everything up to the last clean close
  uint32_t seed = 7;
  int closes = 0;
  for (int cycle = 0; cycle < 60; ++cycle) {
    SCOPED_TRACE("cycle " + std::to_string(cycle));
    auto s = open_mem(fs, opt);
    ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
    ASSERT_GE(s->recovered.size(), kept.size());
    ASSERT_TRUE(same(slice(s->recovered, 0, kept.size()), kept));
    kept = s->recovered;  // what survived is the log now
    seed = seed * 1103515245u + 12345u;
    size_t n = 1 + seed % 5;
    for (size_t i = 0; i < n; ++i) {
      s->put(200 + (seed >> 8) % 3000);
      if ((seed >> (i % 16)) & 1) {
        s->loop->poll();  // let flushes start, and some finish
      }
    }
    if (seed % 3 == 0) {
      s->close();
      kept = concat(kept, s->staged);
      ++closes;
      s.reset();
    } else {
      s.reset();
      fs.crash(/*tear=*/true, seed);
    }
  }
  EXPECT_GT(closes, 10);
  auto s = open_mem(fs, opt);
  ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
  EXPECT_TRUE(same(slice(s->recovered, 0, kept.size()), kept));
}

// --- Injected faults -----------------------------------------------------------

TEST(LogFaults, WriteErrorIsStickyAndLosesNothingAcknowledged) {
  QuietLogs quiet;
  io::MemFs fs;
  std::vector<Rec> acked;
  {
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok());
    acked = write_records(*s, 30, 200, 6);
    io::MemFs::Faults f;
    f.fail_writes_errno = EIO;
    fs.set_faults(f);
    for (int i = 0; i < 5; ++i) s->put(200);
    Status st = s->sync();
    EXPECT_FALSE(st.is_ok());
    EXPECT_EQ(st.code(), Code::kIoError);
    EXPECT_EQ(st.sys_errno(), EIO);
    EXPECT_EQ(s->log->failure().sys_errno(), EIO);
    EXPECT_TRUE(same(s->durable, acked)) << "the failed batch never reaches the durable hook";
    // Sticky, even once the disk would work again.
    fs.set_faults({});
    auto r = s->try_put(10);
    EXPECT_EQ(r.status().code(), Code::kUnavailable);
    Status later = s->sync();
    EXPECT_EQ(later.code(), Code::kUnavailable);
    // Reads of durable data go on working.
    EXPECT_TRUE(same(s->scan(acked[0].offset), acked));
  }
  auto s = open_mem(fs);
  ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
  EXPECT_TRUE(same(s->recovered, acked));
  auto more = write_records(*s, 5, 200, 5);
  EXPECT_TRUE(same(s->scan(acked[0].offset), concat(acked, more)));
}

TEST(LogFaults, NoSpaceForANewSegment) {
  io::MemFs fs;
  std::vector<Rec> acked;
  {
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok());
    acked = write_records(*s, 5, 900, 5);
  }
  // Segment 1 is already prepared; nothing after it can be.
  io::MemFs::Faults f;
  f.fail_prepare_errno = ENOSPC;
  fs.set_faults(f);
  auto s = open_mem(fs);
  ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
  Status refused;
  for (int i = 0; i < 300 && refused.is_ok(); ++i) {
    auto r = s->try_put(900);
    if (!r) {
      refused = r.status();
    } else if (i % 5 == 4) {
      ASSERT_TRUE(s->sync().is_ok());
    }
  }
  EXPECT_EQ(refused.code(), Code::kNoSpace) << refused.to_string();
  EXPECT_EQ(refused.sys_errno(), ENOSPC);
  ASSERT_FALSE(s->staged.empty());
  EXPECT_GE(s->staged.back().offset, kSeg);
  EXPECT_LT(s->staged.back().offset, 2 * kSeg);
  // What was staged before still becomes durable: the log has not failed.
  ASSERT_TRUE(s->sync().is_ok());
  EXPECT_TRUE(s->log->failure().is_ok());
  acked = concat(acked, s->staged);
  // Space again: appends work.
  fs.set_faults({});
  size_t before = s->staged.size();
  write_records(*s, 10, 900, 5);
  EXPECT_GE(s->staged.back().offset, 2 * kSeg);
  acked = concat(acked, slice(s->staged, before));
  EXPECT_TRUE(same(s->durable, slice(acked, 5)));
  s.reset();
  auto again = open_mem(fs);
  ASSERT_TRUE(again->open_status.is_ok());
  EXPECT_TRUE(same(again->recovered, acked));
}

// --- The real disk -------------------------------------------------------------

TEST(LogUring, StageDurableReopenScan) {
  test::TempDir tmp("redcar-log-test");
  ASSERT_TRUE(tmp.ok());
  const std::string root = tmp.path();

  auto open_uring = [&](LogOptions opt) -> std::unique_ptr<Session> {
    auto s = std::make_unique<Session>();
    s->disk = std::make_unique<io::UringDisk>(*s->loop);
    s->open(opt);
    return s;
  };
  LogOptions opt = options();
  opt.dir = root + "/shard-000";
  std::vector<Rec> all;
  {
    auto s = open_uring(opt);
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
    all = write_records(*s, 200, 900, 8);
    ASSERT_GE(all.back().offset / kSeg, 2u);
    EXPECT_TRUE(same(s->durable, all));
    EXPECT_TRUE(same(s->scan(all[20].offset), slice(all, 20)));
    s->drain();
  }
  EXPECT_TRUE(std::filesystem::exists(seg_path(0, opt.dir)));
  EXPECT_EQ(std::filesystem::file_size(seg_path(0, opt.dir)), kSeg);
  auto s = open_uring(opt);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
  EXPECT_TRUE(same(s->recovered, all));
  EXPECT_TRUE(same(s->scan(all[5].offset), slice(all, 5)));  // cold: read back through io_uring
  auto more = write_records(*s, 20, 900, 4);
  EXPECT_TRUE(same(s->scan(all[150].offset), concat(slice(all, 150), more)));
  s->drain();
}

// --- Transactions (FORMAT.md, Transactions) -----------------------------------

// Stages `txn`'s commit mark (after end_txn) and waits for it.
Status commit_txn(Session& s, uint64_t txn) {
  auto st = s.log->stage_commit_mark(txn, false);
  if (!st) return st.status();
  return s.sync();
}

// Records of a transaction, in several provisional batches (a sync between
// them), enough to cross a segment boundary when `bytes` is large.
std::vector<Rec> write_txn(Session& s, uint64_t txn, size_t count, size_t bytes) {
  s.log->begin_txn(txn);
  EXPECT_EQ(s.log->txn(), txn);
  return write_records(s, count, bytes, 3);
}

TEST(LogTxn, CommittedTransactionIsKeptWhole) {
  io::MemFs fs;
  std::vector<Rec> before, in_txn, after;
  {
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok());
    before = write_records(*s, 5, 200, 2);
    in_txn = write_txn(*s, 41, 9, 300);
    EXPECT_TRUE(s->log->end_txn()) << "it staged records";
    ASSERT_TRUE(commit_txn(*s, 41).is_ok());
    after = write_records(*s, 3, 200, 3);
  }
  fs.crash(/*tear=*/false, 1);
  auto s = open_mem(fs);
  ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
  EXPECT_TRUE(same(s->recovered, concat(concat(before, in_txn), after)));
  EXPECT_EQ(s->report.last_txn_commit, 41u);
  EXPECT_EQ(s->report.max_txn, 41u);
  EXPECT_EQ(s->report.txn_dropped, 0u);
}

TEST(LogTxn, TransactionWithoutItsCommitIsCutOffAndTheLogGoesOn) {
  QuietLogs quiet;
  for (bool tear : {false, true}) {
    SCOPED_TRACE(tear ? "torn" : "whole");
    io::MemFs fs;
    std::vector<Rec> before;
    uint64_t segments_in_txn = 0;
    {
      auto s = open_mem(fs);
      ASSERT_TRUE(s->open_status.is_ok());
      before = write_records(*s, 4, 200, 2);
      // Larger than a segment: the cut reaches back across a roll.
      auto in_txn = write_txn(*s, 7, 30, 4000);
      segments_in_txn = s->log->segment_count();
      ASSERT_GT(in_txn.back().offset / kSeg, before.back().offset / kSeg);
    }
    fs.crash(tear, 3);
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
    EXPECT_TRUE(same(s->recovered, before));
    EXPECT_EQ(s->report.txn_dropped, 7u);
    EXPECT_GT(s->report.truncated_bytes, 0u);
    EXPECT_LT(s->log->segment_count(), segments_in_txn + 1);
    // Nothing of it comes back once the log has gone on past the cut.
    auto more = write_records(*s, 6, 500, 2);
    s.reset();
    fs.crash(false, 4);
    auto again = open_mem(fs);
    ASSERT_TRUE(again->open_status.is_ok()) << again->open_status.to_string();
    EXPECT_TRUE(same(again->recovered, concat(before, more)));
    EXPECT_EQ(again->report.txn_dropped, 0u);
  }
}

TEST(LogTxn, StopInsideATransactionAbandonsIt) {
  QuietLogs quiet;
  io::MemFs fs;
  std::vector<Rec> before;
  {
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok());
    before = write_records(*s, 3, 200, 3);
    write_txn(*s, 9, 4, 200);
    s->close();  // the close batch follows the provisional ones
  }
  auto s = open_mem(fs);
  ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
  EXPECT_TRUE(same(s->recovered, before));
  EXPECT_EQ(s->report.txn_dropped, 9u);
  EXPECT_FALSE(s->report.clean_close) << "cut, so the tail is not vouched for";
}

TEST(LogTxn, CutBackToACloseBatchLeavesTheLogClosed) {
  QuietLogs quiet;
  io::MemFs fs;
  std::vector<Rec> before;
  {
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok());
    before = write_records(*s, 4, 200, 2);
    s->close();
  }
  {
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok());
    write_txn(*s, 21, 5, 300);  // right after the close batch
  }
  fs.crash(false, 10);
  std::vector<Rec> more;
  {
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
    EXPECT_TRUE(same(s->recovered, before));
    EXPECT_EQ(s->report.txn_dropped, 21u);
    EXPECT_TRUE(s->report.clean_close) << "the close batch is last again";
    // So the first write goes alone and durable, and a torn later one
    // cannot hide behind the close batch.
    more = write_records(*s, 6, 300, 2);
  }
  fs.crash(true, 11);
  auto s = open_mem(fs);
  ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
  EXPECT_TRUE(same(s->recovered, concat(before, more)));
}

TEST(LogTxn, TransactionCommittedOnTheDecidingShardIsCompleted) {
  io::MemFs fs;
  std::vector<Rec> before, in_txn;
  {
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok());
    before = write_records(*s, 3, 200, 3);
    in_txn = write_txn(*s, 12, 5, 300);
  }
  fs.crash(false, 5);
  LogOptions opt = options();
  std::vector<uint64_t> asked;
  opt.txn_committed = [&asked](uint64_t txn) -> std::optional<bool> {
    asked.push_back(txn);
    return txn == 12;
  };
  std::vector<Rec> more;
  {
    auto s = open_mem(fs, opt);
    ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
    EXPECT_EQ(asked, std::vector<uint64_t>{12});
    EXPECT_TRUE(same(s->recovered, concat(before, in_txn)));
    EXPECT_EQ(s->report.txn_completed, 12u);
    // The commit mark it was missing goes out first.
    more = write_records(*s, 2, 200, 2);
  }
  fs.crash(false, 6);
  asked.clear();
  auto s = open_mem(fs, opt);
  ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
  EXPECT_TRUE(asked.empty()) << "settled in its own log now";
  EXPECT_TRUE(same(s->recovered, concat(concat(before, in_txn), more)));
  EXPECT_EQ(s->report.last_txn_commit, 12u);
}

TEST(LogTxn, TransactionWhoseFirstSegmentWasReclaimedStillRecovers) {
  io::MemFs fs;
  std::vector<Rec> in_txn, after;
  {
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok());
    write_records(*s, 3, 200, 3);
    in_txn = write_txn(*s, 31, 40, 4000);  // over three segments
    ASSERT_TRUE(s->log->end_txn());
    ASSERT_TRUE(commit_txn(*s, 31).is_ok());
    after = write_records(*s, 3, 200, 3);
    // Retention removes whole segments from the front: here the one that
    // holds the transaction's first provisional batch.
    uint64_t second = (in_txn.front().offset / kSeg + 1) * kSeg;
    ASSERT_TRUE(s->log->remove_segments_below(second).is_ok());
    while (!in_txn.empty() && in_txn.front().offset < second) in_txn.erase(in_txn.begin());
  }
  fs.crash(false, 12);
  auto s = open_mem(fs);
  ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
  EXPECT_TRUE(same(s->recovered, concat(in_txn, after)));
}

// Under --fsync interval and never, a transaction still survives a power
// loss whole: what came before is synced when the shard is held (sync_now,
// as Shard::hold does), and its batches and commit mark are written durable.
TEST(LogTxn, TransactionIsDurableWhateverTheFsyncMode) {
  for (FsyncMode mode : {FsyncMode::kNever, FsyncMode::kInterval}) {
    SCOPED_TRACE(mode == FsyncMode::kNever ? "never" : "interval");
    io::MemFs fs;
    LogOptions opt = options();
    opt.fsync = mode;
    opt.fsync_interval_ms = 60000;  // no periodic sync during the test
    std::vector<Rec> before, in_txn;
    {
      auto s = open_mem(fs, opt);
      ASSERT_TRUE(s->open_status.is_ok());
      before = write_records(*s, 6, 300, 2);
      ASSERT_TRUE(s->log->sync_now().is_ok());
      in_txn = write_txn(*s, 51, 7, 300);
      ASSERT_TRUE(s->log->end_txn());
      ASSERT_TRUE(commit_txn(*s, 51).is_ok());
    }
    fs.crash(/*tear=*/true, 13);  // a power loss: unsynced writes torn or lost
    auto s = open_mem(fs, opt);
    ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
    EXPECT_TRUE(same(s->recovered, concat(before, in_txn)));
    EXPECT_EQ(s->report.last_txn_commit, 51u);
  }
}

TEST(LogTxn, UndecidableTransactionRefusesToOpen) {
  io::MemFs fs;
  {
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok());
    write_records(*s, 2, 200, 2);
    write_txn(*s, 5, 2, 200);
  }
  fs.crash(false, 7);
  LogOptions opt = options();
  opt.txn_committed = [](uint64_t) -> std::optional<bool> { return std::nullopt; };
  auto s = open_mem(fs, opt);
  EXPECT_EQ(s->open_status.code(), Code::kUnavailable) << s->open_status.to_string();
  EXPECT_NE(s->open_status.message().find("transaction 5"), std::string::npos) << s->open_status.to_string();
}

TEST(LogTxn, ProvisionalBatchesFollowedByOtherRecordsAreRefused) {
  io::MemFs fs;
  {
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok());
    write_records(*s, 2, 200, 2);
    write_txn(*s, 8, 3, 200);
    EXPECT_TRUE(s->log->end_txn());
    write_records(*s, 2, 200, 2);  // no commit mark: never written so
  }
  fs.crash(false, 8);
  auto s = open_mem(fs);
  EXPECT_EQ(s->open_status.code(), Code::kCorruption) << s->open_status.to_string();
  EXPECT_NE(s->open_status.message().find("transaction 8"), std::string::npos) << s->open_status.to_string();
}

TEST(LogTxn, ATransactionThatWroteNothingLeavesNoTrace) {
  io::MemFs fs;
  std::vector<Rec> before;
  {
    auto s = open_mem(fs);
    ASSERT_TRUE(s->open_status.is_ok());
    before = write_records(*s, 2, 200, 2);
    s->log->begin_txn(3);
    EXPECT_FALSE(s->log->end_txn());
    before = concat(before, write_records(*s, 2, 200, 2));
  }
  fs.crash(false, 9);
  auto s = open_mem(fs);
  ASSERT_TRUE(s->open_status.is_ok()) << s->open_status.to_string();
  EXPECT_TRUE(same(s->recovered, before));
  EXPECT_EQ(s->report.max_txn, 0u);
}

}  // namespace
}  // namespace redcar::log
