#include "engine/log/log.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cinttypes>
#include <cstdio>

namespace redcar::log {

std::string segment_file_name(uint64_t first_offset) {
  char name[32];
  std::snprintf(name, sizeof(name), "%020" PRIu64 ".seg", first_offset);
  return name;
}

namespace {
bool parse_segment_name(const std::string& name, uint64_t* first) {
  if (name.size() != 24 || name.compare(20, 4, ".seg") != 0) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    v = v * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  *first = v;
  return true;
}

bool all_zero(const uint8_t* p, size_t n) {
  size_t i = 0;
  for (; i + sizeof(uint64_t) <= n; i += sizeof(uint64_t)) {
    uint64_t w;
    std::memcpy(&w, p + i, sizeof(w));
    if (w != 0) return false;
  }
  for (; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

// Whether a segment that should be all zeros (prepared, never written)
// holds any other byte.
Result<bool> has_stray_bytes(io::File& file, uint64_t segment_bytes, uint64_t* bytes_read) {
  io::AlignedBuffer buf(limits::kRecoveryChunkBytes);
  for (uint64_t off = 0; off < segment_bytes; off += buf.capacity()) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.capacity(), segment_bytes - off));
    int r = file.read_sync(off, buf.data(), n);
    if (r < 0) return Status::from_errno(r, "read " + file.path());
    *bytes_read += static_cast<uint64_t>(r);
    if (!all_zero(buf.data(), static_cast<size_t>(r))) return true;
  }
  return false;
}
}  // namespace

Log::Log(io::Disk& disk, boost::asio::io_context& ctx, LogOptions options)
    : disk_(disk), ctx_(ctx), opt_(std::move(options)), sync_timer_(ctx) {
  REDCAR_CHECK(opt_.segment_bytes % limits::kBlockBytes == 0);
  REDCAR_CHECK(opt_.segment_bytes >= limits::kMinSegmentBytes);
}

Log::~Log() { wait_prepare(); }

void Log::wait_prepare() {
  if (prepare_thread_.joinable()) prepare_thread_.join();
}

std::string Log::path_of(uint64_t first_offset) const { return opt_.dir + "/" + segment_file_name(first_offset); }

uint64_t Log::staged_end() const {
  return batches_.empty() ? written_end_ : batches_.back().log_end();
}

Status Log::open_segment(uint64_t first_offset, Segment* out) {
  auto f = disk_.open(path_of(first_offset));
  if (!f) return f.status();
  auto size = (*f)->size();
  if (!size) return size.status();
  if (*size != opt_.segment_bytes) {
    return Status(Code::kCorruption, path_of(first_offset) + ": size " + std::to_string(*size) +
                                         " is not the segment size " + std::to_string(opt_.segment_bytes));
  }
  out->first_offset = first_offset;
  out->file = std::move(*f);
  return Status::ok();
}

Status Log::zero_from(Segment& seg, uint64_t file_offset) {
  // Rewrites the partial block with its valid prefix, then zeros to the end.
  uint64_t base = io::align_down(file_offset);
  io::AlignedBuffer buf(1 << 20);
  std::memset(buf.data(), 0, buf.capacity());
  if (file_offset > base) {
    int n = seg.file->read_sync(base, buf.data(), limits::kBlockBytes);
    if (n < 0) return Status::from_errno(n, "read " + seg.file->path());
    std::memset(buf.data() + (file_offset - base), 0, limits::kBlockBytes - (file_offset - base));
    int w = seg.file->write_sync(base, buf.data(), limits::kBlockBytes);
    if (w < 0) return Status::from_errno(w, "write " + seg.file->path());
    base += limits::kBlockBytes;
    std::memset(buf.data(), 0, limits::kBlockBytes);
  }
  for (uint64_t off = base; off < opt_.segment_bytes; off += buf.capacity()) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.capacity(), opt_.segment_bytes - off));
    int w = seg.file->write_sync(off, buf.data(), n);
    if (w < 0) return Status::from_errno(w, "write " + seg.file->path());
  }
  int rc = seg.file->sync_now();
  if (rc < 0) return Status::from_errno(rc, "fdatasync " + seg.file->path());
  return Status::ok();
}

Status Log::open(const DurableHook& apply, RecoveryReport* report) {
  auto t0 = std::chrono::steady_clock::now();
  if (Status s = disk_.make_dirs(opt_.dir); !s) return s;
  if (Status s = recover_segments(apply, report); !s) return s;
  report->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return Status::ok();
}

