#include "engine/log/recovery.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <future>
#include <vector>

#include "engine/common/limits.h"
#include "engine/io/aligned_buffer.h"

namespace redcar::log {

const std::array<RecoveryRule, 7>& recovery_rules() {
  static const std::array<RecoveryRule, 7> kRules = {{
      {Situation::kCleanEnd, Decision::kEndOfData, "zeros: the prepared, never written rest of a segment"},
      {Situation::kNewestTornTail, Decision::kTruncate,
       "the last flush did not complete: nothing in it was acknowledged"},
      {Situation::kNewestBadThenValid, Decision::kRefuse,
       "acknowledged data follows the bad batch: truncating would lose it"},
      {Situation::kOlderBad, Decision::kRefuse, "older segments were durable before the newest was written"},
      {Situation::kNewestBadHeader, Decision::kRefuse,
       "the header shares the first sector with the first batch: a torn write leaves it zero, not damaged"},
      {Situation::kOlderBadHeader, Decision::kRefuse, "older segments were durable before the newest was written"},
      {Situation::kMissingSegment, Decision::kRefuse, "a whole segment of acknowledged data is gone"},
  }};
  return kRules;
}

Decision decide(Situation s) {
  for (const auto& r : recovery_rules()) {
    if (r.situation == s) return r.decision;
  }
  return Decision::kRefuse;
}

const char* situation_name(Situation s) {
  switch (s) {
    case Situation::kCleanEnd: return "clean end";
    case Situation::kNewestTornTail: return "torn tail";
    case Situation::kNewestBadThenValid: return "bad batch followed by valid data";
    case Situation::kOlderBad: return "bad batch in an older segment";
    case Situation::kNewestBadHeader: return "damaged header in the newest segment";
    case Situation::kOlderBadHeader: return "damaged segment header";
    case Situation::kMissingSegment: return "missing segment";
  }
  return "?";
}

namespace {

// Reads a segment front to back in chunks, with the next chunks read ahead
// on helper threads while the caller works on the current one: the disk and
// the checksums run side by side. A window that straddles two chunks (a
// batch across a chunk boundary) is copied whole into a buffer of its own.
class SegmentReader {
 public:
  SegmentReader(io::File& file, uint64_t segment_bytes, size_t chunk_bytes)
      : file_(file), segment_bytes_(segment_bytes), chunk_bytes_(io::align_up(chunk_bytes)) {}
  ~SegmentReader() { drop_ahead(); }
  SegmentReader(const SegmentReader&) = delete;
  SegmentReader& operator=(const SegmentReader&) = delete;

  // Makes [offset, offset + len) available; returns a pointer to it, or
  // nullptr with *err set (or *err == 0 when the segment ends first). The
  // pointer is good until the next call.
  const uint8_t* window(uint64_t offset, size_t len, int* err) {
    *err = 0;
    if (offset + len > segment_bytes_) len = segment_bytes_ - offset;
    if (cur_.holds(offset, len)) return cur_.at(offset);
    if (straddle_.holds(offset, len)) return straddle_.at(offset);
    // Moving on: the chunks read ahead become current once the window
    // starts in them.
    while (!ahead_.empty() && offset >= ahead_.front().chunk.base) {
      if (!advance(err)) return nullptr;
      if (cur_.holds(offset, len)) return cur_.at(offset);
    }
    if (offset >= cur_.base && offset < cur_.end() && !ahead_.empty() &&
        offset + len <= ahead_.front().chunk.base + ahead_.front().len) {
      // Across the boundary with the next chunk: copy the two parts.
      Ahead& next = ahead_.front();
      if (!wait(next, err)) return nullptr;
      if (offset + len <= next.chunk.end()) {
        size_t first = static_cast<size_t>(cur_.end() - offset);
        straddle_.buf.reserve(len);
        std::memcpy(straddle_.buf.data(), cur_.at(offset), first);
        std::memcpy(straddle_.buf.data() + first, next.chunk.buf.data(), len - first);
        straddle_.base = offset;
        straddle_.have = len;
        straddle_.head = 0;
        return straddle_.buf.data();
      }
    }
    // Anywhere else (the first read, a jump back, a window larger than a
    // chunk): read synchronously from the block holding `offset`.
    drop_ahead();
    uint64_t start = io::align_down(offset);
    size_t want = io::align_up(std::max<size_t>(offset + len - start, chunk_bytes_));
    if (start + want > segment_bytes_) want = io::align_up(segment_bytes_ - start);
    cur_.buf.reserve(want);
    int n = file_.read_sync(start, cur_.buf.data(), want);
    if (n < 0) {
      *err = n;
      return nullptr;
    }
    cur_.base = start;
    cur_.have = static_cast<size_t>(n);
    bytes_read_ += static_cast<uint64_t>(n);
    eof_ = static_cast<size_t>(n) < want;
    top_up();
    if (!cur_.holds(offset, len)) return nullptr;
    return cur_.at(offset);
  }
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  struct Chunk {
    io::AlignedBuffer buf;
    uint64_t base = 0;  // file offset of buf[head]
    size_t have = 0;
    size_t head = 0;
    uint64_t end() const { return base + have; }
    bool holds(uint64_t offset, size_t len) const { return offset >= base && offset + len <= base + have; }
    const uint8_t* at(uint64_t offset) const { return buf.data() + head + (offset - base); }
  };
  struct Ahead {
    Chunk chunk;  // base set, have once read
    size_t len = 0;
    std::future<int> result;
    bool ready = false;
    int n = 0;
  };

