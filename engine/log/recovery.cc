#include "engine/log/recovery.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <optional>
#include <vector>

#include "engine/common/assert.h"
#include "engine/common/limits.h"
#include "engine/io/aligned_buffer.h"
#include "engine/log/chunk_reader.h"
#include "engine/log/txn_tail.h"

namespace redcar::log {

// ============================================================ the decision table

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

// ============================================================ scanning one segment

namespace {

bool zeros(const uint8_t* p, size_t n) {
  return std::all_of(p, p + n, [](uint8_t b) { return b == 0; });
}

enum class BatchCheck { kValid, kEnd, kBad };

struct CheckedBatch {
  uint64_t bytes = 0;  // of the records after the batch record
  const uint8_t* records = nullptr;
  uint64_t seq = 0;
  uint8_t flags = 0;
  std::string why;  // kBad
};

// Checks the batch at `pos`; when valid, leaves it readable in the window.
BatchCheck check_batch(ChunkReader& r, uint64_t pos, uint64_t segment_bytes, CheckedBatch* out, int* err) {
  if (segment_bytes - pos < kRecordHeaderBytes) {
    // No batch fits in what is left (the writer moved on to the next
    // segment): it must be zeros. The window is shorter than a record header
    // here, so decode_record may not look at it.
    size_t left = static_cast<size_t>(segment_bytes - pos);
    const uint8_t* p = left ? r.window(pos, left, err) : nullptr;
    if (!p) return *err ? BatchCheck::kBad : BatchCheck::kEnd;
    if (zeros(p, left)) return BatchCheck::kEnd;
    out->why = "garbage in the last bytes of the segment";
    return BatchCheck::kBad;
  }
  const uint8_t* p = r.window(pos, kRecordHeaderBytes, err);
  if (!p) return *err ? BatchCheck::kBad : BatchCheck::kEnd;
  RecordView rec;
  DecodeResult d = decode_record(p, kRecordHeaderBytes, segment_bytes - pos, &rec);
  if (d == DecodeResult::kEnd) return BatchCheck::kEnd;
  if (d != DecodeResult::kOk || rec.header.type != RecordType::kBatch) {
    out->why = "bad batch header";
    return BatchCheck::kBad;
  }
  uint64_t n = rec.header.number;
  if (n > segment_bytes - pos - kRecordHeaderBytes || n % kRecordAlignBytes != 0) {
    out->why = "batch length out of bounds";
    return BatchCheck::kBad;
  }
  const uint8_t* body = r.window(pos + kRecordHeaderBytes, n, err);
  if (!body && n > 0) {
    out->why = "batch extends past the end of the segment file";
    return BatchCheck::kBad;
  }
  if (checksum(body, n) != rec.header.id_seq) {
    out->why = "batch checksum mismatch";
    return BatchCheck::kBad;
  }
  out->bytes = n;
  out->records = body;
  out->seq = static_cast<uint64_t>(rec.header.timestamp_us);
  out->flags = rec.header.flags;
  return BatchCheck::kValid;
}

// One segment, front to back: its header, then batch after batch until the
// data ends or a bad batch; in the newest segment, what lies past that end
// decides between a clean end, a torn tail and corruption.
class SegmentScanner {
 public:
  SegmentScanner(ChunkReader& r, uint64_t segment_bytes, bool newest, const RecordSink& apply, SegmentScan* out,
                 const RecordSink* batches = nullptr)
      : r_(r), segment_bytes_(segment_bytes), newest_(newest), apply_(apply), batches_(batches), out_(out) {}