Status Log::recover_segments(const DurableHook& apply, RecoveryReport* report) {
  std::vector<std::string> names;
  if (Status s = disk_.list(opt_.dir, &names); !s) return s;
  std::vector<uint64_t> firsts;
  for (const auto& n : names) {
    uint64_t first;
    if (parse_segment_name(n, &first)) {
      firsts.push_back(first);
    } else if (n.size() > 4 && n.compare(n.size() - 4, 4, ".tmp") == 0) {
      // A segment whose preparation a crash interrupted: never used.
      (void)disk_.remove(opt_.dir + "/" + n);
    }
  }
  std::sort(firsts.begin(), firsts.end());

  for (uint64_t first : firsts) {
    Segment seg;
    if (Status s = open_segment(first, &seg); !s) return s;
    segments_.emplace(first, std::move(seg));
  }

  // The newest written segment is the last one whose header is not zero;
  // any after it are spares prepared ahead of need.
  auto newest = segments_.end();
  for (auto it = segments_.begin(); it != segments_.end(); ++it) {
    uint8_t hdr_bytes[limits::kBlockBytes] __attribute__((aligned(limits::kBlockBytes)));
    int n = it->second.file->read_sync(0, hdr_bytes, limits::kBlockBytes);
    if (n < 0) return Status::from_errno(n, "read " + it->second.file->path());
    bool zero = std::all_of(hdr_bytes, hdr_bytes + kSegmentHeaderBytes, [](uint8_t b) { return b == 0; });
    if (!zero) newest = it;
  }

  // A segment with a zero header may still hold sectors of a torn first
  // flush whose header sector never landed. Appends would later leave them
  // after the end of the data, so such a segment is wiped before it is used.
  auto wipe_stray_bytes = [&](Segment& seg) -> Status {
    auto dirty = has_stray_bytes(*seg.file, opt_.segment_bytes, &report->bytes_read);
    if (!dirty) return dirty.status();
    if (!*dirty) return Status::ok();
    spdlog::warn("shard {}: {} has no header but holds data from an unfinished flush: zeroing it", opt_.shard,
                 seg.file->path());
    report->truncated_bytes += opt_.segment_bytes;
    return zero_from(seg, 0);
  };

  uint64_t expected_first = segments_.empty() ? 0 : segments_.begin()->first;
  uint64_t last_valid_end = 0;
  uint64_t last_seq = 0;  // of the last valid batch seen, across segments
  if (newest == segments_.end() && !segments_.empty()) {
    // Nothing was ever written: the first segment becomes the active one.
    active_first_ = segments_.begin()->first;
    active_end_file_ = 0;
    if (Status s = wipe_stray_bytes(segments_.begin()->second); !s) return s;
  }
  bool stop = newest == segments_.end();
  for (auto it = segments_.begin(); it != segments_.end() && !stop; ++it) {
    Segment& seg = it->second;
    Situation situation = Situation::kCleanEnd;
    std::string detail;
    uint64_t valid_end = kSegmentHeaderBytes;
    if (it->first != expected_first) {
      situation = Situation::kMissingSegment;
      detail = "expected a segment starting at log offset " + std::to_string(expected_first);
      valid_end = 0;
    } else if (newest != segments_.end() && it->first > newest->first) {
      // A prepared spare: check that it really is empty, then keep it.
      break;
    } else {
      SegmentScan scan;
      bool is_newest = it == newest;
      Status s = scan_segment(
          *seg.file, opt_.segment_bytes, is_newest,
          [&](const RecordView& rec, uint64_t file_offset) {
            if (rec.header.type != RecordType::kBatch) apply(rec, seg.first_offset + file_offset);
          },
          &scan, last_seq, opt_.recovery_chunk_bytes);
      if (!s) return s;
      if (scan.batches > 0 || scan.valid_end_bytes >= kSegmentHeaderBytes) last_seq = scan.last_seq;
      report->segments++;
      report->batches += scan.batches;
      report->records += scan.records;
      report->bytes_scanned += scan.valid_end_bytes;
      report->bytes_read += scan.bytes_read;
      if (is_newest) report->clean_close = scan.closed;
      situation = scan.end;
      detail = scan.detail;
      valid_end = scan.valid_end_bytes;
      if (!is_newest && scan.end == Situation::kCleanEnd && valid_end == 0) {
        // A zero header before the newest written segment: segments are
        // filled in order, so this one was written too and has lost its
        // header (and its records, which must not silently vanish).
        situation = Situation::kOlderBadHeader;
        detail = "segment header is all zero, yet a later segment holds data";
      }
    }
    expected_first = it->first + opt_.segment_bytes;

    Decision d = decide(situation);
    if (d == Decision::kEndOfData) {
      last_valid_end = valid_end;
      if (it == newest) {
        active_first_ = it->first;
        active_end_file_ = valid_end;
      }
      continue;
    }
    std::string where = seg.file ? seg.file->path() : path_of(it->first);
    if (d == Decision::kRefuse && !opt_.repair) {
      return Status(Code::kCorruption, where + " at file offset " + std::to_string(valid_end) + ": " +
                                           situation_name(situation) + " (" + detail +
                                           "); start with --repair to drop the log from there");
    }
    // Truncate (torn tail) or repair: keep what precedes the bad spot.
    if (situation == Situation::kMissingSegment) {
      // Keep everything before the gap; the segments after it go.
      auto prev = std::prev(it);
      active_first_ = prev->first;
      active_end_file_ = last_valid_end;
      report->repaired = "segments from log offset " + std::to_string(it->first) + " (" + detail + ")";
      for (auto jt = it; jt != segments_.end();) {
        (void)disk_.remove(path_of(jt->first));
        jt = segments_.erase(jt);
      }
      stop = true;
      break;
    }
    if (d == Decision::kTruncate) {
      report->truncated_bytes += opt_.segment_bytes - valid_end;
    } else {
      report->repaired = where + " from file offset " + std::to_string(valid_end) + " (" + detail + ")";
    }
    if (valid_end < kSegmentHeaderBytes) valid_end = 0;
    if (Status s = zero_from(seg, valid_end); !s) return s;
    active_first_ = it->first;
    active_end_file_ = valid_end < kSegmentHeaderBytes ? kSegmentHeaderBytes : valid_end;
    if (d == Decision::kRefuse) {
      for (auto jt = std::next(it); jt != segments_.end();) {
        (void)disk_.remove(path_of(jt->first));
        jt = segments_.erase(jt);
      }
      stop = true;
    }
    if (it == newest) break;
  }
  if (!report->repaired.empty()) spdlog::warn("shard {}: --repair dropped {}", opt_.shard, report->repaired);

  if (segments_.empty()) {
    // An empty folder: make the first segment now, synchronously.
    if (Status s = disk_.prepare(path_of(0), opt_.segment_bytes); !s) return s;
    Segment seg;
    if (Status s = open_segment(0, &seg); !s) return s;
    segments_.emplace(0, std::move(seg));
    active_first_ = 0;
    active_end_file_ = kSegmentHeaderBytes;
  }
  // Everything after the active segment is a spare; one is enough. After a
  // clean close it is known to be all zeros (FORMAT.md); otherwise a torn
  // first flush may have left sectors in it.
  for (auto it = segments_.upper_bound(active_first_); it != segments_.end();) {
    if (it->first == active_first_ + opt_.segment_bytes && !prepared_ready_) {
      if (!report->clean_close) {
        if (Status s = wipe_stray_bytes(it->second); !s) return s;
      }
      prepared_ready_ = true;
      prepared_first_ = it->first;
      ++it;
    } else {
      (void)disk_.remove(path_of(it->first));
      it = segments_.erase(it);
    }
  }

  // The next batch starts by rewriting the block that holds the end of data.
  Segment& active = segments_.at(active_first_);
  uint64_t base = io::align_down(active_end_file_);
  std::memset(tail_block_.data(), 0, limits::kBlockBytes);
  bool header_written = active_end_file_ > kSegmentHeaderBytes;
  if (!header_written) {
    // A segment that never got its header: the first batch writes it.
    active_end_file_ = 0;
  } else {
    int n = active.file->read_sync(base, tail_block_.data(), limits::kBlockBytes);
    if (n < 0) return Status::from_errno(n, "read " + active.file->path());
    std::memset(tail_block_.data() + (active_end_file_ - base), 0, limits::kBlockBytes - (active_end_file_ - base));
  }
  durable_end_ = written_end_ = active_first_ + active_end_file_;
  next_batch_seq_ = last_seq + 1;
  // The close batch vouches for the tail only while nothing follows it: the
  // first write after it must be durable before any other is issued, or a
  // later one could land without it and hide behind the close batch.
  last_batch_closed_ = solo_write_pending_ = report->clean_close;
  if (!prepared_ready_) start_prepare();
  return Status::ok();
}

