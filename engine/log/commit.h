// Group commit for one shard's log: records are staged into the open batch,
// batches are sealed and written (up to limits::kMaxFlushesInFlight at once,
// O_DSYNC under --fsync always), and they complete strictly in log order:
// each record goes through the durable hook, the batch goes to the hot
// cache, and whoever waits on it is answered. The four verbs:
//
//   reserve(bytes)   the next `bytes` of records land in one batch in one
//                    segment (rolling now if need be), or nothing is staged;
//   stage(...)       a record into the open batch;
//   flush            at the end of the reactor's turn, everything staged in
//                    it leaves in as few writes as possible;
//   complete         a written batch, in order, becomes visible.
//
// After a failed write or sync the log is failed for good (fsyncgate): every
// later stage is refused with the original error, since nobody can say what
// reached the disk. Used by one shard's thread.
#pragma once

#include <deque>
#include <functional>
#include <vector>

#include "engine/common/callback.h"
#include "engine/common/limits.h"
#include "engine/common/status.h"
#include "engine/io/aligned_buffer.h"
#include "engine/log/hot_cache.h"
#include "engine/log/log_options.h"
#include "engine/log/positions.h"
#include "engine/log/record.h"
#include "engine/log/recovery.h"
#include "engine/log/segment_set.h"
#include "runtime/reactor.h"
#include "runtime/timer.h"

namespace redcar::log {

class GroupCommit {
 public:
  using DurableHook = std::function<void(const RecordView& rec, uint64_t log_offset)>;
  // A waiter usually holds a request's callback and its answer (an append's
  // is 160 bytes): inline, so that waiting allocates nothing.
  static constexpr size_t kWaiterInlineBytes = kCallbackInlineBytes + 96;
  using Waiter = runtime::Function<void(const Status&), kWaiterInlineBytes>;

  GroupCommit(SegmentSet& segments, HotCache& hot, runtime::Reactor& reactor, const LogOptions& options);
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Goes on where recovery left the log: the next batch starts by rewriting
  // the block that holds the end of the data.
  Status resume(const RecoveredTail& tail);

  void set_durable_hook(DurableHook hook) { durable_hook_ = std::move(hook); }
  void set_batch_hook(std::function<void()> hook) { batch_hook_ = std::move(hook); }

  struct Staging {
    uint64_t offset;  // log offset of the record
    uint8_t* record;  // where it starts in the batch buffer
    uint8_t* body;    // where its `body_bytes` of body go
  };
  // Lays out a record in the open batch; the caller writes its body at
  // `body` and then calls stage_finish(). Fails (kNoSpace, kUnavailable,
  // kInvalidArgument) before anything is staged.
  Result<Staging> stage_begin(const RecordHeader& h, std::string_view name, size_t body_bytes);
  void stage_finish(const Staging& st);
  Status reserve(size_t bytes);
  // `done` runs once everything staged so far is written (durable under
  // --fsync always), or has failed.
  void when_durable(Waiter done);
  // Finishes in-flight and staged flushes, then calls done.
  void drain(std::function<void()> done);
  // Refuses stages from now on, drains, makes everything durable and ends
  // the log with a close batch (FORMAT.md, Closing); then calls done.
  void close(std::function<void()> done);

  // Transactions (FORMAT.md, Transactions). From begin_txn until end_txn,
  // batches are provisional: flagged, each opened by the transaction's
  // begin mark, and never shared with a record of anyone else. The
  // owner stages the commit mark after end_txn. Waiters of provisional
  // batches are answered inside the transaction (runtime/txn_scope.h).
  void begin_txn(uint64_t txn);
  // Ends provisional batches; whether the transaction staged anything.
  bool end_txn();
  // The open batch is written durable whatever --fsync says (a commit mark).
  void require_sync() {
    if (!batches_.empty() && !batches_.back().sealed) batches_.back().must_sync = true;
  }
  // Makes everything written durable now, blocking (--fsync interval and
  // never; a transaction's provisional batches must not outlive what came
  // before them).
  Status sync_now() { return sync_all_now(); }
  uint64_t txn() const { return txn_; }
  // After a failed write or sync the log is failed for good (fsyncgate):
  // every waiter hears of it and every later stage is refused with it.
  void fail(Status s);