  Status run(uint64_t prev_seq) {
    bool go_on = false;
    if (Status s = check_header(prev_seq, &go_on); !s || !go_on) return s;
    uint64_t pos = kSegmentHeaderBytes;
    out_->valid_end_bytes = pos;
    for (;;) {
      if (Status s = skip_padding(&pos); !s) return s;
      CheckedBatch b;
      BatchCheck c = check_batch(r_, pos, segment_bytes_, &b, &err_);
      if (err_) return io_error();
      if (c == BatchCheck::kValid && b.seq != out_->last_seq + 1) {
        // Valid bytes out of sequence: left over from an unacknowledged flush.
        c = BatchCheck::kBad;
        b.why = "batch sequence " + std::to_string(b.seq) + " after " + std::to_string(out_->last_seq);
      }
      if (c == BatchCheck::kEnd) return at_end();
      if (c == BatchCheck::kBad) return at_bad(pos, std::move(b.why));
      if (!apply_batch(pos, b)) return Status::ok();
      pos += kRecordHeaderBytes + b.bytes;
      out_->valid_end_bytes = pos;
    }
  }

 private:
  Status io_error() const { return Status::from_errno(err_, "read " + r_.path()); }

  // Reads and checks the segment header. *go_on is false when there is
  // nothing more to scan (a zero header, or a bad one).
  Status check_header(uint64_t prev_seq, bool* go_on) {
    const uint8_t* hp = r_.window(0, kSegmentHeaderBytes, &err_);
    if (err_) return io_error();
    SegmentHeader sh;
    DecodeResult hd = hp ? decode_segment_header(hp, &sh) : DecodeResult::kEnd;
    if (hd == DecodeResult::kEnd) {
      out_->end = Situation::kCleanEnd;
      return Status::ok();
    }
    if (hd != DecodeResult::kOk) {
      out_->end = newest_ ? Situation::kNewestBadHeader : Situation::kOlderBadHeader;
      out_->detail = "segment header checksum mismatch";
      return Status::ok();
    }
    // Batches are numbered without gaps; the header names the one before.
    out_->last_seq = sh.prev_batch_seq;
    if (prev_seq != 0 && prev_seq != sh.prev_batch_seq) {
      out_->end = newest_ ? Situation::kNewestBadHeader : Situation::kOlderBadHeader;
      out_->detail = "segment follows batch " + std::to_string(sh.prev_batch_seq) +
                     " but the previous segment ended at " + std::to_string(prev_seq);
      return Status::ok();
    }
    *go_on = true;
    return Status::ok();
  }

  // A zero checksum at an unaligned offset is padding: a batch written while
  // the previous one was in flight starts on the next block (the gap may be
  // as short as 8 bytes, too short for a record header).
  Status skip_padding(uint64_t* pos) {
    if (*pos % limits::kBlockBytes == 0) return Status::ok();
    const uint8_t* zp = *pos + 8 <= segment_bytes_ ? r_.window(*pos, 8, &err_) : nullptr;
    if (err_) return io_error();
    if (zp && !zeros(zp, 8)) return Status::ok();
    uint64_t next = io::align_up(*pos);
    const uint8_t* np = next + kRecordHeaderBytes <= segment_bytes_ ? r_.window(next, kRecordHeaderBytes, &err_) : nullptr;
    if (err_) return io_error();
    if (np && !zeros(np, kRecordHeaderBytes)) *pos = next;
    return Status::ok();
  }

  // Every record inside a valid batch must decode, or the writer is broken.
  // The batch checksum covers every byte of them: theirs need no check.
  bool apply_batch(uint64_t pos, const CheckedBatch& b) {
    if (batches_) {
      // The batch record itself, for a caller that follows batches.
      RecordView brec;
      brec.header.type = RecordType::kBatch;
      brec.header.flags = b.flags;
      brec.header.number = b.bytes;
      brec.header.timestamp_us = static_cast<int64_t>(b.seq);
      (*batches_)(brec, pos);
    }
    uint64_t off = 0;
    while (off < b.bytes) {
      RecordView rec;
      DecodeResult d = decode_record(b.records + off, b.bytes - off, b.bytes - off, &rec, Verify::kBoundsOnly);
      if (d != DecodeResult::kOk) {
        out_->end = newest_ ? Situation::kNewestBadThenValid : Situation::kOlderBad;
        out_->detail = "undecodable record inside a valid batch";
        return false;
      }
      apply_(rec, pos + kRecordHeaderBytes + off);
      off += rec.padded_length;
      ++out_->records;
    }
    ++out_->batches;
    out_->last_seq = b.seq;
    last_closed_ = b.bytes == 0 && (b.flags & kBatchFlagClose);
    return true;
  }