void Log::start_prepare() {
  if (prepare_running_ || prepared_ready_) return;
  prepared_first_ = active_first_ + opt_.segment_bytes;
  prepare_running_ = true;
  std::string path = path_of(prepared_first_);
  uint64_t size = opt_.segment_bytes;
  prepare_thread_ = std::thread([this, path, size] { prepared_status_ = disk_.prepare(path, size); });
}

Status Log::take_prepared(Segment* out) {
  if (!prepared_ready_) {
    if (!prepare_running_) start_prepare();
    // Waiting here stalls the shard: preparation starts as soon as the
    // previous segment is taken, so only a disk slower than the appends
    // gets here.
    prepare_thread_.join();
    prepare_running_ = false;
    if (!prepared_status_) {
      Status s = prepared_status_;
      prepared_status_ = Status::ok();
      return s;
    }
    prepared_ready_ = true;
  }
  Status s = open_segment(prepared_first_, out);
  prepared_ready_ = false;
  return s;
}

Status Log::roll() {
  Segment next;
  if (Status s = take_prepared(&next); !s) return s;
  uint64_t first = next.first_offset;
  segments_.emplace(first, std::move(next));
  active_first_ = first;
  active_end_file_ = 0;
  std::memset(tail_block_.data(), 0, limits::kBlockBytes);
  start_prepare();
  return Status::ok();
}