  const LogPositions& positions() const { return pos_; }
  const Status& failure() const { return failed_; }
  uint64_t flushes() const { return flushes_; }
  uint64_t flushes_in_flight() const { return in_flight_; }

 private:
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
    bool done = false;        // written, waiting for its turn to complete
    uint64_t txn = 0;         // provisional: the transaction it belongs to
    bool must_sync = false;   // durable when written, whatever --fsync says (a commit mark)
    io::AlignedBuffer buf;
    std::vector<Waiter> waiters;
    uint64_t log_begin() const { return seg_first + file_base + header_pos; }
    uint64_t log_end() const { return seg_first + file_base + used; }
    size_t records_bytes() const { return used - header_pos - kRecordHeaderBytes; }
  };

  Status refusal() const;
  void open_with_txn_mark(Batch& batch);
  bool fits_open_batch(const Batch& b, size_t need, size_t batch_limit) const;
  Result<Batch*> batch_for(size_t need);
  Batch new_batch(uint64_t start, size_t header_room, bool fresh_block, size_t need);
  Status roll();
  void seal(Batch& b);
  void note_staged();
  void schedule_flush();
  void start_flushes();
  bool may_start(const Batch& b) const;
  void on_written(uint64_t seq, size_t len, int res);
  void note_unsynced(uint64_t seg_first);
  void complete_front();
  void sync_tick();
  void sync_written();
  void on_synced(uint64_t upto);
  Status sync_all_now();
  void answer_drain_waiters();

  SegmentSet& segs_;
  HotCache& hot_;
  runtime::Reactor& reactor_;
  const LogOptions& opt_;
  DurableHook durable_hook_;
  std::function<void()> batch_hook_;

  LogPositions pos_;
  uint64_t active_end_file_ = 0;  // file offset past the last staged byte of the active segment
  // The block holding the end of the last sealed batch: the next batch starts
  // by rewriting it.
  io::AlignedBuffer tail_block_{limits::kBlockBytes};

  std::deque<Batch> batches_;  // front may be in flight
  // Waiter lists of completed batches, emptied with their capacity kept, so
  // that a batch's waiters do not regrow a list from nothing.
  std::vector<std::vector<Waiter>> spare_waiters_;
  size_t reserved_ = 0;        // bytes promised to the open batch by reserve()
  size_t in_flight_ = 0;       // writes submitted and not yet complete
  uint64_t in_flight_seg_ = 0;  // the segment they write to
  uint64_t next_batch_seq_ = 1;
  bool flush_scheduled_ = false;
  uint64_t flushes_ = 0;
  Status failed_;
  std::vector<std::function<void()>> drain_waiters_;
  bool closing_ = false;
  // The last batch in the log is a close batch (nothing staged since).
  bool last_batch_closed_ = false;
  // Opened after a clean close and nothing written yet: the next write goes
  // alone and durable (see resume()).
  bool solo_write_pending_ = false;
  uint64_t txn_ = 0;             // the open transaction, or 0
  bool txn_wrote_ = false;       // it staged something
  static inline const size_t kTxnMarkBytes = record_size(0, 1);

  // --fsync interval: a sync is due (written but not yet synced), or running.
  runtime::Timer sync_timer_;
  bool unsynced_ = false;
  bool syncing_ = false;
  // --fsync interval and never: segments written since their last sync,
  // first offsets, in order.
  std::vector<uint64_t> unsynced_segments_;
  std::vector<uint64_t> syncing_segments_;  // taken by the sync in flight
};

}  // namespace redcar::log