  Status at_end() {
    out_->end = Situation::kCleanEnd;
    if (!newest_) return Status::ok();
    if (last_closed_) {
      // Closed cleanly: nothing was in flight past the close batch, so
      // there is no torn flush to look for.
      out_->closed = true;
      return Status::ok();
    }
    // Zeros here, but flushes that were in flight may have landed past them.
    const uint64_t window = limits::kMaxFlushesInFlight * (limits::kMaxBatchBytes + 2 * limits::kBlockBytes);
    return classify_tail(out_->valid_end_bytes, window);
  }

  Status at_bad(uint64_t pos, std::string why) {
    out_->detail = std::move(why);
    if (!newest_) {
      out_->end = Situation::kOlderBad;
      return Status::ok();
    }
    // Garbage (not zeros): look through the whole rest of the segment.
    return classify_tail(pos + kRecordAlignBytes, segment_bytes_);
  }

  // Up to kMaxFlushesInFlight flushes may have been in flight at the crash,
  // and any of them may have reached the disk while an earlier one did not;
  // none was acknowledged. Their batches carry the sequence numbers that
  // follow the last valid one. A valid batch numbered beyond that window
  // means acknowledged data sits behind the bad spot. Searches `limit` bytes.
  Status classify_tail(uint64_t from, uint64_t limit) {
    out_->end = Situation::kNewestTornTail;
    uint64_t stop = std::min(segment_bytes_, from + limit);
    for (uint64_t q = from; q + kRecordHeaderBytes <= stop; q += kRecordAlignBytes) {
      const uint8_t* qp = r_.window(q, kRecordHeaderBytes, &err_);
      if (err_) return io_error();
      if (!qp) break;
      if (qp[record_layout::kTypeAt] != static_cast<uint8_t>(RecordType::kBatch)) continue;
      CheckedBatch probe;
      if (check_batch(r_, q, segment_bytes_, &probe, &err_) != BatchCheck::kValid) continue;
      if (probe.seq > out_->last_seq && probe.seq <= out_->last_seq + limits::kMaxFlushesInFlight) {
        out_->torn_batches_after++;
        q += kRecordHeaderBytes + probe.bytes - kRecordAlignBytes;
        continue;
      }
      out_->end = Situation::kNewestBadThenValid;
      out_->detail += "; a valid batch (sequence " + std::to_string(probe.seq) + ", last good " +
                      std::to_string(out_->last_seq) + ") follows at file offset " + std::to_string(q);
      break;
    }
    if (out_->end == Situation::kNewestTornTail && out_->torn_batches_after == 0 && out_->detail.empty()) {
      out_->end = Situation::kCleanEnd;  // only zeros: nothing was in flight
    }
    return Status::ok();
  }