void Log::seal(Batch& b) {
  if (b.sealed) return;
  RecordHeader h;
  h.type = RecordType::kBatch;
  size_t rec_begin = b.header_pos + kRecordHeaderBytes;
  h.number = b.used - rec_begin;
  h.id_ms = b.count;
  h.id_seq = checksum(b.buf.data() + rec_begin, b.used - rec_begin);
  h.timestamp_us = static_cast<int64_t>(b.seq);
  if (b.close) h.flags = kBatchFlagClose;
  encode_record(b.buf.data() + b.header_pos, h, {}, {});
  size_t end = io::align_up(b.used);
  std::memset(b.buf.data() + b.used, 0, end - b.used);
  // The next batch rewrites this batch's last block.
  size_t last = io::align_down(b.used);
  std::memcpy(tail_block_.data(), b.buf.data() + last, limits::kBlockBytes);
  b.sealed = true;
}

Result<Log::Batch*> Log::batch_for(size_t need) {
  if (!batches_.empty()) {
    Batch& back = batches_.back();
    if (!back.sealed && back.seg_first == active_first_ &&
        (reserved_ >= need || back.used + need - back.header_pos <= limits::kMaxFlushBytes) &&
        back.file_base + back.used + need <= opt_.segment_bytes) {
      return &back;
    }
    seal(back);
  }
  uint64_t start = active_end_file_;
  size_t header_room = start == 0 ? kSegmentHeaderBytes : 0;
  // While an earlier batch is not yet durable it owns its last block: start
  // on a fresh one, so that both may be in flight at once.
  bool fresh_block = header_room == 0 && start % limits::kBlockBytes != 0 && !batches_.empty();
  if (fresh_block) start = io::align_up(start);
  if (start + header_room + kRecordHeaderBytes + need > opt_.segment_bytes) {
    if (Status s = roll(); !s) return s;
    start = 0;
    header_room = kSegmentHeaderBytes;
    fresh_block = false;
  }
  Batch b;
  b.seq = next_batch_seq_++;
  b.seg_first = active_first_;
  last_batch_closed_ = false;
  b.file_base = io::align_down(start);
  b.header_pos = start - b.file_base + header_room;
  b.used = b.header_pos + kRecordHeaderBytes;
  if (!spare_buffers_.empty()) {
    b.buf = std::move(spare_buffers_.back());
    spare_buffers_.pop_back();
  }
  b.buf.reserve(std::max<size_t>(b.used + need, 64 << 10));
  if (header_room) {
    SegmentHeader sh{opt_.shard, opt_.shard_count, active_first_, opt_.segment_bytes, b.seq - 1};
    encode_segment_header(b.buf.data(), sh);
  } else if (!fresh_block) {
    std::memcpy(b.buf.data(), tail_block_.data(), start - b.file_base);
  }
  active_end_file_ = b.file_base + b.used;
  batches_.push_back(std::move(b));
  return &batches_.back();
}

Result<Log::Staging> Log::stage_begin(const RecordHeader& h, std::string_view name, size_t body_bytes) {
  if (!failed_.is_ok()) return Status(Code::kUnavailable, "log failed earlier: " + failed_.message());
  if (closing_) return Status(Code::kUnavailable, "log closing");
  size_t need = record_size(name.size(), body_bytes);
  if (need > limits::kMaxRecordBytes || need + kSegmentHeaderBytes + kRecordHeaderBytes > opt_.segment_bytes ||
      name.size() > limits::kMaxNameBytes) {
    return Status(Code::kInvalidArgument, "record of " + std::to_string(need) + " bytes is too large");
  }
  auto b = batch_for(need);
  if (!b) return b.status();
  Batch& batch = **b;
  if (batch.buf.capacity() < batch.used + need + limits::kBlockBytes) {
    batch.buf.reserve(std::max(batch.buf.capacity() * 2, batch.used + need + limits::kBlockBytes));
  }
  Staging st;
  st.offset = batch.seg_first + batch.file_base + batch.used;
  st.record = batch.buf.data() + batch.used;
  st.body = begin_record(st.record, h, name, body_bytes);
  batch.used += need;
  batch.count++;
  reserved_ = reserved_ > need ? reserved_ - need : 0;
  active_end_file_ = batch.file_base + batch.used;
  return st;
}

void Log::stage_finish(const Staging& st) {
  finish_record(st.record);
  schedule_flush();
}

Result<uint64_t> Log::stage(const RecordHeader& h, std::string_view name, std::string_view body) {
  return stage_with(h, name, body.size(), [body](uint8_t* out) {
    if (!body.empty()) std::memcpy(out, body.data(), body.size());
  });
}

