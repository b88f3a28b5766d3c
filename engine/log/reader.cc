#include "engine/log/reader.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/common/assert.h"

namespace redcar::log {

namespace {

bool zeros(const uint8_t* p, size_t n) {
  return std::all_of(p, p + n, [](uint8_t b) { return b == 0; });
}

uint32_t length_field(const uint8_t* record) {
  uint32_t length;
  std::memcpy(&length, record + record_layout::kLengthAt, sizeof(length));
  return length;
}

Status not_found(uint64_t at) { return Status(Code::kNotFound, "no segment holds log offset " + std::to_string(at)); }
Status bad_record(uint64_t at) { return Status(Code::kCorruption, "bad record at log offset " + std::to_string(at)); }

}  // namespace

uint64_t LogReader::next_segment_offset(uint64_t log_offset) const {
  return segs_.segment_of(log_offset) + segs_.segment_bytes() + kSegmentHeaderBytes;
}

uint64_t LogReader::normalize(uint64_t from) const {
  // A position on a segment header, or too close to a segment's end for a
  // record (a reader that went past the last record of a segment), stands
  // for the first batch of the next segment.
  uint64_t in_segment = from % segs_.segment_bytes();
  if (in_segment < kSegmentHeaderBytes) return from + (kSegmentHeaderBytes - in_segment);
  if (segs_.segment_bytes() - in_segment < kRecordHeaderBytes) return next_segment_offset(from);
  return from;
}

void LogReader::scan(uint64_t from, RecordVisitor visit, Done done) {
  from = normalize(from);
  if (from < pos_.written) {
    switch (hot_.walk(&from, visit)) {
      case HotCache::Walk::kStopped:
      case HotCache::Walk::kEnd: return done(Status::ok());
      case HotCache::Walk::kMiss: break;
    }
  }
  if (from >= pos_.written) return done(Status::ok());
  scan_cold(from, std::move(visit), std::move(done));
}

void LogReader::keep_block(uint64_t seg_first, uint64_t base, const std::shared_ptr<io::AlignedBuffer>& buf,
                           size_t have, uint64_t bound) {
  if (seg_first + base + have <= bound && segs_.has(seg_first)) blocks_.put(seg_first + base, {buf, have});
}

void LogReader::forget(uint64_t seg_first) {
  uint64_t end = seg_first + segs_.segment_bytes();
  blocks_.drop(seg_first, end);
  // Reads in flight finish into their own buffers; the rest go now.
  for (auto it = ahead_.lower_bound(seg_first); it != ahead_.end() && it->first < end;) {
    if (it->second->done && it->second->waiters.empty()) it = ahead_.erase(it);
    else ++it;
  }
}

void LogReader::used_block(uint64_t seg_first, uint64_t base) {
  uint64_t key = seg_first + base;
  bool in_order = false;
  if (base >= limits::kColdReadBytes) {
    for (uint64_t r : recent_) in_order |= r == key - limits::kColdReadBytes + 1;
  }
  recent_[recent_next_++ % recent_.size()] = key + 1;
  if (in_order) read_ahead(seg_first, base);
}

void LogReader::read_ahead(uint64_t seg_first, uint64_t base) {
  // Blocks this scan has passed without taking them (it stopped early, or
  // read them from the cache) make room first.
  for (auto it = ahead_.begin(); it != ahead_.end() && it->first <= seg_first + base;) {
    if (it->second->done && it->second->waiters.empty()) it = ahead_.erase(it);
    else ++it;
  }
  io::File* file = segs_.file(seg_first);
  if (!file) return;
  uint64_t bound = pos_.written;
  for (size_t i = 1; i <= limits::kReadAheadBlocks && ahead_.size() < limits::kReadAheadMaxBlocks; ++i) {
    uint64_t b = base + i * limits::kColdReadBytes;
    uint64_t key = seg_first + b;
    // Within this segment, and only what is written (a scan goes no further).
    if (b >= segs_.segment_bytes() || key >= bound) break;
    if (ahead_.count(key) || blocks_.contains(key)) continue;
    auto a = std::make_shared<Ahead>();
    size_t len = static_cast<size_t>(std::min<uint64_t>(limits::kColdReadBytes, segs_.segment_bytes() - b));
    a->buf = std::make_shared<io::AlignedBuffer>(len);
    a->bound = bound;
    ahead_.emplace(key, a);
    ahead_issued_++;
    file->read(b, a->buf->data(), len, [a](int res) {
      a->result = res;
      a->done = true;
      auto waiters = std::move(a->waiters);
      a->waiters.clear();
      for (auto& w : waiters) w();
    });
  }
}

LogReader::AheadBlock LogReader::take_ahead(uint64_t seg_first, uint64_t base) {
  auto it = ahead_.find(seg_first + base);
  if (it == ahead_.end()) return {};
  std::shared_ptr<Ahead> a = it->second;
  AheadBlock taken;
  if (!a->done) {
    taken.in_flight = a.get();
    return taken;
  }
  ahead_.erase(it);
  // A read ahead that failed is not an answer: the scan reads for itself.
  if (a->result <= 0) return taken;
  ahead_used_++;
  taken.buf = a->buf;
  taken.have = static_cast<size_t>(a->result);
  taken.bound = a->bound;
  keep_block(seg_first, base, a->buf, taken.have, taken.bound);
  used_block(seg_first, base);
  return taken;
}

void LogReader::scan_cold(uint64_t from, RecordVisitor visit, Done done, size_t min_bytes) {
  uint64_t seg_first = segs_.segment_of(from);
  io::File* file = segs_.file(seg_first);
  if (!file) return done(not_found(from));
  uint64_t file_off = from - seg_first;
  // Ordinary reads use fixed, aligned blocks so that they can be cached.
  bool cacheable = min_bytes <= limits::kColdReadBytes;
  uint64_t base = cacheable ? io::align_down(file_off, limits::kColdReadBytes) : io::align_down(file_off);
  if (cacheable) {
    BlockCache::Block hit = blocks_.get(seg_first + base);
    // A cached block is written as a whole: any bound inside it holds.
    if (hit.buf) {
      used_block(seg_first, base);
      return scan_block(from, seg_first, base, hit.buf, hit.bytes, pos_.written, std::move(visit), std::move(done));
    }
    AheadBlock a = take_ahead(seg_first, base);
    if (a.in_flight) {
      a.in_flight->waiters.push_back([this, from, visit = std::move(visit), done = std::move(done)]() mutable {
        scan_cold(from, std::move(visit), std::move(done));
      });
      return;
    }
    if (a.buf) return scan_block(from, seg_first, base, a.buf, a.have, a.bound, std::move(visit), std::move(done));
  }
  // What the read returns is only trustworthy up to what was written when
  // it was issued: later batches may land while it is in flight.
  uint64_t bound = pos_.written;
  size_t len = static_cast<size_t>(
      std::min<uint64_t>(std::max(limits::kColdReadBytes, min_bytes), segs_.segment_bytes() - base));
  auto buf = std::make_shared<io::AlignedBuffer>(len);
  file->read(base, buf->data(), len,
             [this, buf, from, seg_first, base, cacheable, bound, visit = std::move(visit),
              done = std::move(done)](int res) mutable {
               if (res < 0) return done(Status::from_errno(res, "read segment"));
               size_t have = static_cast<size_t>(res);
               if (cacheable) keep_block(seg_first, base, buf, have, bound);
               scan_block(from, seg_first, base, buf, have, bound, std::move(visit), std::move(done));
             });
  // After the scan's own read, so that it is first in line.
  if (cacheable) used_block(seg_first, base);
}

void LogReader::scan_block(uint64_t from, uint64_t seg_first, uint64_t base, Buffer buf, size_t have, uint64_t bound,
                           RecordVisitor visit, Done done) {
  const uint64_t seg_bytes = segs_.segment_bytes();
  size_t off = from - seg_first - base;
  while (seg_first + base + off < bound) {
    if (seg_bytes - base - off < kRecordHeaderBytes) {
      // No record fits in what is left of this segment: go on in the next.
      return scan(next_segment_offset(seg_first), std::move(visit), std::move(done));
    }
    if (off >= have) break;  // read on from here
    if ((base + off) % limits::kBlockBytes != 0 && off + 8 <= have && zeros(buf->data() + off, 8)) {
      // Zeros up to a block boundary: the next batch was written while this
      // one was in flight (FORMAT.md). The gap can be 8 bytes.
      off = io::align_up(base + off) - base;
      continue;
    }
    RecordView rec;
    DecodeResult d = decode_record(buf->data() + off, have - off, seg_bytes - base - off, &rec);
    if (d == DecodeResult::kTruncated) {
      // A record running from the end of a whole cached-size block into the
      // next block: join the two blocks rather than read it again from its
      // own position (which read most of the next block twice).
      bool whole_block = base % limits::kColdReadBytes == 0 && have == limits::kColdReadBytes &&
                         base + 2 * limits::kColdReadBytes <= seg_bytes;
      if (whole_block && have - off >= record_layout::kLengthAt + 4) {
        uint32_t length = length_field(buf->data() + off);
        uint64_t at = seg_first + base + off;
        if (length >= kRecordHeaderBytes && length - (have - off) <= limits::kColdReadBytes && at + length <= bound) {
          return stitch(at, seg_first, base, std::move(buf), have - off, length, bound, std::move(visit),
                        std::move(done));
        }
      }
      break;  // read the rest
    }
    if (d == DecodeResult::kEnd) {
      // The rest of this segment is empty: go on in the next one.
      return scan(next_segment_offset(seg_first), std::move(visit), std::move(done));
    }
    if (d != DecodeResult::kOk) return done(bad_record(seg_first + base + off));
    if (rec.header.type != RecordType::kBatch && !visit(rec, seg_first + base + off)) return done(Status::ok());
    off += rec.padded_length;
  }
  uint64_t next = seg_first + base + off;
  if (next >= pos_.written) return done(Status::ok());
  if (next != from) return scan(next, std::move(visit), std::move(done));
  // The record at `from` does not fit in the fixed block read for it (it
  // straddles the block's end, or is larger than a read): read from its own
  // position, enough to hold it whole. Always more than a cacheable read,
  // or the same block would come back again.
  size_t min_bytes = limits::kColdReadBytes + limits::kBlockBytes;
  if (have >= off + record_layout::kLengthAt + 4) {
    uint32_t length = std::min<uint32_t>(length_field(buf->data() + off), limits::kMaxRecordBytes);
    min_bytes = std::max<size_t>(min_bytes, io::align_up(length) + limits::kBlockBytes);
  }
  scan_cold(next, std::move(visit), std::move(done), min_bytes);
}

void LogReader::stitch(uint64_t at, uint64_t seg_first, uint64_t base, Buffer buf, size_t head, size_t length,
                       uint64_t bound, RecordVisitor visit, Done done) {
  uint64_t next_base = base + limits::kColdReadBytes;
  const uint8_t* head_bytes = buf->data() + (limits::kColdReadBytes - head);
  BlockCache::Block hit = blocks_.get(seg_first + next_base);
  if (hit.buf) {
    used_block(seg_first, next_base);
    return stitch_with(at, seg_first, next_base, head_bytes, head, length, hit.buf, hit.bytes, bound, std::move(visit),
                       std::move(done));
  }
  AheadBlock a = take_ahead(seg_first, next_base);
  if (a.in_flight) {
    a.in_flight->waiters.push_back([this, at, seg_first, base, buf = std::move(buf), head, length, bound,
                                    visit = std::move(visit), done = std::move(done)]() mutable {
      stitch(at, seg_first, base, std::move(buf), head, length, bound, std::move(visit), std::move(done));
    });
    return;
  }
  // Its bytes are trusted up to what was written when it was read, which
  // must hold the whole record (else the record is read afresh).
  uint64_t trusted = std::min(bound, a.bound);
  if (a.buf && at + length <= trusted) {
    return stitch_with(at, seg_first, next_base, head_bytes, head, length, a.buf, a.have, trusted, std::move(visit),
                       std::move(done));
  }
  io::File* file = segs_.file(seg_first);
  if (!file) return done(not_found(at));
  uint64_t read_bound = pos_.written;
  auto next = std::make_shared<io::AlignedBuffer>(limits::kColdReadBytes);
  file->read(next_base, next->data(), limits::kColdReadBytes,
             [this, at, seg_first, next_base, head, length, bound, read_bound, buf = std::move(buf), next,
              visit = std::move(visit), done = std::move(done)](int res) mutable {
               if (res < 0) return done(Status::from_errno(res, "read segment"));
               size_t have = static_cast<size_t>(res);
               keep_block(seg_first, next_base, next, have, read_bound);
               const uint8_t* head_bytes = buf->data() + (limits::kColdReadBytes - head);
               stitch_with(at, seg_first, next_base, head_bytes, head, length, next, have, bound, std::move(visit),
                           std::move(done));
             });
  used_block(seg_first, next_base);
}

void LogReader::stitch_with(uint64_t at, uint64_t seg_first, uint64_t next_base, const uint8_t* head_bytes,
                            size_t head, size_t length, Buffer next, size_t next_have, uint64_t bound,
                            RecordVisitor visit, Done done) {
  size_t tail = length - head;
  if (next_have < tail) {
    // The next block came back short (the end of the file): read the record
    // from its own position instead.
    return scan_cold(at, std::move(visit), std::move(done), limits::kColdReadBytes + limits::kBlockBytes);
  }
  std::vector<uint8_t> joined(length);
  std::memcpy(joined.data(), head_bytes, head);
  std::memcpy(joined.data() + head, next->data(), tail);
  RecordView rec;
  uint64_t limit = segs_.segment_bytes() - (at - seg_first);
  if (decode_record(joined.data(), length, limit, &rec) != DecodeResult::kOk) return done(bad_record(at));
  if (rec.header.type != RecordType::kBatch && !visit(rec, at)) return done(Status::ok());
  uint64_t after = at + rec.padded_length;
  if (after >= seg_first + next_base + next_have) return scan(after, std::move(visit), std::move(done));
  scan_block(after, seg_first, next_base, std::move(next), next_have, bound, std::move(visit), std::move(done));
}

}  // namespace redcar::log
