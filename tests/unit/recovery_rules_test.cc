// The recovery decision table (engine/log/recovery.h), row by row against
// the table in engine/FORMAT.md, and scan_segment()'s classification of
// segments built byte by byte into each of the table's situations.
#include "engine/log/recovery.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "engine/common/limits.h"
#include "engine/io/aligned_buffer.h"
#include "engine/io/mem_disk.h"
#include "runtime/reactor.h"

namespace redcar::log {
namespace {

// --- The table ---------------------------------------------------------------

// FORMAT.md, "Recovery":
//   newest written segment, only zeros           -> end of data
//   newest written segment, garbage, or valid batches numbered within the
//     next kMaxFlushesInFlight                   -> torn tail: truncate
//   newest written segment, a valid batch numbered beyond that window
//                                                -> corruption: refuse
//   older segment, anything                      -> corruption: refuse
//   bad header (not zero): corruption, newest or older
//   gap between segment offsets                  -> missing segment: refuse
TEST(RecoveryRules, CleanEndIsEndOfData) { EXPECT_EQ(decide(Situation::kCleanEnd), Decision::kEndOfData); }
TEST(RecoveryRules, NewestTornTailTruncates) { EXPECT_EQ(decide(Situation::kNewestTornTail), Decision::kTruncate); }
TEST(RecoveryRules, NewestBadThenValidRefuses) {
  EXPECT_EQ(decide(Situation::kNewestBadThenValid), Decision::kRefuse);
}
TEST(RecoveryRules, OlderBadRefuses) { EXPECT_EQ(decide(Situation::kOlderBad), Decision::kRefuse); }
TEST(RecoveryRules, NewestBadHeaderRefuses) {
  EXPECT_EQ(decide(Situation::kNewestBadHeader), Decision::kRefuse);
}
TEST(RecoveryRules, OlderBadHeaderRefuses) { EXPECT_EQ(decide(Situation::kOlderBadHeader), Decision::kRefuse); }
TEST(RecoveryRules, MissingSegmentRefuses) { EXPECT_EQ(decide(Situation::kMissingSegment), Decision::kRefuse); }

TEST(RecoveryRules, OneRulePerSituationWithAReason) {
  std::set<Situation> seen;
  for (const auto& r : recovery_rules()) {
    EXPECT_TRUE(seen.insert(r.situation).second) << "two rules for " << situation_name(r.situation);
    ASSERT_NE(r.why, nullptr);
    EXPECT_GT(std::string(r.why).size(), 10u);
    EXPECT_STRNE(situation_name(r.situation), "?");
    EXPECT_EQ(decide(r.situation), r.decision);
  }
  EXPECT_EQ(seen.size(), 7u);
}

TEST(RecoveryRules, UnknownSituationRefuses) {
  EXPECT_EQ(decide(static_cast<Situation>(200)), Decision::kRefuse);
  EXPECT_STREQ(situation_name(static_cast<Situation>(200)), "?");
}

// --- scan_segment on hand-built segments -------------------------------------

constexpr uint64_t kSeg = limits::kMinSegmentBytes;
const std::string kPath = "/d/00000000000000000000.seg";

struct Rec {
  std::string name;
  uint64_t number;
  uint64_t file_offset;
};

// Lays out a segment the way the log writes it: a header, then batches
// numbered from prev_seq + 1.
class SegmentBuilder {
 public:
  explicit SegmentBuilder(uint64_t size = kSeg, uint64_t prev_seq = 0)
      : bytes_(size, 0), next_seq_(prev_seq + 1) {
    SegmentHeader sh{0, 1, 0, size};
    sh.prev_batch_seq = prev_seq;
    encode_segment_header(bytes_.data(), sh);
  }
  // Appends one batch of records named s0, s1, ...; returns its file offset.
  uint64_t batch(int records, size_t body_bytes = 20, const std::string& prefix = "s") {
    return batch_numbered(next_seq_++, records, body_bytes, prefix);
  }
  // The same with a chosen sequence number (the next one is not used up).
  uint64_t batch_numbered(uint64_t seq, int records, size_t body_bytes = 20, const std::string& prefix = "s") {
    uint64_t at = pos_;
    size_t p = at + kRecordHeaderBytes;
    for (int i = 0; i < records; ++i) {
      RecordHeader h;
      h.type = RecordType::kEvent;
      h.number = next_number_++;
      std::string name = prefix + std::to_string(h.number);
      offsets_.push_back({name, h.number, p});
      p += encode_record(bytes_.data() + p, h, name, std::string(body_bytes, 'b'));
    }
    RecordHeader bh;
    bh.type = RecordType::kBatch;
    bh.number = p - at - kRecordHeaderBytes;
    bh.id_ms = records;
    bh.id_seq = checksum(bytes_.data() + at + kRecordHeaderBytes, bh.number);
    bh.timestamp_us = static_cast<int64_t>(seq);
    encode_record(bytes_.data() + at, bh, {}, {});
    pos_ = p;
    return at;
  }
  // The empty batch a clean close writes last (flag kBatchFlagClose).
  uint64_t close_batch() {
    uint64_t at = pos_;
    RecordHeader bh;
    bh.type = RecordType::kBatch;
    bh.flags = kBatchFlagClose;
    bh.id_seq = checksum(bytes_.data() + at + kRecordHeaderBytes, 0);
    bh.timestamp_us = static_cast<int64_t>(next_seq_++);
    pos_ += encode_record(bytes_.data() + at, bh, {}, {});
    return at;
  }
  // A batch of one record sized so that the batch ends at file offset `end`.
  uint64_t batch_ending_at(uint64_t end) {
    size_t room = end - pos_ - 2 * kRecordHeaderBytes;
    return batch(1, room - 1 - std::to_string(next_number_).size(), "s");
  }
  // The next batch starts on a fresh block, as one made while the previous
  // was still in flight does.
  void skip_to_block() { pos_ = (pos_ + limits::kBlockBytes - 1) / limits::kBlockBytes * limits::kBlockBytes; }
  void pos_for_test(uint64_t pos) { pos_ = pos; }
  std::vector<uint8_t>& bytes() { return bytes_; }
  uint64_t pos() const { return pos_; }
  const std::vector<Rec>& records() const { return offsets_; }