  bool wait(Ahead& a, int* err) {
    if (!a.ready) {
      a.n = a.result.get();
      a.ready = true;
      if (a.n >= 0) {
        a.chunk.have = static_cast<size_t>(a.n);
        bytes_read_ += static_cast<uint64_t>(a.n);
      }
    }
    if (a.n < 0) *err = a.n;
    return a.n >= 0;
  }

  // The first chunk read ahead becomes the current one.
  bool advance(int* err) {
    Ahead& a = ahead_.front();
    if (!wait(a, err)) return false;
    spare_.push_back(std::move(cur_.buf));
    cur_ = std::move(a.chunk);
    bool short_read = static_cast<size_t>(a.n) < a.len;
    ahead_.pop_front();
    if (short_read) {
      eof_ = true;
      drop_ahead();
    }
    top_up();
    return true;
  }

  void top_up() {
    uint64_t next = ahead_.empty() ? cur_.end() : ahead_.back().chunk.base + ahead_.back().len;
    while (!eof_ && ahead_.size() < limits::kRecoveryReadsAhead && next < segment_bytes_) {
      Ahead a;
      a.len = static_cast<size_t>(std::min<uint64_t>(chunk_bytes_, segment_bytes_ - next));
      if (!spare_.empty()) {
        a.chunk.buf = std::move(spare_.back());
        spare_.pop_back();
      }
      a.chunk.buf.reserve(a.len);
      a.chunk.base = next;
      uint8_t* dst = a.chunk.buf.data();
      io::File* file = &file_;
      size_t len = a.len;
      a.result = std::async(std::launch::async, [file, dst, next, len] { return file->read_sync(next, dst, len); });
      next += a.len;
      ahead_.push_back(std::move(a));
    }
  }

  // Waits for reads ahead that are no longer wanted.
  void drop_ahead() {
    for (auto& a : ahead_) {
      if (!a.ready) a.result.wait();
      spare_.push_back(std::move(a.chunk.buf));
    }
    ahead_.clear();
  }

