// One shard's log: its segment files, the staging of records into batches,
// group commit, the hot cache of recently written batches, and reads of
// records by log offset. Used from the shard's thread only.
//
// Positions, in log offsets, always ordered:
//   durable_end() <= written_end() <= staged_end()
// A record becomes visible to readers (and is passed to the durable hook)
// only once it is durable — or written, under --fsync interval/never.
//
// After a failed write or fdatasync the log is failed for good: every later
// append is refused with the original error, since nobody can say what
// reached the disk (fsyncgate). Reads of durable data go on working.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <map>
#include <memory>
#include <thread>

#include "engine/common/limits.h"
#include "engine/common/status.h"
#include "engine/io/aligned_buffer.h"
#include "engine/io/disk.h"
#include "engine/log/block_cache.h"
#include "engine/log/record.h"
#include "engine/log/recovery.h"

namespace redcar::log {

enum class FsyncMode : uint8_t { kAlways, kInterval, kNever };

struct LogOptions {
  std::string dir;  // this shard's folder
  uint16_t shard = 0;
  uint16_t shard_count = 1;
  uint64_t segment_bytes = limits::kDefaultSegmentBytes;
  FsyncMode fsync = FsyncMode::kAlways;
  uint32_t fsync_interval_ms = 100;
  size_t hot_cache_bytes = limits::kDefaultHotCacheBytes;
  bool repair = false;
  // See limits::kMinOverlappingFlushBytes; tests set 0 to make every flush
  // overlap.
  size_t min_overlapping_flush_bytes = limits::kMinOverlappingFlushBytes;
  // Recovery's read size (limits::kRecoveryChunkBytes); tests make it small.
  size_t recovery_chunk_bytes = limits::kRecoveryChunkBytes;
};

std::string segment_file_name(uint64_t first_offset);

class Log {
 public:
  using DurableHook = std::function<void(const RecordView& rec, uint64_t log_offset)>;
  using Waiter = std::function<void(const Status&)>;
  // Returns false to stop the scan.
  using Visitor = std::function<bool(const RecordView& rec, uint64_t log_offset)>;

  Log(io::Disk& disk, boost::asio::io_context& ctx, LogOptions options);
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  // Scans every segment, passing each valid record to `apply` in log order,
  // and repairs a torn tail. Refuses (kCorruption, naming the file and
  // offset) on damage it may not repair, unless options.repair.
  Status open(const DurableHook& apply, RecoveryReport* report);

  // Called for each record, in order, once it has become durable; the shard
  // applies it to its in-memory state exactly as recovery does.
  void set_durable_hook(DurableHook hook) { durable_hook_ = std::move(hook); }
  // Called after each durable batch has gone through the durable hook, before
  // its waiters are answered.
  void set_batch_hook(std::function<void()> hook) { batch_hook_ = std::move(hook); }

  // Adds a record to the current batch. Returns its log offset, or an error
  // (kNoSpace when no new segment could be made, kUnavailable when failed).
  Result<uint64_t> stage(const RecordHeader& h, std::string_view name, std::string_view body);
  // The same with a body of `body_bytes` that write_body(uint8_t* out)
  // writes in place, in the batch buffer: no copy of it on the way. It must
  // write exactly that many bytes and not call the log.
  template <typename WriteBody>
  Result<uint64_t> stage_with(const RecordHeader& h, std::string_view name, size_t body_bytes,
                              WriteBody&& write_body) {
    auto st = stage_begin(h, name, body_bytes);
    if (!st) return st.status();
    write_body(st->body);
    stage_finish(*st);
    return st->offset;
  }
  // Makes the next `bytes` of staged records land in one batch in one
  // segment (rolling to a new segment now if need be), so that a crash keeps
  // all of them or none. Fails (kNoSpace, ...) before anything is staged.
  Status reserve(size_t bytes);
  // `done` runs once everything staged so far is durable (or has failed).
  void when_durable(Waiter done);

  // Visits records from `from` (the offset of a record) in log order until
  // `visit` returns false or the durable data ends; then done(status).
  // Served from the hot cache when it can, else read from disk.
  void scan(uint64_t from, Visitor visit, std::function<void(Status)> done);

  // Finishes in-flight and staged flushes, then calls done.
  void drain(std::function<void()> done);
  // Refuses appends from now on, finishes what is staged and in flight,
  // makes it durable (whatever the fsync mode) and writes a close batch
  // (FORMAT.md), so that the next open need not search the tail for torn
  // flushes nor check the spare segment; then calls done. Nothing may be
  // staged after it.
  void close(std::function<void()> done);

  uint64_t durable_end() const { return durable_end_; }
  uint64_t staged_end() const;
  const Status& failure() const { return failed_; }
  uint64_t segment_count() const { return segments_.size(); }
  uint64_t first_offset() const { return segments_.empty() ? 0 : segments_.begin()->first; }
  uint64_t flushes() const { return flushes_; }
  uint64_t flushes_in_flight() const { return in_flight_; }
  uint64_t segment_bytes() const { return opt_.segment_bytes; }
  uint64_t active_first() const { return active_first_; }
  // Waits for the helper thread that prepares the next segment (it uses the
  // disk, which must outlive it).
  void wait_prepare();
  // Removes every whole segment below `log_offset` (never the active one).
  Status remove_segments_below(uint64_t log_offset);

