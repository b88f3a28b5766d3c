// One shard's log: the facade over its parts. The shard stages records,
// waits for them to become durable, and scans them back by log offset; it
// never sees a segment file or a batch.
//
//   SegmentSet   the segment files, the active one and the spare  (segment_set.h)
//   GroupCommit  batches, group commit, fsync modes, close        (commit.h)
//   HotCache     the newest written batches, in memory            (hot_cache.h)
//   LogReader    scans: hot cache, then cold reads from disk      (reader.h)
//   recover()    the scan of the folder at open                   (recovery.h)
//
// Positions (positions.h): durable <= written <= staged. A record becomes
// visible to readers (and goes through the durable hook) once written,
// which under --fsync always means durable.
//
// After a failed write or fdatasync the log is failed for good: every later
// append is refused with the original error. Reads of written data go on.
// Used from the shard's thread only.
#pragma once

#include <functional>
#include <memory>

#include "engine/common/limits.h"
#include "engine/common/status.h"
#include "engine/io/disk.h"
#include "engine/log/commit.h"
#include "engine/log/hot_cache.h"
#include "engine/log/log_options.h"
#include "engine/log/reader.h"
#include "engine/log/record.h"
#include "engine/log/recovery.h"
#include "engine/log/segment_set.h"

namespace redcar::log {

class Log {
 public:
  using DurableHook = GroupCommit::DurableHook;
  using Waiter = GroupCommit::Waiter;
  using Visitor = RecordVisitor;

  Log(io::Disk& disk, runtime::Reactor& reactor, LogOptions options);
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  // Scans every segment, passing each valid record to `apply` in log order,
  // and repairs a torn tail. Refuses (kCorruption, naming the file and
  // offset) on damage it may not repair, unless options.repair.
  Status open(const DurableHook& apply, RecoveryReport* report);

  // Called for each record, in order, once it is written (durable under
  // --fsync always); the shard applies it to its in-memory state exactly as
  // recovery does.
  void set_durable_hook(DurableHook hook) { commit_.set_durable_hook(std::move(hook)); }
  // Called after each written batch has gone through the durable hook,
  // before its waiters are answered.
  void set_batch_hook(std::function<void()> hook) { commit_.set_batch_hook(std::move(hook)); }

  // Adds a record to the current batch. Returns its log offset, or an error
  // (kNoSpace when no new segment could be made, kUnavailable when failed).
  Result<uint64_t> stage(const RecordHeader& h, std::string_view name, std::string_view body);
  // The same with a body of `body_bytes` that write_body(uint8_t* out)
  // writes in place, in the batch buffer: no copy of it on the way. It must
  // write exactly that many bytes and not call the log.
  template <typename WriteBody>
  Result<uint64_t> stage_with(const RecordHeader& h, std::string_view name, size_t body_bytes,
                              WriteBody&& write_body) {
    auto st = commit_.stage_begin(h, name, body_bytes);
    if (!st) return st.status();
    write_body(st->body);
    commit_.stage_finish(*st);
    return st->offset;
  }
  // Makes the next `bytes` of staged records land in one batch in one
  // segment (rolling to a new segment now if need be), so that a crash keeps
  // all of them or none. Fails (kNoSpace, ...) before anything is staged.
  Status reserve(size_t bytes) { return commit_.reserve(bytes); }
  // `done` runs once everything staged so far is written (durable under
  // --fsync always), or has failed.
  void when_durable(Waiter done) { commit_.when_durable(std::move(done)); }

  // Visits records from `from` (the offset of a record) in log order until
  // `visit` returns false or the written data ends; then done(status).
  void scan(uint64_t from, Visitor visit, LogReader::Done done) {
    reader_.scan(from, std::move(visit), std::move(done));
  }
  const LogReader& reader() const { return reader_; }

  // Finishes in-flight and staged flushes, then calls done.
  void drain(std::function<void()> done) { commit_.drain(std::move(done)); }
  // A transaction's commit mark (FORMAT.md, Transactions; `decision`: the
  // deciding shard's, for a transaction that wrote on several), in a batch
  // written durable whatever --fsync says.
  Result<uint64_t> stage_commit_mark(uint64_t txn, bool decision);
  // Provisional batches of a transaction (GroupCommit::begin_txn); begin
  // only when nothing is staged or in flight (after drain()).
  void begin_txn(uint64_t txn) { commit_.begin_txn(txn); }
  // Whether it staged anything; the caller then stages its commit mark.
  bool end_txn() { return commit_.end_txn(); }
  uint64_t txn() const { return commit_.txn(); }
  // The open batch goes out durable whatever --fsync says; and everything
  // written so far made durable now (GroupCommit).
  void require_sync() { commit_.require_sync(); }
  Status sync_now() { return commit_.sync_now(); }
  // Fails the log for good with `why`, as a failed write does.
  void refuse_appends(Status why) { commit_.fail(std::move(why)); }
  // Refuses appends from now on, finishes what is staged and in flight,
  // makes it durable (whatever the fsync mode) and writes a close batch
  // (FORMAT.md), so that the next open need not search the tail for torn
  // flushes nor check the spare segment; then calls done. Nothing may be
  // staged after it.
  void close(std::function<void()> done) { commit_.close(std::move(done)); }

  const LogPositions& positions() const { return commit_.positions(); }
  uint64_t durable_end() const { return commit_.positions().durable; }
  uint64_t written_end() const { return commit_.positions().written; }
  uint64_t staged_end() const { return commit_.positions().staged; }
  const Status& failure() const { return commit_.failure(); }
  uint64_t segment_count() const { return segments_.count(); }
  uint64_t first_offset() const { return segments_.first_offset(); }
  uint64_t flushes() const { return commit_.flushes(); }
  uint64_t flushes_in_flight() const { return commit_.flushes_in_flight(); }
  uint64_t segment_bytes() const { return segments_.segment_bytes(); }
  uint64_t active_first() const { return segments_.active_first(); }
  // Waits for the helper thread that prepares the next segment (it uses the
  // disk, which must outlive it).
  void wait_prepare() { segments_.wait_prepare(); }
  // Removes every whole segment below `log_offset` (never the active one).
  Status remove_segments_below(uint64_t log_offset);

 private:
  LogOptions opt_;
  SegmentSet segments_;
  HotCache hot_;
  GroupCommit commit_;
  LogReader reader_;
};

}  // namespace redcar::log