Status Log::reserve(size_t bytes) {
  if (!failed_.is_ok()) return Status(Code::kUnavailable, "log failed earlier: " + failed_.message());
  if (closing_) return Status(Code::kUnavailable, "log closing");
  if (bytes > limits::kMaxAppendBytes || bytes + kSegmentHeaderBytes + kRecordHeaderBytes > opt_.segment_bytes) {
    return Status(Code::kInvalidArgument, "an append of " + std::to_string(bytes) + " bytes is too large");
  }
  reserved_ = 0;
  if (!batches_.empty()) {
    Batch& back = batches_.back();
    if (!back.sealed && back.seg_first == active_first_ && back.used + bytes - back.header_pos <= limits::kMaxBatchBytes &&
        back.file_base + back.used + bytes <= opt_.segment_bytes) {
      reserved_ = bytes;
      return Status::ok();
    }
    seal(back);
  }
  // A new batch: roll now if the append would not fit in this segment.
  uint64_t start = active_end_file_;
  if (start != 0 && start % limits::kBlockBytes != 0 && !batches_.empty()) start = io::align_up(start);
  size_t header_room = start == 0 ? kSegmentHeaderBytes : 0;
  if (start + header_room + kRecordHeaderBytes + bytes > opt_.segment_bytes) {
    if (Status s = roll(); !s) return s;
  }
  reserved_ = bytes;
  auto b = batch_for(0);
  if (!b) {
    reserved_ = 0;
    return b.status();
  }
  return Status::ok();
}

void Log::when_durable(Waiter done) {
  if (!failed_.is_ok()) {
    done(Status(Code::kUnavailable, "log failed earlier: " + failed_.message()));
    return;
  }
  if (batches_.empty()) {
    done(Status::ok());
    return;
  }
  batches_.back().waiters.push_back(std::move(done));
}

void Log::schedule_flush() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  // Deferred to the end of this turn of the event loop, so that everything
  // the shard receives in one turn shares one write.
  boost::asio::post(ctx_, [this] {
    flush_scheduled_ = false;
    start_flushes();
  });
}

void Log::start_flushes() {
  if (!failed_.is_ok()) return;
  for (auto& b : batches_) {
    if (b.in_flight || b.done) continue;
    if (in_flight_ >= limits::kMaxFlushesInFlight) break;
    // A new segment's first write waits for the previous segment's last:
    // recovery trusts every segment but the newest to be whole.
    if (in_flight_ > 0 && b.seg_first != in_flight_seg_) break;
    if (in_flight_ > 0 && b.used - b.header_pos < opt_.min_overlapping_flush_bytes) break;
    if (in_flight_ > 0 && solo_write_pending_) break;
    seal(b);
    b.in_flight = true;
    in_flight_++;
    in_flight_seg_ = b.seg_first;
    size_t len = io::align_up(b.used);
    uint64_t seq = b.seq;
    Segment& seg = segments_.at(b.seg_first);
    auto done = [this, seq, len](int res) { on_written(seq, len, res); };
    b.solo = solo_write_pending_;
    b.durable_write = opt_.fsync == FsyncMode::kAlways || b.solo || b.close;
    if (b.durable_write) {
      seg.file->write_durable(b.file_base, b.buf.data(), len, done);  // O_DSYNC: durable when done
    } else {
      seg.file->write(b.file_base, b.buf.data(), len, done);
    }
  }
}

void Log::on_written(uint64_t seq, size_t len, int res) {
  auto it = std::find_if(batches_.begin(), batches_.end(), [seq](const Batch& b) { return b.seq == seq; });
  REDCAR_CHECK(it != batches_.end());
  it->in_flight = false;
  in_flight_--;
  if (!failed_.is_ok()) {
    // Failed meanwhile: the buffer was kept only for the kernel's sake.
    batches_.erase(it);
    return;
  }
  if (res < 0) return fail(Status::from_errno(res, "write " + segments_.at(it->seg_first).file->path()));
  if (static_cast<size_t>(res) != len) return fail(Status(Code::kIoError, "short write"));
  it->done = true;
  if (it->solo) solo_write_pending_ = false;
  if (!it->durable_write) {
    // --fsync interval syncs these on a timer; never only at close().
    if (unsynced_segments_.empty() || unsynced_segments_.back() != it->seg_first) {
      unsynced_segments_.push_back(it->seg_first);
    }
    if (opt_.fsync == FsyncMode::kInterval) {
      unsynced_ = true;
      sync_tick();
    }
  }
  // Batches become durable, visible and acknowledged in log order, whatever
  // order their writes finished in.
  while (!batches_.empty() && batches_.front().done) complete_front();
  if (!batches_.empty()) {
    start_flushes();
  } else if (!drain_waiters_.empty()) {
    auto ws = std::move(drain_waiters_);
    for (auto& w : ws) w();
  }
}