  ChunkReader& r_;
  uint64_t segment_bytes_;
  bool newest_;
  const RecordSink& apply_;
  const RecordSink* batches_;
  SegmentScan* out_;
  int err_ = 0;
  bool last_closed_ = false;  // the last valid batch is a close batch
};

}  // namespace

namespace {
Status scan_segment_batches(io::File& file, uint64_t segment_bytes, bool newest, const RecordSink& apply,
                            const RecordSink* batches, SegmentScan* out, uint64_t prev_seq, size_t chunk_bytes) {
  *out = SegmentScan{};
  ChunkReader r(file, segment_bytes, chunk_bytes);
  Status s = SegmentScanner(r, segment_bytes, newest, apply, out, batches).run(prev_seq);
  out->bytes_read = r.bytes_read();
  return s;
}
}  // namespace

Status scan_segment(io::File& file, uint64_t segment_bytes, bool newest, const RecordSink& apply,
                    SegmentScan* out, uint64_t prev_seq, size_t chunk_bytes) {
  return scan_segment_batches(file, segment_bytes, newest, apply, nullptr, out, prev_seq, chunk_bytes);
}

// ============================================================ recovering a folder

namespace {

class FolderRecovery {
 public:
  FolderRecovery(SegmentSet& segs, const LogOptions& opt, const RecordSink& apply, RecoveryReport* report)
      : segs_(segs), opt_(opt), apply_(apply), report_(report) {}

  Status run(RecoveredTail* tail) {
    auto firsts = segs_.load();
    if (!firsts) return firsts.status();
    firsts_ = std::move(*firsts);
    if (Status s = find_newest(); !s) return s;
    if (Status s = scan_written(); !s) return s;
    if (Status s = settle_open_txn(); !s) return s;
    if (!report_->repaired.empty()) spdlog::warn("shard {}: --repair dropped {}", opt_.shard, report_->repaired);
    if (Status s = ensure_active(); !s) return s;
    if (Status s = keep_one_spare(); !s) return s;
    segs_.set_active(active_first_);
    tail->active_first = active_first_;
    tail->end_file = end_file_;
    tail->last_seq = last_seq_;
    tail->clean_close = report_->clean_close;
    tail->settle_txn = settle_txn_;
    return Status::ok();
  }

 private:
  // The newest written segment is the last one whose header is not zero;
  // any after it are spares prepared ahead of need.
  Status find_newest() {
    for (uint64_t first : firsts_) {
      io::File* f = segs_.file(first);
      io::AlignedBuffer hdr(limits::kBlockBytes);
      int n = f->read_sync(0, hdr.data(), limits::kBlockBytes);
      if (n < 0) return Status::from_errno(n, "read " + f->path());
      if (!zeros(hdr.data(), kSegmentHeaderBytes)) newest_ = first;
    }
    if (!newest_ && !firsts_.empty()) {
      // Nothing was ever written: the first segment becomes the active one.
      active_first_ = firsts_.front();
      end_file_ = 0;
      return wipe_stray_bytes(active_first_);
    }
    return Status::ok();
  }

  // A segment with a zero header may still hold sectors of a torn first
  // flush whose header sector never landed. Appends would later leave them
  // after the end of the data, so such a segment is wiped before it is used.
  Status wipe_stray_bytes(uint64_t first) {
    auto dirty = segs_.has_stray_bytes(first, &report_->bytes_read);
    if (!dirty) return dirty.status();
    if (!*dirty) return Status::ok();
    spdlog::warn("shard {}: {} has no header but holds data from an unfinished flush: zeroing it", opt_.shard,
                 segs_.path_of(first));
    report_->truncated_bytes += segs_.segment_bytes();
    return segs_.zero_from(first, 0);
  }

  // Scans the written segments in order and settles each one's end; stops
  // at the first spare or at a spot it had to cut.
  Status scan_written() {
    if (!newest_) return Status::ok();
    uint64_t expected = firsts_.front();
    for (size_t i = 0; i < firsts_.size(); ++i) {
      uint64_t first = firsts_[i];
      Found found;
      if (first != expected) {
        found.situation = Situation::kMissingSegment;
        found.detail = "expected a segment starting at log offset " + std::to_string(expected);
      } else if (first > *newest_) {
        break;  // a spare: keep_one_spare() looks at it
      } else if (Status s = scan_one(first, &found); !s) {
        return s;
      }
      expected = first + segs_.segment_bytes();
      bool stop = false;
      if (Status s = settle(first, i == 0 ? 0 : firsts_[i - 1], found, &stop); !s) return s;
      if (stop) break;
    }
    return Status::ok();
  }