 private:
  std::vector<uint8_t> bytes_;
  uint64_t pos_ = kSegmentHeaderBytes;
  uint64_t next_seq_;
  uint64_t next_number_ = 0;
  std::vector<Rec> offsets_;
};

struct Scanned {
  Status status;
  SegmentScan scan;
  std::vector<Rec> applied;
};

Scanned scan_bytes_in_chunks(const std::vector<uint8_t>& bytes, bool newest, io::MemFs::Faults faults,
                             uint64_t prev_seq, size_t chunk_bytes) {
  io::MemFs fs;
  std::unique_ptr<runtime::Reactor> loop;
  EXPECT_EQ(runtime::Reactor::create({.ring_entries = 8}, &loop), 0);
  io::MemDisk disk(fs, *loop);
  fs.write_file(kPath, bytes);
  auto f = disk.open(kPath);
  EXPECT_TRUE(f.is_ok());
  fs.set_faults(faults);
  Scanned out;
  out.status = scan_segment(
      **f, bytes.size(), newest,
      [&](const RecordView& rec, uint64_t off) {
        out.applied.push_back({std::string(rec.name), rec.header.number, off});
      },
      &out.scan, prev_seq, chunk_bytes);
  return out;
}

// Scans with the engine's read size, and again in small chunks (read ahead,
// batches straddling them, windows copied across two): every answer must be
// the same.
Scanned scan_bytes(const std::vector<uint8_t>& bytes, bool newest, io::MemFs::Faults faults = {},
                   uint64_t prev_seq = 0) {
  Scanned out = scan_bytes_in_chunks(bytes, newest, faults, prev_seq, limits::kRecoveryChunkBytes);
  for (size_t chunk : {size_t{4096}, size_t{12288}, size_t{40960}}) {
    Scanned c = scan_bytes_in_chunks(bytes, newest, faults, prev_seq, chunk);
    EXPECT_EQ(c.status.to_string(), out.status.to_string()) << "chunks of " << chunk;
    EXPECT_EQ(c.scan.end, out.scan.end) << "chunks of " << chunk;
    EXPECT_EQ(c.scan.valid_end_bytes, out.scan.valid_end_bytes) << "chunks of " << chunk;
    EXPECT_EQ(c.scan.batches, out.scan.batches) << "chunks of " << chunk;
    EXPECT_EQ(c.scan.records, out.scan.records) << "chunks of " << chunk;
    EXPECT_EQ(c.scan.last_seq, out.scan.last_seq) << "chunks of " << chunk;
    EXPECT_EQ(c.scan.torn_batches_after, out.scan.torn_batches_after) << "chunks of " << chunk;
    EXPECT_EQ(c.scan.closed, out.scan.closed) << "chunks of " << chunk;
    EXPECT_EQ(c.scan.detail, out.scan.detail) << "chunks of " << chunk;
    EXPECT_EQ(c.applied.size(), out.applied.size()) << "chunks of " << chunk;
    for (size_t i = 0; i < c.applied.size() && i < out.applied.size(); ++i) {
      EXPECT_EQ(c.applied[i].name, out.applied[i].name) << "chunks of " << chunk << ", record " << i;
      EXPECT_EQ(c.applied[i].file_offset, out.applied[i].file_offset) << "chunks of " << chunk << ", record " << i;
    }
  }
  return out;
}

void expect_records(const std::vector<Rec>& got, const std::vector<Rec>& want, size_t count) {
  ASSERT_EQ(got.size(), count);
  for (size_t i = 0; i < count; ++i) {
    EXPECT_EQ(got[i].name, want[i].name);
    EXPECT_EQ(got[i].number, want[i].number);
    EXPECT_EQ(got[i].file_offset, want[i].file_offset);
  }
}

TEST(ScanSegment, CleanEndAppliesEveryRecordInOrder) {
  SegmentBuilder b;
  b.batch(3);
  b.batch(1);
  b.batch(5, 300);
  for (bool newest : {true, false}) {
    Scanned s = scan_bytes(b.bytes(), newest);
    ASSERT_TRUE(s.status.is_ok()) << s.status.to_string();
    EXPECT_EQ(s.scan.end, Situation::kCleanEnd);
    EXPECT_EQ(s.scan.valid_end_bytes, b.pos());
    EXPECT_EQ(s.scan.batches, 3u);
    EXPECT_EQ(s.scan.records, 9u);
    expect_records(s.applied, b.records(), 9);
  }
}

TEST(ScanSegment, ZeroHeaderIsAnEmptySegment) {
  std::vector<uint8_t> zeros(kSeg, 0);
  Scanned s = scan_bytes(zeros, true);
  ASSERT_TRUE(s.status.is_ok());
  EXPECT_EQ(s.scan.end, Situation::kCleanEnd);
  EXPECT_EQ(s.scan.valid_end_bytes, 0u);
  EXPECT_TRUE(s.applied.empty());
}

TEST(ScanSegment, HeaderOnlyIsAnEmptyLog) {
  SegmentBuilder b;
  Scanned s = scan_bytes(b.bytes(), true);
  ASSERT_TRUE(s.status.is_ok());
  EXPECT_EQ(s.scan.end, Situation::kCleanEnd);
  EXPECT_EQ(s.scan.valid_end_bytes, kSegmentHeaderBytes);
}

TEST(ScanSegment, NewestTornTailFollowedByZeros) {
  SegmentBuilder b;
  b.batch(2);
  uint64_t bad = b.batch(3);
  b.bytes()[b.pos() - 10] ^= 0x40;  // inside the last record of the last batch
  Scanned s = scan_bytes(b.bytes(), true);
  ASSERT_TRUE(s.status.is_ok());
  EXPECT_EQ(s.scan.end, Situation::kNewestTornTail);
  EXPECT_EQ(decide(s.scan.end), Decision::kTruncate);
  EXPECT_EQ(s.scan.valid_end_bytes, bad);
  EXPECT_FALSE(s.scan.detail.empty());
  // Nothing of the bad batch reaches the sink: a batch is all or nothing.
  expect_records(s.applied, b.records(), 2);
}

TEST(ScanSegment, NewestTornTailWithPartOfTheFlushMissing) {
  // A torn write: the batch's first sector made it, a later one did not.
  SegmentBuilder b;
  b.batch(1);
  uint64_t bad = b.batch(20, 200);
  std::fill(b.bytes().begin() + bad + 1024, b.bytes().begin() + bad + 1536, 0);
  Scanned s = scan_bytes(b.bytes(), true);
  EXPECT_EQ(s.scan.end, Situation::kNewestTornTail);
  EXPECT_EQ(s.scan.valid_end_bytes, bad);
}

TEST(ScanSegment, NewestTornTailWithGarbageButNoValidBatchAfter) {
  // The batch header sector was lost, later sectors of its records landed.
  SegmentBuilder b;
  b.batch(1);
  uint64_t bad = b.batch(20, 200);
  std::fill(b.bytes().begin() + bad, b.bytes().begin() + bad + 512, 0xEE);
  Scanned s = scan_bytes(b.bytes(), true);
  EXPECT_EQ(s.scan.end, Situation::kNewestTornTail);
  EXPECT_EQ(s.scan.valid_end_bytes, bad);
}

TEST(ScanSegment, NewestBadBatchFollowedByBatchesBeyondTheInFlightWindowIsCorruption) {
  // Batches numbered past the flushes that may have been in flight with the
  // bad one were acknowledged: truncating would lose them.
  SegmentBuilder b;
  b.batch(2);
  uint64_t bad = b.batch(2);
  // Batches 3.. follow the bad batch 2; the last good one is 1, so the
  // window holds 2..1+kMaxFlushesInFlight and the first beyond it is next.
  uint64_t beyond = 0;
  for (uint64_t seq = 3; seq <= 3 + limits::kMaxFlushesInFlight; ++seq) {
    uint64_t at = b.batch(2);
    if (seq == 2 + limits::kMaxFlushesInFlight) beyond = at;
  }
  b.bytes()[bad + kRecordHeaderBytes + 20] ^= 1;
  Scanned s = scan_bytes(b.bytes(), true);
  ASSERT_TRUE(s.status.is_ok());
  EXPECT_EQ(s.scan.end, Situation::kNewestBadThenValid);
  EXPECT_EQ(decide(s.scan.end), Decision::kRefuse);
  EXPECT_EQ(s.scan.valid_end_bytes, bad);
  EXPECT_NE(s.scan.detail.find(std::to_string(beyond)), std::string::npos) << s.scan.detail;
  expect_records(s.applied, b.records(), 2);
}

TEST(ScanSegment, NewestBadBatchFollowedByBatchesThatMayHaveBeenInFlightIsATornTail) {
  // Flushes in flight together may reach the disk out of order: later ones
  // whole, an earlier one torn. None of them was acknowledged.
  SegmentBuilder b;
  b.batch(2);
  uint64_t bad = b.batch(2);
  for (uint64_t i = 0; i + 1 < limits::kMaxFlushesInFlight; ++i) {
    b.skip_to_block();
    b.batch(2);
  }
  b.bytes()[bad + kRecordHeaderBytes + 20] ^= 1;
  Scanned s = scan_bytes(b.bytes(), true);
  ASSERT_TRUE(s.status.is_ok());
  EXPECT_EQ(s.scan.end, Situation::kNewestTornTail) << s.scan.detail;
  EXPECT_EQ(decide(s.scan.end), Decision::kTruncate);
  EXPECT_EQ(s.scan.valid_end_bytes, bad);
  expect_records(s.applied, b.records(), 2);
}

TEST(ScanSegment, BatchOutOfSequenceIsLeftOverFromAnUnacknowledgedFlush) {
  SegmentBuilder b;
  b.batch(2);
  b.batch(2);
  uint64_t stray = b.pos();
  b.batch_numbered(7, 2);  // valid bytes, but not batch 3
  Scanned newest = scan_bytes(b.bytes(), true);
  EXPECT_EQ(newest.scan.end, Situation::kNewestTornTail) << newest.scan.detail;
  EXPECT_EQ(newest.scan.valid_end_bytes, stray);
  EXPECT_EQ(newest.scan.last_seq, 2u);
  expect_records(newest.applied, b.records(), 4);
  Scanned older = scan_bytes(b.bytes(), false);
  EXPECT_EQ(older.scan.end, Situation::kOlderBad);
  EXPECT_EQ(older.scan.valid_end_bytes, stray);
}

TEST(ScanSegment, BatchOnAFreshBlockAfterZeros) {
  // A batch made while the previous one was in flight starts at the next
  // block boundary; the zeros before it are not the end of the data.
  SegmentBuilder b;
  b.batch(1);
  ASSERT_NE(b.pos() % limits::kBlockBytes, 0u);
  b.skip_to_block();
  b.batch(3);
  b.skip_to_block();
  b.batch(2);
  for (bool newest : {true, false}) {
    Scanned s = scan_bytes(b.bytes(), newest);
    ASSERT_TRUE(s.status.is_ok());
    EXPECT_EQ(s.scan.end, Situation::kCleanEnd) << s.scan.detail;
    EXPECT_EQ(s.scan.valid_end_bytes, b.pos());
    EXPECT_EQ(s.scan.last_seq, 3u);
    expect_records(s.applied, b.records(), 6);
  }
}

TEST(ScanSegment, SegmentMustFollowThePreviousOnesLastBatch) {
  SegmentBuilder b(kSeg, /*prev_seq=*/41);
  b.batch(2);
  Scanned ok = scan_bytes(b.bytes(), false, {}, 41);
  EXPECT_EQ(ok.scan.end, Situation::kCleanEnd);
  EXPECT_EQ(ok.scan.last_seq, 42u);
  Scanned older = scan_bytes(b.bytes(), false, {}, 40);
  EXPECT_EQ(older.scan.end, Situation::kOlderBadHeader);
  Scanned newest = scan_bytes(b.bytes(), true, {}, 40);
  EXPECT_EQ(newest.scan.end, Situation::kNewestBadHeader);
}

TEST(ScanSegment, BadBatchInAnOlderSegmentIsCorruption) {
  SegmentBuilder b;
  b.batch(2);
  uint64_t bad = b.batch(2);
  b.bytes()[bad + 3] ^= 1;  // the batch record's own checksum
  Scanned s = scan_bytes(b.bytes(), false);
  EXPECT_EQ(s.scan.end, Situation::kOlderBad);
  EXPECT_EQ(decide(s.scan.end), Decision::kRefuse);
  EXPECT_EQ(s.scan.valid_end_bytes, bad);
  expect_records(s.applied, b.records(), 2);
}

TEST(ScanSegment, BadHeader) {
  SegmentBuilder b;
  b.batch(2);
  b.bytes()[20] ^= 1;
  Scanned newest = scan_bytes(b.bytes(), true);
  EXPECT_EQ(newest.scan.end, Situation::kNewestBadHeader);
  EXPECT_EQ(decide(newest.scan.end), Decision::kRefuse);
  Scanned older = scan_bytes(b.bytes(), false);
  EXPECT_EQ(older.scan.end, Situation::kOlderBadHeader);
  EXPECT_EQ(decide(older.scan.end), Decision::kRefuse);
  EXPECT_TRUE(older.applied.empty());
}

TEST(ScanSegment, BatchRecordOfAnotherTypeIsBad) {
  // A valid record that is not a batch where a batch should start.
  SegmentBuilder b;
  b.batch(1);
  uint64_t at = b.pos();
  RecordHeader h;
  h.type = RecordType::kEvent;
  encode_record(b.bytes().data() + at, h, "loose", "record");
  Scanned s = scan_bytes(b.bytes(), false);
  EXPECT_EQ(s.scan.end, Situation::kOlderBad);
  EXPECT_EQ(s.scan.valid_end_bytes, at);
}

TEST(ScanSegment, SegmentFilledToTheLastByte) {
  for (uint64_t left : {0u, 8u, 16u, 40u, 48u, 56u}) {
    SegmentBuilder b;
    b.batch(3);
    b.batch_ending_at(kSeg - left);
    ASSERT_EQ(b.pos(), kSeg - left);
    for (bool newest : {true, false}) {
      Scanned s = scan_bytes(b.bytes(), newest);
      ASSERT_TRUE(s.status.is_ok());
      EXPECT_EQ(s.scan.end, Situation::kCleanEnd) << "left " << left << " newest " << newest << ": "
                                                  << s.scan.detail;
      EXPECT_EQ(s.scan.valid_end_bytes, kSeg - left);
      EXPECT_EQ(s.scan.records, 4u);
    }
  }
}

TEST(ScanSegment, BatchesAcrossReadChunks) {
  // A segment larger than one recovery read, with batches straddling the
  // chunk boundary.
  const uint64_t size = limits::kRecoveryChunkBytes + (1 << 20);
  SegmentBuilder b(size);
  while (b.pos() < limits::kRecoveryChunkBytes + 300000) b.batch(50, 1000);
  Scanned s = scan_bytes(b.bytes(), true);
  ASSERT_TRUE(s.status.is_ok());
  EXPECT_EQ(s.scan.end, Situation::kCleanEnd);
  EXPECT_EQ(s.scan.valid_end_bytes, b.pos());
  expect_records(s.applied, b.records(), b.records().size());
}

TEST(ScanSegment, CloseBatchLastInTheNewestSegmentEndsItCleanly) {
  SegmentBuilder b;
  b.batch(3);
  b.batch(2, 500);
  uint64_t close = b.close_batch();
  Scanned s = scan_bytes(b.bytes(), true);
  ASSERT_TRUE(s.status.is_ok()) << s.status.to_string();
  EXPECT_EQ(s.scan.end, Situation::kCleanEnd);
  EXPECT_TRUE(s.scan.closed);
  EXPECT_EQ(s.scan.valid_end_bytes, close + kRecordHeaderBytes);
  EXPECT_EQ(s.scan.batches, 3u);
  EXPECT_EQ(s.scan.last_seq, 3u);
  expect_records(s.applied, b.records(), 5);
  // Without the tail search, nothing past the close batch is read: the
  // whole 64 KiB segment is one chunk here, so only the small chunks show it.
  Scanned small = scan_bytes_in_chunks(b.bytes(), true, {}, 0, 4096);
  EXPECT_LE(small.scan.bytes_read, io::align_up(close + kRecordHeaderBytes) + limits::kRecoveryReadsAhead * 4096);
  // An older segment ending with a close batch is just an older segment.
  Scanned older = scan_bytes(b.bytes(), false);
  EXPECT_EQ(older.scan.end, Situation::kCleanEnd);
  EXPECT_FALSE(older.scan.closed);
}

TEST(ScanSegment, CloseBatchThatIsNotLastVouchesForNothing) {
  // Written after a clean open: the close batch is followed by more batches,
  // so the tail is searched as after any crash (and finds a torn flush).
  SegmentBuilder b;
  b.batch(2);
  b.close_batch();
  b.batch(3);  // sequence 3
  uint64_t end = b.pos();
  // Batch 4 was lost; batch 5, in flight with it on the next free block,
  // landed: neither was acknowledged.
  b.skip_to_block();
  b.pos_for_test(b.pos() + limits::kBlockBytes);
  b.batch_numbered(5, 1);
  Scanned s = scan_bytes(b.bytes(), true);
  ASSERT_TRUE(s.status.is_ok()) << s.status.to_string();
  EXPECT_FALSE(s.scan.closed);
  EXPECT_EQ(s.scan.end, Situation::kNewestTornTail);
  EXPECT_EQ(s.scan.torn_batches_after, 1u);
  EXPECT_EQ(s.scan.valid_end_bytes, end);
}

TEST(ScanSegment, TornCloseBatchIsATornTail) {
  SegmentBuilder b;
  b.batch(2);
  uint64_t close = b.close_batch();
  b.bytes()[close + 20] ^= 0x01;
  Scanned s = scan_bytes(b.bytes(), true);
  ASSERT_TRUE(s.status.is_ok()) << s.status.to_string();
  EXPECT_FALSE(s.scan.closed);
  EXPECT_EQ(s.scan.end, Situation::kNewestTornTail);
  EXPECT_EQ(s.scan.valid_end_bytes, close);
  expect_records(s.applied, b.records(), 2);
}

TEST(ScanSegment, CloseFlagOnABatchWithRecordsIsNoClose) {
  // Only the empty batch a close writes counts.
  SegmentBuilder b;
  b.batch(2);
  uint64_t at = b.batch(1);
  RecordView rec;
  ASSERT_EQ(decode_record(b.bytes().data() + at, kRecordHeaderBytes, kSeg, &rec), DecodeResult::kOk);
  RecordHeader h = rec.header;
  h.flags = kBatchFlagClose;
  encode_record(b.bytes().data() + at, h, {}, {});
  Scanned s = scan_bytes(b.bytes(), true);
  ASSERT_TRUE(s.status.is_ok()) << s.status.to_string();
  EXPECT_EQ(s.scan.batches, 2u);
  EXPECT_EQ(s.scan.end, Situation::kCleanEnd);
  EXPECT_FALSE(s.scan.closed);
}

TEST(ScanSegment, ReadErrorIsReported) {
  SegmentBuilder b;
  b.batch(2);
  io::MemFs::Faults f;
  f.fail_reads_errno = EIO;
  Scanned s = scan_bytes(b.bytes(), true, f);
  EXPECT_FALSE(s.status.is_ok());
  EXPECT_EQ(s.status.sys_errno(), EIO);
  EXPECT_NE(s.status.message().find(kPath), std::string::npos);
}

}  // namespace
}  // namespace redcar::log
