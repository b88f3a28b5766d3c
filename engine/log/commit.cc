#include "engine/log/commit.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <utility>

#include "engine/common/assert.h"
#include "runtime/txn_scope.h"

namespace redcar::log {

GroupCommit::GroupCommit(SegmentSet& segments, HotCache& hot, runtime::Reactor& reactor, const LogOptions& options)
    : segs_(segments), hot_(hot), reactor_(reactor), opt_(options), sync_timer_(reactor) {}

Status GroupCommit::resume(const RecoveredTail& tail) {
  io::File* active = segs_.file(tail.active_first);
  REDCAR_CHECK(active != nullptr);
  REDCAR_CHECK(tail.end_file <= segs_.segment_bytes());
  std::memset(tail_block_.data(), 0, limits::kBlockBytes);
  // A segment that never got its header (or nothing after it): the first
  // batch writes the header.
  active_end_file_ = tail.end_file > kSegmentHeaderBytes ? tail.end_file : 0;
  if (active_end_file_ > 0) {
    uint64_t base = io::align_down(active_end_file_);
    int n = active->read_sync(base, tail_block_.data(), limits::kBlockBytes);
    if (n < 0) return Status::from_errno(n, "read " + active->path());
    std::memset(tail_block_.data() + (active_end_file_ - base), 0, limits::kBlockBytes - (active_end_file_ - base));
  }
  pos_.durable = pos_.written = pos_.staged = tail.active_first + active_end_file_;
  next_batch_seq_ = tail.last_seq + 1;
  // The close batch vouches for the tail only while nothing follows it: the
  // first write after it must be durable before any other is issued, or a
  // later one could land without it and hide behind the close batch.
  last_batch_closed_ = solo_write_pending_ = tail.clean_close;
  return Status::ok();
}

Status GroupCommit::refusal() const {
  if (!failed_.is_ok()) return Status(Code::kUnavailable, "log failed earlier: " + failed_.message());
  if (closing_) return Status(Code::kUnavailable, "log closing");
  return Status::ok();
}

void GroupCommit::note_staged() {
  pos_.staged = batches_.empty() ? pos_.written : std::max(pos_.written, batches_.back().log_end());
  pos_.check();
}

// ------------------------------------------------------------------ staging

bool GroupCommit::fits_open_batch(const Batch& b, size_t need, size_t batch_limit) const {
  return !b.sealed && b.txn == txn_ && b.seg_first == segs_.active_first() && b.used + need - b.header_pos <= batch_limit &&
         b.file_base + b.used + need <= segs_.segment_bytes();
}

Status GroupCommit::roll() {
  if (Status s = segs_.roll(); !s) return s;
  active_end_file_ = 0;
  std::memset(tail_block_.data(), 0, limits::kBlockBytes);
  return Status::ok();
}

GroupCommit::Batch GroupCommit::new_batch(uint64_t start, size_t header_room, bool fresh_block, size_t need) {
  Batch b;
  b.seq = next_batch_seq_++;
  b.seg_first = segs_.active_first();
  b.file_base = io::align_down(start);
  b.header_pos = start - b.file_base + header_room;
  b.used = b.header_pos + kRecordHeaderBytes;
  b.buf = hot_.take_spare();
  b.buf.reserve(std::max<size_t>(b.used + need, 64 << 10));
  if (!spare_waiters_.empty()) {
    b.waiters = std::move(spare_waiters_.back());
    spare_waiters_.pop_back();
  }
  if (header_room) {
    SegmentHeader sh{opt_.shard, opt_.shard_count, b.seg_first, segs_.segment_bytes(), b.seq - 1};
    encode_segment_header(b.buf.data(), sh);
  } else if (!fresh_block) {
    std::memcpy(b.buf.data(), tail_block_.data(), start - b.file_base);
  }
  return b;
}

Result<GroupCommit::Batch*> GroupCommit::batch_for(size_t need) {
  if (!batches_.empty()) {
    Batch& back = batches_.back();
    if (fits_open_batch(back, need, reserved_ >= need ? limits::kMaxBatchBytes : limits::kMaxFlushBytes)) {
      return &back;
    }
    seal(back);
  }
  uint64_t start = active_end_file_;
  size_t header_room = start == 0 ? kSegmentHeaderBytes : 0;
  // While an earlier batch is not yet written it owns its last block: start
  // on a fresh one, so that both may be in flight at once.
  bool fresh_block = header_room == 0 && start % limits::kBlockBytes != 0 && !batches_.empty();
  if (fresh_block) start = io::align_up(start);
  if (start + header_room + kRecordHeaderBytes + need > segs_.segment_bytes()) {
    if (Status s = roll(); !s) return s;
    start = 0;
    header_room = kSegmentHeaderBytes;
    fresh_block = false;
  }
  last_batch_closed_ = false;
  Batch b = new_batch(start, header_room, fresh_block, need);
  b.txn = txn_;
  active_end_file_ = b.file_base + b.used;
  batches_.push_back(std::move(b));
  note_staged();
  return &batches_.back();
}

Result<GroupCommit::Staging> GroupCommit::stage_begin(const RecordHeader& h, std::string_view name,
                                                      size_t body_bytes) {
  if (Status s = refusal(); !s) return s;
  size_t need = record_size(name.size(), body_bytes);
  if (need > limits::kMaxRecordBytes || need + kSegmentHeaderBytes + kRecordHeaderBytes > segs_.segment_bytes() ||
      name.size() > limits::kMaxNameBytes) {
    return Status(Code::kInvalidArgument, Reason::kTooLarge, "record of " + std::to_string(need) + " bytes is too large");
  }
  // A provisional batch opens with its transaction's begin mark: room for it.
  const size_t mark = txn_ ? kTxnMarkBytes : 0;
  auto b = batch_for(need + mark);
  if (!b) return b.status();
  Batch& batch = **b;
  REDCAR_DCHECK(!batch.sealed && !batch.in_flight);
  if (batch.txn && batch.count == 0) open_with_txn_mark(batch);
  if (batch.buf.capacity() < batch.used + need + limits::kBlockBytes) {
    batch.buf.reserve(std::max(batch.buf.capacity() * 2, batch.used + need + limits::kBlockBytes));
  }
  Staging st;
  st.offset = batch.seg_first + batch.file_base + batch.used;
  st.record = batch.buf.data() + batch.used;
  st.body = begin_record(st.record, h, name, body_bytes);
  batch.used += need;
  batch.count++;
  // The batch never runs past its segment: a record there would be written
  // over the next segment's bytes' place in the log.
  REDCAR_CHECK(batch.file_base + batch.used <= segs_.segment_bytes());
  reserved_ = reserved_ > need ? reserved_ - need : 0;
  active_end_file_ = batch.file_base + batch.used;
  note_staged();
  return st;
}

void GroupCommit::stage_finish(const Staging& st) {
  finish_record(st.record);
  schedule_flush();
}

// Every provisional batch opens with its transaction's begin mark, so that
// each names its transaction by itself — also once the segment holding the
// transaction's first batch has been reclaimed.
void GroupCommit::open_with_txn_mark(Batch& batch) {
  if (batch.buf.capacity() < batch.used + kTxnMarkBytes + limits::kBlockBytes) {
    batch.buf.reserve(std::max(batch.buf.capacity() * 2, batch.used + kTxnMarkBytes + limits::kBlockBytes));
  }
  RecordHeader mh;
  mh.type = RecordType::kTxn;
  mh.number = batch.txn;
  uint8_t* record = batch.buf.data() + batch.used;
  *begin_record(record, mh, {}, 1) = static_cast<uint8_t>(TxnMark::kBegin);
  finish_record(record);
  batch.used += kTxnMarkBytes;
  batch.count++;
  REDCAR_CHECK(batch.file_base + batch.used <= segs_.segment_bytes());
  reserved_ = reserved_ > kTxnMarkBytes ? reserved_ - kTxnMarkBytes : 0;
  active_end_file_ = batch.file_base + batch.used;
  txn_wrote_ = true;
  note_staged();
}

Status GroupCommit::reserve(size_t bytes) {
  if (Status s = refusal(); !s) return s;
  if (txn_) bytes += kTxnMarkBytes;  // a new provisional batch opens with one
  if (bytes > limits::kMaxAppendBytes || bytes + kSegmentHeaderBytes + kRecordHeaderBytes > segs_.segment_bytes()) {
    return Status(Code::kInvalidArgument, Reason::kTooLarge,
                  "an append of " + std::to_string(bytes) + " bytes is too large");
  }
  reserved_ = 0;
  if (!batches_.empty()) {
    Batch& back = batches_.back();
    if (fits_open_batch(back, bytes, limits::kMaxBatchBytes)) {
      reserved_ = bytes;
      return Status::ok();
    }
    seal(back);
  }
  // A new batch: roll now if the append would not fit in this segment.
  uint64_t start = active_end_file_;
  if (start != 0 && start % limits::kBlockBytes != 0 && !batches_.empty()) start = io::align_up(start);
  size_t header_room = start == 0 ? kSegmentHeaderBytes : 0;
  if (start + header_room + kRecordHeaderBytes + bytes > segs_.segment_bytes()) {
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

void GroupCommit::seal(Batch& b) {
  if (b.sealed) return;
  RecordHeader h;
  h.type = RecordType::kBatch;
  size_t rec_begin = b.header_pos + kRecordHeaderBytes;
  h.number = b.used - rec_begin;
  h.id_ms = b.count;
  h.id_seq = checksum(b.buf.data() + rec_begin, b.used - rec_begin);
  h.timestamp_us = static_cast<int64_t>(b.seq);
  if (b.close) h.flags = kBatchFlagClose;
  if (b.txn) h.flags |= kBatchFlagTxn;
  REDCAR_CHECK(!b.close || b.count == 0);
  encode_record(b.buf.data() + b.header_pos, h, {}, {});
  size_t end = io::align_up(b.used);
  REDCAR_CHECK(end <= b.buf.capacity());
  std::memset(b.buf.data() + b.used, 0, end - b.used);
  // The next batch rewrites this batch's last block.
  size_t last = io::align_down(b.used);
  std::memcpy(tail_block_.data(), b.buf.data() + last, limits::kBlockBytes);
  b.sealed = true;
}

void GroupCommit::when_durable(Waiter done) {
  if (!failed_.is_ok()) return done(Status(Code::kUnavailable, "log failed earlier: " + failed_.message()));
  if (batches_.empty()) return done(Status::ok());
  batches_.back().waiters.push_back(std::move(done));
}

// ------------------------------------------------------------------ flushing

void GroupCommit::schedule_flush() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  // At the end of this turn of the loop, so that everything the shard
  // receives in one turn shares one write, submitted in that same turn.
  reactor_.at_turn_end([this] {
    flush_scheduled_ = false;
    start_flushes();
  });
}

bool GroupCommit::may_start(const Batch& b) const {
  if (in_flight_ == 0) return true;
  if (in_flight_ >= limits::kMaxFlushesInFlight) return false;
  // A new segment's first write waits for the previous segment's last:
  // recovery trusts every segment but the newest to be whole.
  if (b.seg_first != in_flight_seg_) return false;
  // Small batches wait and share the next write; large ones overlap.
  if (b.used - b.header_pos < opt_.min_overlapping_flush_bytes) return false;
  return !solo_write_pending_;
}

void GroupCommit::start_flushes() {
  if (!failed_.is_ok()) return;
  for (auto& b : batches_) {
    if (b.in_flight || b.done) continue;
    if (!may_start(b)) break;
    seal(b);
    size_t len = io::align_up(b.used);
    io::File* file = segs_.file(b.seg_first);
    REDCAR_CHECK(file != nullptr);
    REDCAR_CHECK(b.file_base % limits::kBlockBytes == 0 && b.file_base + len <= segs_.segment_bytes());
    b.in_flight = true;
    in_flight_++;
    in_flight_seg_ = b.seg_first;
    b.solo = solo_write_pending_;
    // A transaction's batches and commit marks are durable when written
    // whatever --fsync says: a decision must not outlive what it decides.
    b.durable_write = opt_.fsync == FsyncMode::kAlways || b.solo || b.close || b.txn != 0 || b.must_sync;
    uint64_t seq = b.seq;
    auto done = [this, seq, len](int res) { on_written(seq, len, res); };
    if (b.durable_write) {
      file->write_durable(b.file_base, b.buf.data(), len, done);  // O_DSYNC: durable when done
    } else {
      file->write(b.file_base, b.buf.data(), len, done);
    }
  }
}

void GroupCommit::on_written(uint64_t seq, size_t len, int res) {
  auto it = std::find_if(batches_.begin(), batches_.end(), [seq](const Batch& b) { return b.seq == seq; });
  REDCAR_CHECK(it != batches_.end());
  REDCAR_CHECK(it->in_flight && in_flight_ > 0);
  it->in_flight = false;
  in_flight_--;
  if (!failed_.is_ok()) {
    // Failed meanwhile: the buffer was kept only for the kernel's sake.
    batches_.erase(it);
    note_staged();
    return;
  }
  if (res < 0) return fail(Status::from_errno(res, "write " + segs_.path_of(it->seg_first)));
  if (static_cast<size_t>(res) != len) return fail(Status(Code::kIoError, "short write"));
  it->done = true;
  if (it->solo) solo_write_pending_ = false;
  if (!it->durable_write) note_unsynced(it->seg_first);
  // Batches become visible and acknowledged in log order, whatever order
  // their writes finished in.
  while (!batches_.empty() && batches_.front().done) complete_front();
  if (!batches_.empty()) return start_flushes();
  answer_drain_waiters();
}

void GroupCommit::complete_front() {
  Batch b = std::move(batches_.front());
  batches_.pop_front();
  flushes_++;
  REDCAR_CHECK(b.log_begin() >= pos_.written);
  uint64_t before = pos_.written;
  pos_.written = b.log_end();
  // A durable write extends what is durable when everything before it was.
  if (b.durable_write && pos_.durable == before) pos_.durable = pos_.written;
  note_staged();
  if (b.close) last_batch_closed_ = true;
  // What a provisional batch wakes belongs to its transaction.
  runtime::TxnScope scope(b.txn);
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
  hot_.insert(b.seg_first, b.file_base, b.header_pos + kRecordHeaderBytes, b.used, std::move(b.buf));
  for (auto& w : waiters) w(Status::ok());
  waiters.clear();
  // A few lists are enough: batches in flight at once are few.
  if (spare_waiters_.size() < limits::kMaxFlushesInFlight + 2 && waiters.capacity() <= 4096) {
    spare_waiters_.push_back(std::move(waiters));
  }
}

void GroupCommit::fail(Status s) {
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
  note_staged();
  for (auto& w : waiters) w(s);
  answer_drain_waiters();
}

void GroupCommit::answer_drain_waiters() {
  auto ws = std::move(drain_waiters_);
  drain_waiters_.clear();
  for (auto& w : ws) w();
}

// ------------------------------------------------------------------ syncing (--fsync interval, never)

void GroupCommit::note_unsynced(uint64_t seg_first) {
  if (unsynced_segments_.empty() || unsynced_segments_.back() != seg_first) unsynced_segments_.push_back(seg_first);
  if (opt_.fsync != FsyncMode::kInterval) return;  // never: only close() syncs
  unsynced_ = true;
  sync_tick();
}

void GroupCommit::sync_tick() {
  if (syncing_) return;
  syncing_ = true;
  sync_timer_.start(std::chrono::milliseconds(opt_.fsync_interval_ms), [this] { sync_written(); });
}

// Every segment written since the last sync, not only the active one: the
// log may have moved on to a new segment since the last write into the
// previous one. What was written by now is durable once they are.
void GroupCommit::sync_written() {
  unsynced_ = false;
  syncing_segments_ = std::move(unsynced_segments_);
  unsynced_segments_.clear();
  uint64_t upto = pos_.written;
  auto pending = std::make_shared<size_t>(1);
  auto synced = [this, pending, upto](int res) {
    if (res < 0) fail(Status::from_errno(res, "fdatasync"));
    if (--*pending > 0) return;
    syncing_ = false;
    syncing_segments_.clear();
    if (!failed_.is_ok()) return;
    on_synced(upto);
    if (unsynced_) sync_tick();
  };
  for (uint64_t first : syncing_segments_) {
    io::File* f = segs_.file(first);
    if (!f) continue;
    ++*pending;
    f->sync(synced);
  }
  synced(0);
}

void GroupCommit::on_synced(uint64_t upto) {
  pos_.durable = std::max(pos_.durable, upto);
  pos_.check();
}

Status GroupCommit::sync_all_now() {
  for (const auto* list : {&syncing_segments_, &unsynced_segments_}) {
    for (uint64_t first : *list) {
      io::File* f = segs_.file(first);
      if (!f) continue;
      if (int rc = f->sync_now(); rc < 0) return Status::from_errno(rc, "fdatasync " + f->path());
    }
  }
  unsynced_segments_.clear();
  unsynced_ = false;
  on_synced(pos_.written);
  return Status::ok();
}

// ------------------------------------------------------------------ draining and closing

void GroupCommit::drain(std::function<void()> done) {
  if (batches_.empty() || !failed_.is_ok()) return done();
  drain_waiters_.push_back(std::move(done));
  start_flushes();
}

void GroupCommit::begin_txn(uint64_t txn) {
  REDCAR_CHECK(txn != 0 && txn_ == 0);
  // A provisional batch holds the transaction's records only.
  if (!batches_.empty()) seal(batches_.back());
  txn_ = txn;
  txn_wrote_ = false;
}

bool GroupCommit::end_txn() {
  if (txn_ == 0) return false;
  if (!batches_.empty()) seal(batches_.back());
  txn_ = 0;
  return std::exchange(txn_wrote_, false);
}

void GroupCommit::close(std::function<void()> done) {
  closing_ = true;
  // A transaction still open is abandoned: it never commits, and recovery
  // drops it (FORMAT.md, Transactions).
  end_txn();
  drain([this, done = std::move(done)] {
    if (!failed_.is_ok() || last_batch_closed_) return done();
    // Everything written so far becomes durable first, so that a close
    // batch on disk means everything before it is too (--fsync interval and
    // never have unsynced writes). A periodic sync in flight covers only
    // some of them: the segments it took are synced again here.
    if (sync_timer_.pending()) {
      sync_timer_.cancel();
      syncing_ = false;
    }
    if (Status s = sync_all_now(); !s) {
      fail(s);
      return done();
    }
    auto b = batch_for(0);
    if (!b) return done();
    (*b)->close = true;
    when_durable([done](const Status&) { done(); });
    start_flushes();
  });
}

}  // namespace redcar::log