void Log::sync_tick() {
  if (syncing_) return;
  syncing_ = true;
  sync_timer_.expires_after(std::chrono::milliseconds(opt_.fsync_interval_ms));
  sync_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) {
      syncing_ = false;
      return;
    }
    unsynced_ = false;
    // Every segment written since the last sync, not only the active one:
    // the log may have moved on to a new segment since the last write into
    // the previous one.
    std::vector<uint64_t> firsts = std::move(unsynced_segments_);
    unsynced_segments_.clear();
    auto pending = std::make_shared<size_t>(1);
    auto synced = [this, pending](int res) {
      if (res < 0) fail(Status::from_errno(res, "fdatasync"));
      if (--*pending > 0) return;
      syncing_ = false;
      if (unsynced_ && failed_.is_ok()) sync_tick();
    };
    for (uint64_t first : firsts) {
      auto it = segments_.find(first);
      if (it == segments_.end()) continue;
      ++*pending;
      it->second.file->sync(synced);
    }
    synced(0);
  });
}

void Log::complete_front() {
  Batch b = std::move(batches_.front());
  batches_.pop_front();
  flushes_++;
  written_end_ = std::max(written_end_, b.log_end());
  REDCAR_CHECK(b.log_end() > durable_end_);
  durable_end_ = b.log_end();
  REDCAR_CHECK(durable_end_ <= written_end_ || opt_.fsync != FsyncMode::kAlways);
  if (b.close) last_batch_closed_ = true;
  if (durable_hook_) {
    size_t off = b.header_pos + kRecordHeaderBytes;
    while (off < b.used) {
      RecordView rec;
      // Records this process encoded: their checksums need no check.
      DecodeResult d = decode_record(b.buf.data() + off, b.used - off, b.used - off, &rec, Verify::kBoundsOnly);
      REDCAR_CHECK(d == DecodeResult::kOk);
      durable_hook_(rec, b.seg_first + b.file_base + off);
      off += rec.padded_length;
    }
  }
  if (batch_hook_) batch_hook_();
  std::vector<Waiter> waiters = std::move(b.waiters);
  cache_insert(std::move(b));
  for (auto& w : waiters) w(Status::ok());
}

void Log::fail(Status s) {
  spdlog::error("shard {}: log failed, refusing appends from now on: {}", opt_.shard, s.to_string());
  failed_ = s;
  // Everyone waiting hears of it; batches still being written keep their
  // buffers until the kernel is done with them.
  std::vector<Waiter> waiters;
  for (auto& b : batches_) {
    for (auto& w : b.waiters) waiters.push_back(std::move(w));
    b.waiters.clear();
  }
  batches_.erase(std::remove_if(batches_.begin(), batches_.end(), [](const Batch& b) { return !b.in_flight; }),
                 batches_.end());
  for (auto& w : waiters) w(s);
  auto ws = std::move(drain_waiters_);
  for (auto& w : ws) w();
}

void Log::close(std::function<void()> done) {
  closing_ = true;
  drain([this, done = std::move(done)] {
    if (!failed_.is_ok() || last_batch_closed_) return done();
    // Everything written so far becomes durable first, so that a close
    // batch on disk means everything before it is too (--fsync interval and
    // never have unsynced writes).
    for (uint64_t first : unsynced_segments_) {
      auto it = segments_.find(first);
      if (it == segments_.end()) continue;
      int rc = it->second.file->sync_now();
      if (rc < 0) {
        fail(Status::from_errno(rc, "fdatasync " + it->second.file->path()));
        return done();
      }
    }
    unsynced_segments_.clear();
    unsynced_ = false;
    auto b = batch_for(0);
    if (!b) return done();
    (*b)->close = true;
    when_durable([done](const Status&) { done(); });
    start_flushes();
  });
}

void Log::drain(std::function<void()> done) {
  if (batches_.empty() || !failed_.is_ok()) {
    done();
    return;
  }
  drain_waiters_.push_back(std::move(done));
  start_flushes();
}

void Log::cache_insert(Batch&& b) {
  if (opt_.hot_cache_bytes == 0) {
    if (spare_buffers_.size() < 4) spare_buffers_.push_back(std::move(b.buf));
    return;
  }
  // Group commit under light load makes many small batches in large
  // buffers: keep a right-sized copy and reuse the large buffer.
  size_t keep = io::align_up(b.used);
  if (keep * 2 < b.buf.capacity()) {
    io::AlignedBuffer small(keep);
    std::memcpy(small.data(), b.buf.data(), b.used);
    if (spare_buffers_.size() < 4) spare_buffers_.push_back(std::move(b.buf));
    b.buf = std::move(small);
  }
  CacheChunk c{b.seg_first, b.file_base, b.header_pos + kRecordHeaderBytes, b.used, std::move(b.buf)};
  cache_bytes_ += c.buf.capacity();
  cache_.push_back(std::move(c));
  while (cache_bytes_ > opt_.hot_cache_bytes && cache_.size() > 1) {
    cache_bytes_ -= cache_.front().buf.capacity();
    if (spare_buffers_.size() < 4) spare_buffers_.push_back(std::move(cache_.front().buf));
    cache_.pop_front();
  }
}

uint64_t Log::next_segment_offset(uint64_t log_offset) const {
  uint64_t seg = log_offset - log_offset % opt_.segment_bytes;
  return seg + opt_.segment_bytes + kSegmentHeaderBytes;
}