 private:
  struct Segment {
    uint64_t first_offset = 0;
    std::unique_ptr<io::File> file;
  };
  struct Batch {
    uint64_t seg_first = 0;
    uint64_t file_base = 0;   // block-aligned file offset of buf[0]
    size_t header_pos = 0;    // batch record position in buf
    size_t used = 0;
    uint32_t count = 0;
    uint64_t seq = 0;         // batch sequence number (FORMAT.md)
    bool sealed = false;
    bool close = false;       // the close batch: empty, written last
    bool solo = false;        // written alone and durable (the first after a clean open)
    bool durable_write = false;  // written with O_DSYNC: durable when done
    bool in_flight = false;
    bool done = false;        // written (durable under --fsync always), waiting for its turn
    io::AlignedBuffer buf;
    std::vector<Waiter> waiters;
    uint64_t log_begin() const { return seg_first + file_base + header_pos; }
    uint64_t log_end() const { return seg_first + file_base + used; }
  };
  // A written batch kept for reads.
  struct CacheChunk {
    uint64_t seg_first;
    uint64_t file_base;
    size_t begin;  // first record byte in buf (past the batch record)
    size_t end;
    io::AlignedBuffer buf;
  };

  struct Staging {
    uint64_t offset;  // log offset of the record
    uint8_t* record;  // where it starts in the batch buffer
    uint8_t* body;    // where its body goes
  };
  Result<Staging> stage_begin(const RecordHeader& h, std::string_view name, size_t body_bytes);
  void stage_finish(const Staging& st);

  Status open_segment(uint64_t first_offset, Segment* out);
  Status recover_segments(const DurableHook& apply, RecoveryReport* report);
  Status zero_from(Segment& seg, uint64_t file_offset);
  Result<Batch*> batch_for(size_t need);
  Status roll();
  void start_prepare();
  Status take_prepared(Segment* out);
  void seal(Batch& b);
  void schedule_flush();
  void start_flushes();
  void on_written(uint64_t seq, size_t len, int res);
  void complete_front();
  void fail(Status s);
  void sync_tick();
  void cache_insert(Batch&& b);
  void scan_cold(uint64_t from, Visitor visit, std::function<void(Status)> done,
                 size_t min_bytes = limits::kColdReadBytes);
  // Visits the records of a block read from disk, up to `bound` (what was
  // durable when the read was issued), then goes on with scan().
  void scan_block(uint64_t from, uint64_t seg_first, uint64_t base, std::shared_ptr<const io::AlignedBuffer> buf,
                  size_t have, uint64_t bound, Visitor visit, std::function<void(Status)> done);
  // A record at log offset `at` that begins in the block at `base` (its
  // first `head` bytes are the end of `buf`) and ends in the next: joins its
  // two parts, visits it, and goes on in the next block, which is now read
  // (or found cached) once instead of being read again from the record on.
  void stitch(uint64_t at, uint64_t seg_first, uint64_t base, std::shared_ptr<const io::AlignedBuffer> buf,
              size_t head, size_t length, uint64_t bound, Visitor visit, std::function<void(Status)> done);
  void stitch_with(uint64_t at, uint64_t seg_first, uint64_t next_base, const uint8_t* head_bytes, size_t head,
                   size_t length, std::shared_ptr<const io::AlignedBuffer> next, size_t next_have, uint64_t bound,
                   Visitor visit, std::function<void(Status)> done);
  uint64_t next_segment_offset(uint64_t log_offset) const;
  std::string path_of(uint64_t first_offset) const;

  io::Disk& disk_;
  boost::asio::io_context& ctx_;
  LogOptions opt_;
  DurableHook durable_hook_;
  std::function<void()> batch_hook_;

  std::map<uint64_t, Segment> segments_;
  uint64_t active_first_ = 0;
  uint64_t active_end_file_ = 0;  // file offset past the last staged byte

  // The block holding the end of the last sealed batch: the next batch starts
  // by rewriting it.
  io::AlignedBuffer tail_block_{limits::kBlockBytes};

  std::deque<Batch> batches_;  // front may be in flight
  size_t reserved_ = 0;        // bytes promised to the open batch by reserve()
  size_t in_flight_ = 0;       // flushes submitted and not yet complete
  uint64_t in_flight_seg_ = 0;  // the segment they write to
  uint64_t next_batch_seq_ = 1;
  bool flush_scheduled_ = false;
  uint64_t durable_end_ = 0;
  uint64_t written_end_ = 0;
  uint64_t flushes_ = 0;
  Status failed_;
  std::vector<std::function<void()>> drain_waiters_;
  bool closing_ = false;
  // The last batch in the log is a close batch (nothing staged since).
  bool last_batch_closed_ = false;
  // Opened after a clean close and nothing written yet: the next write goes
  // alone and durable (see open()).
  bool solo_write_pending_ = false;

  // --fsync interval: written but not yet synced.
  boost::asio::steady_timer sync_timer_;
  bool unsynced_ = false;
  bool syncing_ = false;
  // --fsync interval and never: segments written since their last sync,
  // first offsets, in order.
  std::vector<uint64_t> unsynced_segments_;

  // The next segment, made ahead of need on a helper thread.
  std::thread prepare_thread_;
  bool prepare_running_ = false;
  uint64_t prepared_first_ = 0;
  Status prepared_status_;
  bool prepared_ready_ = false;

  std::deque<CacheChunk> cache_;
  BlockCache block_cache_{opt_.hot_cache_bytes / 4};
  size_t cache_bytes_ = 0;
  std::vector<io::AlignedBuffer> spare_buffers_;
};

}  // namespace redcar::log