  struct Found {
    Situation situation = Situation::kCleanEnd;
    uint64_t valid_end = 0;
    std::string detail;
  };

  Status scan_one(uint64_t first, Found* found) {
    SegmentScan scan;
    bool newest = first == *newest_;
    RecordSink batches = [&](const RecordView& batch, uint64_t file_offset) {
      txns_.on_batch(batch, first, file_offset);
    };
    Status s = scan_segment_batches(
        *segs_.file(first), segs_.segment_bytes(), newest,
        [&](const RecordView& rec, uint64_t file_offset) {
          if (rec.header.type != RecordType::kBatch) txns_.on_record(rec, first + file_offset);
        },
        &batches, &scan, last_seq_, opt_.recovery_chunk_bytes);
    if (!s) return s;
    if (!txns_.error().empty()) {
      return Status(Code::kCorruption, segs_.path_of(first) + ": " + txns_.error() +
                                           " (the writer never does this: the log was altered)");
    }
    if (scan.batches > 0 || scan.valid_end_bytes >= kSegmentHeaderBytes) last_seq_ = scan.last_seq;
    report_->segments++;
    report_->batches += scan.batches;
    report_->records += scan.records;
    report_->bytes_scanned += scan.valid_end_bytes;
    report_->bytes_read += scan.bytes_read;
    if (newest) report_->clean_close = scan.closed;
    found->situation = scan.end;
    found->detail = scan.detail;
    found->valid_end = scan.valid_end_bytes;
    if (!newest && scan.end == Situation::kCleanEnd && scan.valid_end_bytes == 0) {
      // A zero header before the newest written segment: segments are
      // filled in order, so this one was written too and has lost its
      // header (and its records, which must not silently vanish).
      found->situation = Situation::kOlderBadHeader;
      found->detail = "segment header is all zero, yet a later segment holds data";
    }
    return Status::ok();
  }

  // Acts on what the scan of segment `first` found, by the decision table.
  Status settle(uint64_t first, uint64_t prev_first, const Found& found, bool* stop) {
    Decision d = decide(found.situation);
    if (d == Decision::kEndOfData) {
      last_valid_end_ = found.valid_end;
      if (first == *newest_) set_tail(first, found.valid_end);
      return Status::ok();
    }
    std::string where = segs_.path_of(first);
    if (d == Decision::kRefuse && !opt_.repair) {
      return Status(Code::kCorruption, where + " at file offset " + std::to_string(found.valid_end) + ": " +
                                           situation_name(found.situation) + " (" + found.detail +
                                           "); start with --repair to drop the log from there");
    }
    // Past a repaired spot nothing is kept; past the newest segment's torn
    // tail there is only the spare. After the newest segment's clean end
    // the walk goes on: a gap there is a missing segment too.
    *stop = true;
    if (found.situation == Situation::kMissingSegment) {
      // Keep everything before the gap; the segments after it go.
      set_tail(prev_first, last_valid_end_);
      report_->repaired = "segments from log offset " + std::to_string(first) + " (" + found.detail + ")";
      drop_from(first);
      return Status::ok();
    }
    // Truncate (torn tail) or repair: keep what precedes the bad spot.
    if (d == Decision::kTruncate) {
      report_->truncated_bytes += segs_.segment_bytes() - found.valid_end;
    } else {
      report_->repaired = where + " from file offset " + std::to_string(found.valid_end) + " (" + found.detail + ")";
    }
    uint64_t keep = found.valid_end < kSegmentHeaderBytes ? 0 : found.valid_end;
    if (Status s = segs_.zero_from(first, keep); !s) return s;
    set_tail(first, std::max<uint64_t>(keep, kSegmentHeaderBytes));
    if (d == Decision::kRefuse) drop_from(first + segs_.segment_bytes());
    return Status::ok();
  }

  void set_tail(uint64_t first, uint64_t end_file) {
    active_first_ = first;
    end_file_ = end_file;
  }