void Log::scan(uint64_t from, Visitor visit, std::function<void(Status)> done) {
  // A position on a segment header, or too close to a segment's end for a
  // record (a reader that went past the last record of a segment), stands
  // for the first batch of the next segment.
  uint64_t in_segment = from % opt_.segment_bytes;
  if (in_segment < kSegmentHeaderBytes) {
    from += kSegmentHeaderBytes - in_segment;
  } else if (opt_.segment_bytes - in_segment < kRecordHeaderBytes) {
    from = next_segment_offset(from);
  }
  // Walk the hot cache while `from` lies in it.
  while (from < durable_end_) {
    auto it = std::upper_bound(cache_.begin(), cache_.end(), from, [](uint64_t v, const CacheChunk& c) {
      return v < c.seg_first + c.file_base + c.end;
    });
    if (it == cache_.end() || from < it->seg_first + it->file_base + it->begin - kRecordHeaderBytes) break;
    for (; it != cache_.end(); ++it) {
      uint64_t base = it->seg_first + it->file_base;
      size_t off = from > base + it->begin ? from - base : it->begin;
      while (off < it->end) {
        RecordView rec;
        DecodeResult d =
            decode_record(it->buf.data() + off, it->end - off, it->end - off, &rec, Verify::kBoundsOnly);
        REDCAR_CHECK(d == DecodeResult::kOk);
        if (!visit(rec, base + off)) return done(Status::ok());
        off += rec.padded_length;
      }
      from = base + it->end;
      // The next chunk starts with its batch record; skip it.
      auto nx = std::next(it);
      if (nx != cache_.end()) from = nx->seg_first + nx->file_base + nx->begin;
    }
    return done(Status::ok());
  }
  if (from >= durable_end_) return done(Status::ok());
  scan_cold(from, std::move(visit), std::move(done));
}

void Log::scan_cold(uint64_t from, Visitor visit, std::function<void(Status)> done, size_t min_bytes) {
  uint64_t seg_first = from - from % opt_.segment_bytes;
  auto sit = segments_.find(seg_first);
  if (sit == segments_.end()) {
    return done(Status(Code::kNotFound, "no segment holds log offset " + std::to_string(from)));
  }
  uint64_t file_off = from - seg_first;
  // Ordinary reads use fixed, aligned blocks so that they can be cached.
  bool cacheable = min_bytes <= limits::kColdReadBytes;
  uint64_t base = cacheable ? io::align_down(file_off, limits::kColdReadBytes) : io::align_down(file_off);
  if (cacheable) {
    BlockCache::Block hit = block_cache_.get(seg_first + base);
    // A cached block is durable as a whole: any bound inside it holds.
    if (hit.buf) {
      return scan_block(from, seg_first, base, hit.buf, hit.bytes, durable_end_, std::move(visit), std::move(done));
    }
  }
  // What the read returns is only trustworthy up to what was durable when it
  // was issued: later batches may land while it is in flight.
  uint64_t bound = durable_end_;
  size_t len = static_cast<size_t>(
      std::min<uint64_t>(std::max(limits::kColdReadBytes, min_bytes), opt_.segment_bytes - base));
  auto buf = std::make_shared<io::AlignedBuffer>(len);
  io::File* file = sit->second.file.get();
  file->read(base, buf->data(), len,
             [this, buf, from, seg_first, base, cacheable, bound, visit = std::move(visit),
              done = std::move(done)](int res) mutable {
               if (res < 0) return done(Status::from_errno(res, "read segment"));
               size_t have = static_cast<size_t>(res);
               if (cacheable && seg_first + base + have <= bound && segments_.count(seg_first)) {
                 block_cache_.put(seg_first + base, {buf, have});
               }
               scan_block(from, seg_first, base, buf, have, bound, std::move(visit), std::move(done));
             });
}