  io::File& file_;
  uint64_t segment_bytes_;
  size_t chunk_bytes_;
  Chunk cur_;
  Chunk straddle_;
  std::deque<Ahead> ahead_;
  std::vector<io::AlignedBuffer> spare_;
  bool eof_ = false;
  uint64_t bytes_read_ = 0;
};

enum class BatchCheck { kValid, kEnd, kBad };

// Checks the batch at `pos`; on success fills *batch_bytes (records after
// the batch record) and leaves the batch readable in the reader's window.
BatchCheck check_batch(SegmentReader& r, uint64_t pos, uint64_t segment_bytes, uint64_t* batch_bytes,
                       const uint8_t** records, std::string* why, int* err, uint64_t* seq = nullptr,
                       uint8_t* flags = nullptr) {
  if (segment_bytes - pos < kRecordHeaderBytes) {
    // No batch fits in what is left (the writer moved on to the next
    // segment): it must be zeros. The window is shorter than a record header
    // here, so decode_record may not look at it.
    size_t left = static_cast<size_t>(segment_bytes - pos);
    const uint8_t* p = left ? r.window(pos, left, err) : nullptr;
    if (!p) return *err ? BatchCheck::kBad : BatchCheck::kEnd;
    if (std::all_of(p, p + left, [](uint8_t b) { return b == 0; })) return BatchCheck::kEnd;
    *why = "garbage in the last bytes of the segment";
    return BatchCheck::kBad;
  }
  const uint8_t* p = r.window(pos, kRecordHeaderBytes, err);
  if (!p) return *err ? BatchCheck::kBad : BatchCheck::kEnd;
  RecordView rec;
  DecodeResult d = decode_record(p, kRecordHeaderBytes, segment_bytes - pos, &rec);
  if (d == DecodeResult::kEnd) return BatchCheck::kEnd;
  if (d != DecodeResult::kOk || rec.header.type != RecordType::kBatch) {
    *why = "bad batch header";
    return BatchCheck::kBad;
  }
  uint64_t n = rec.header.number;
  if (n > segment_bytes - pos - kRecordHeaderBytes || n % kRecordAlignBytes != 0) {
    *why = "batch length out of bounds";
    return BatchCheck::kBad;
  }
  const uint8_t* body = r.window(pos + kRecordHeaderBytes, n, err);
  if (!body && n > 0) {
    *why = "batch extends past the end of the segment file";
    return BatchCheck::kBad;
  }
  if (checksum(body, n) != rec.header.id_seq) {
    *why = "batch checksum mismatch";
    return BatchCheck::kBad;
  }
  *batch_bytes = n;
  *records = body;
  if (seq) *seq = static_cast<uint64_t>(rec.header.timestamp_us);
  if (flags) *flags = rec.header.flags;
  return BatchCheck::kValid;
}

}  // namespace

namespace {

Status scan_with(SegmentReader& r, io::File& file, uint64_t segment_bytes, bool newest, const RecordSink& apply,
                 SegmentScan* out, uint64_t prev_seq) {
  int err = 0;
  const uint8_t* hp = r.window(0, kSegmentHeaderBytes, &err);
  if (err) return Status::from_errno(err, "read " + file.path());
  SegmentHeader sh;
  DecodeResult hd = hp ? decode_segment_header(hp, &sh) : DecodeResult::kEnd;
  if (hd == DecodeResult::kEnd) {
    out->end = Situation::kCleanEnd;
    return Status::ok();
  }
  if (hd != DecodeResult::kOk) {
    out->end = newest ? Situation::kNewestBadHeader : Situation::kOlderBadHeader;
    out->detail = "segment header checksum mismatch";
    return Status::ok();
  }

  // Batches are numbered without gaps; the header names the one before.
  out->last_seq = sh.prev_batch_seq;
  if (prev_seq != 0 && prev_seq != sh.prev_batch_seq) {
    out->end = newest ? Situation::kNewestBadHeader : Situation::kOlderBadHeader;
    out->detail = "segment follows batch " + std::to_string(sh.prev_batch_seq) + " but the previous segment ended at " +
                  std::to_string(prev_seq);
    return Status::ok();
  }

  // In the newest segment, what lies past the end of the valid batches
  // decides between a torn tail and corruption. Up to kMaxFlushesInFlight
  // flushes may have been in flight at the crash, and any of them may have
  // reached the disk while an earlier one did not; none was acknowledged.
  // Their batches carry the sequence numbers that follow the last valid one.
  // A valid batch numbered beyond that window means acknowledged data sits
  // behind the bad spot. Up to `limit` bytes are searched.
  auto classify_tail = [&](uint64_t from, uint64_t limit) -> Status {
    out->end = Situation::kNewestTornTail;
    uint64_t stop = std::min(segment_bytes, from + limit);
    for (uint64_t q = from; q + kRecordHeaderBytes <= stop; q += kRecordAlignBytes) {
      const uint8_t* qp = r.window(q, kRecordHeaderBytes, &err);
      if (err) return Status::from_errno(err, "read " + file.path());
      if (!qp) break;
      if (qp[12] != static_cast<uint8_t>(RecordType::kBatch)) continue;
      uint64_t probe_bytes, seq = 0;
      const uint8_t* probe_records;
      std::string probe_why;
      if (check_batch(r, q, segment_bytes, &probe_bytes, &probe_records, &probe_why, &err, &seq) != BatchCheck::kValid) {
        continue;
      }
      if (seq > out->last_seq && seq <= out->last_seq + limits::kMaxFlushesInFlight) {
        out->torn_batches_after++;
        q += kRecordHeaderBytes + probe_bytes - kRecordAlignBytes;
        continue;
      }
      out->end = Situation::kNewestBadThenValid;
      out->detail += "; a valid batch (sequence " + std::to_string(seq) + ", last good " +
                     std::to_string(out->last_seq) + ") follows at file offset " + std::to_string(q);
      break;
    }
    if (out->end == Situation::kNewestTornTail && out->torn_batches_after == 0 && out->detail.empty()) {
      out->end = Situation::kCleanEnd;  // only zeros: nothing was in flight
    }
    return Status::ok();
  };
  const uint64_t in_flight_window = limits::kMaxFlushesInFlight * (limits::kMaxBatchBytes + 2 * limits::kBlockBytes);

  uint64_t pos = kSegmentHeaderBytes;
  out->valid_end_bytes = pos;
  bool last_closed = false;  // the last valid batch is a close batch
  for (;;) {
    uint64_t batch_bytes = 0, seq = 0;
    uint8_t flags = 0;
    const uint8_t* records = nullptr;
    std::string why;
    if (pos % limits::kBlockBytes != 0) {
      // A zero checksum at an unaligned offset is padding: a batch written
      // while the previous one was in flight starts on the next block (the
      // gap may be as short as 8 bytes, too short for a record header).
      const uint8_t* zp = pos + 8 <= segment_bytes ? r.window(pos, 8, &err) : nullptr;
      if (err) return Status::from_errno(err, "read " + file.path());
      if (!zp || std::all_of(zp, zp + 8, [](uint8_t b) { return b == 0; })) {
        uint64_t next = io::align_up(pos);
        const uint8_t* np =
            next + kRecordHeaderBytes <= segment_bytes ? r.window(next, kRecordHeaderBytes, &err) : nullptr;
        if (err) return Status::from_errno(err, "read " + file.path());
        if (np && !std::all_of(np, np + kRecordHeaderBytes, [](uint8_t b) { return b == 0; })) {
          pos = next;
          continue;
        }
      }
    }
    BatchCheck c = check_batch(r, pos, segment_bytes, &batch_bytes, &records, &why, &err, &seq, &flags);
    if (err) return Status::from_errno(err, "read " + file.path());
    if (c == BatchCheck::kValid && seq != out->last_seq + 1) {
      // Valid bytes out of sequence: left over from an unacknowledged flush.
      c = BatchCheck::kBad;
      why = "batch sequence " + std::to_string(seq) + " after " + std::to_string(out->last_seq);
    }
    if (c == BatchCheck::kEnd) {
      out->end = Situation::kCleanEnd;
      if (!newest) return Status::ok();
      if (last_closed) {
        // Closed cleanly: nothing was in flight past the close batch, so
        // there is no torn flush to look for.
        out->closed = true;
        return Status::ok();
      }
      return classify_tail(out->valid_end_bytes, in_flight_window);
    }
    if (c == BatchCheck::kBad) {
      out->detail = why;
      if (!newest) {
        out->end = Situation::kOlderBad;
        return Status::ok();
      }
      // Garbage (not zeros): look through the whole rest of the segment.
      return classify_tail(pos + kRecordAlignBytes, segment_bytes);
    }
    // A valid batch: every record inside must decode, or the writer is broken.
    // The batch checksum covers every byte of them: theirs need no check.
    uint64_t off = 0;
    while (off < batch_bytes) {
      RecordView rec;
      DecodeResult d = decode_record(records + off, batch_bytes - off, batch_bytes - off, &rec, Verify::kBoundsOnly);
      if (d != DecodeResult::kOk) {
        out->end = newest ? Situation::kNewestBadThenValid : Situation::kOlderBad;
        out->detail = "undecodable record inside a valid batch";
        return Status::ok();
      }
      apply(rec, pos + kRecordHeaderBytes + off);
      off += rec.padded_length;
      ++out->records;
    }
    ++out->batches;
    out->last_seq = seq;
    last_closed = batch_bytes == 0 && (flags & kBatchFlagClose);
    pos += kRecordHeaderBytes + batch_bytes;
    out->valid_end_bytes = pos;
  }
}

}  // namespace

Status scan_segment(io::File& file, uint64_t segment_bytes, bool newest, const RecordSink& apply,
                    SegmentScan* out, uint64_t prev_seq, size_t chunk_bytes) {
  *out = SegmentScan{};
  SegmentReader r(file, segment_bytes, chunk_bytes);
  Status s = scan_with(r, file, segment_bytes, newest, apply, out, prev_seq);
  out->bytes_read = r.bytes_read();
  return s;
}

}  // namespace redcar::log