  void drop_from(uint64_t first) {
    segs_.remove_from(first);
    firsts_.erase(std::lower_bound(firsts_.begin(), firsts_.end(), first), firsts_.end());
  }

  // An empty folder: make the first segment now, synchronously.
  Status ensure_active() {
    if (segs_.count() > 0) return Status::ok();
    if (Status s = segs_.create_first(); !s) return s;
    firsts_ = {0};
    set_tail(0, kSegmentHeaderBytes);
    return Status::ok();
  }

  // Everything after the active segment is a spare; one is enough. After a
  // clean close it is known to be all zeros (FORMAT.md); otherwise a torn
  // first flush may have left sectors in it.
  Status keep_one_spare() {
    uint64_t spare = active_first_ + segs_.segment_bytes();
    segs_.set_active(active_first_);
    if (segs_.has(spare)) {
      if (!report_->clean_close) {
        if (Status s = wipe_stray_bytes(spare); !s) return s;
      }
      segs_.keep_spare(spare);
      segs_.remove_from(spare + segs_.segment_bytes());
    } else {
      segs_.remove_from(spare);
    }
    return Status::ok();
  }

  // The log ends inside a transaction: it committed if the deciding shard
  // says so (then its records count, and the writer stages the missing
  // commit mark first); otherwise it never happened, and the log is cut
  // where it began.
  Status settle_open_txn() {
    if (!txns_.open()) return Status::ok();
    const uint64_t txn = txns_.txn();
    std::optional<bool> committed = false;
    if (opt_.txn_committed && txn != 0) committed = opt_.txn_committed(txn);
    if (!committed) {
      return Status(Code::kUnavailable, "shard " + std::to_string(opt_.shard) + ": the log ends inside transaction " +
                                            std::to_string(txn) +
                                            ", and the shard that decides it did not recover");
    }
    if (*committed) {
      txns_.release();
      settle_txn_ = txn;
      report_->txn_completed = txn;
      report_->last_txn_commit = std::max(report_->last_txn_commit, txn);
      spdlog::info("shard {}: transaction {} committed before the stop: its writes are kept", opt_.shard, txn);
      return Status::ok();
    }
    const TxnTail::Start& at = txns_.start();
    uint64_t end = active_first_ + end_file_;
    if (end > at.seg_first + at.file_pos) report_->truncated_bytes += end - (at.seg_first + at.file_pos);
    if (Status s = segs_.zero_from(at.seg_first, at.file_pos); !s) return s;
    drop_from(at.seg_first + segs_.segment_bytes());
    set_tail(at.seg_first, at.file_pos);
    last_seq_ = at.seq_before;
    // The log now ends where it ended before the transaction began: closed
    // if that was a close batch (then the first write after it goes alone,
    // as after any clean close).
    report_->clean_close = at.after_close;
    report_->txn_dropped = txn;
    spdlog::info("shard {}: transaction {} never committed: its {} records are dropped", opt_.shard, txn,
                 txns_.held());
    txns_.clear();
    return Status::ok();
  }

  uint64_t settle_txn_ = 0;

  SegmentSet& segs_;
  const LogOptions& opt_;
  const RecordSink& apply_;
  RecoveryReport* report_;
  TxnTail txns_{report_, apply_};  // after what it is given
  std::vector<uint64_t> firsts_;
  std::optional<uint64_t> newest_;
  uint64_t active_first_ = 0;
  uint64_t end_file_ = 0;
  uint64_t last_valid_end_ = 0;
  uint64_t last_seq_ = 0;  // of the last valid batch seen, across segments
};

}  // namespace

Status recover(SegmentSet& segments, const LogOptions& options, const RecordSink& apply, RecoveryReport* report,
               RecoveredTail* tail) {
  return FolderRecovery(segments, options, apply, report).run(tail);
}

}  // namespace redcar::log