void Log::scan_block(uint64_t from, uint64_t seg_first, uint64_t base, std::shared_ptr<const io::AlignedBuffer> buf,
                     size_t have, uint64_t bound, Visitor visit, std::function<void(Status)> done) {
  size_t off = from - seg_first - base;
  while (seg_first + base + off < bound) {
    if (opt_.segment_bytes - base - off < kRecordHeaderBytes) {
      // No record fits in what is left of this segment: go on in the next.
      return scan(next_segment_offset(seg_first), std::move(visit), std::move(done));
    }
    if (off >= have) break;  // read on from here
    if ((base + off) % limits::kBlockBytes != 0 && off + 8 <= have &&
        std::all_of(buf->data() + off, buf->data() + off + 8, [](uint8_t b) { return b == 0; })) {
      // Zeros up to a block boundary: the next batch was written while this
      // one was in flight (FORMAT.md). The gap can be 8 bytes.
      off = io::align_up(base + off) - base;
      continue;
    }
    RecordView rec;
    DecodeResult d = decode_record(buf->data() + off, have - off, opt_.segment_bytes - base - off, &rec);
    if (d == DecodeResult::kTruncated) {
      // A record running from the end of a whole cached-size block into the
      // next block: join the two blocks rather than read it again from its
      // own position (which read most of the next block twice).
      bool whole_block = base % limits::kColdReadBytes == 0 && have == limits::kColdReadBytes &&
                         base + 2 * limits::kColdReadBytes <= opt_.segment_bytes;
      if (whole_block && have - off >= 12) {
        uint32_t length;
        std::memcpy(&length, buf->data() + off + 8, sizeof(length));
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
    if (d != DecodeResult::kOk) {
      return done(Status(Code::kCorruption, "bad record at log offset " + std::to_string(seg_first + base + off)));
    }
    if (rec.header.type != RecordType::kBatch && !visit(rec, seg_first + base + off)) return done(Status::ok());
    off += rec.padded_length;
  }
  uint64_t next = seg_first + base + off;
  if (next >= durable_end_) return done(Status::ok());
  if (next == from) {
    // The record at `from` does not fit in the fixed block read for it (it
    // straddles the block's end, or is larger than a read): read from its
    // own position, enough to hold it whole. Always more than a cacheable
    // read, or the same block would come back again.
    size_t min_bytes = limits::kColdReadBytes + limits::kBlockBytes;
    if (have >= off + 12) {
      uint32_t length;
      std::memcpy(&length, buf->data() + off + 8, sizeof(length));
      length = std::min<uint32_t>(length, limits::kMaxRecordBytes);
      min_bytes = std::max<size_t>(min_bytes, io::align_up(length) + limits::kBlockBytes);
    }
    return scan_cold(next, std::move(visit), std::move(done), min_bytes);
  }
  scan(next, std::move(visit), std::move(done));
}

void Log::stitch(uint64_t at, uint64_t seg_first, uint64_t base, std::shared_ptr<const io::AlignedBuffer> buf,
                 size_t head, size_t length, uint64_t bound, Visitor visit, std::function<void(Status)> done) {
  uint64_t next_base = base + limits::kColdReadBytes;
  const uint8_t* head_bytes = buf->data() + (limits::kColdReadBytes - head);
  BlockCache::Block hit = block_cache_.get(seg_first + next_base);
  if (hit.buf) {
    return stitch_with(at, seg_first, next_base, head_bytes, head, length, hit.buf, hit.bytes, bound, std::move(visit),
                       std::move(done));
  }
  auto sit = segments_.find(seg_first);
  if (sit == segments_.end()) {
    return done(Status(Code::kNotFound, "no segment holds log offset " + std::to_string(at)));
  }
  uint64_t read_bound = durable_end_;
  auto next = std::make_shared<io::AlignedBuffer>(limits::kColdReadBytes);
  sit->second.file->read(
      next_base, next->data(), limits::kColdReadBytes,
      [this, at, seg_first, next_base, head, length, bound, read_bound, buf = std::move(buf), next,
       visit = std::move(visit), done = std::move(done)](int res) mutable {
        if (res < 0) return done(Status::from_errno(res, "read segment"));
        size_t have = static_cast<size_t>(res);
        if (seg_first + next_base + have <= read_bound && segments_.count(seg_first)) {
          block_cache_.put(seg_first + next_base, {next, have});
        }
        const uint8_t* head_bytes = buf->data() + (limits::kColdReadBytes - head);
        stitch_with(at, seg_first, next_base, head_bytes, head, length, next, have, bound, std::move(visit),
                    std::move(done));
      });
}

void Log::stitch_with(uint64_t at, uint64_t seg_first, uint64_t next_base, const uint8_t* head_bytes, size_t head,
                      size_t length, std::shared_ptr<const io::AlignedBuffer> next, size_t next_have,
                      uint64_t bound, Visitor visit, std::function<void(Status)> done) {
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
  uint64_t limit = opt_.segment_bytes - (at - seg_first);
  if (decode_record(joined.data(), length, limit, &rec) != DecodeResult::kOk) {
    return done(Status(Code::kCorruption, "bad record at log offset " + std::to_string(at)));
  }
  if (rec.header.type != RecordType::kBatch && !visit(rec, at)) return done(Status::ok());
  uint64_t after = at + rec.padded_length;
  if (after >= seg_first + next_base + next_have) return scan(after, std::move(visit), std::move(done));
  scan_block(after, seg_first, next_base, std::move(next), next_have, bound, std::move(visit), std::move(done));
}

Status Log::remove_segments_below(uint64_t log_offset) {
  for (auto it = segments_.begin(); it != segments_.end() && it->first != active_first_;) {
    if (it->first + opt_.segment_bytes > log_offset) break;
    std::string path = path_of(it->first);
    block_cache_.drop(it->first, it->first + opt_.segment_bytes);
    it = segments_.erase(it);
    if (Status s = disk_.remove(path); !s) return s;
  }
  return Status::ok();
}

}  // namespace redcar::log
