// Consumer groups (XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM,
// and the native API's groups): each event of a stream goes to one member
// of a group, stays pending until acknowledged, and can be claimed by
// another member after a timeout.
//
// Group records change state that the next group read must see at once
// (two readers must not get the same entry), so they are applied when
// staged (group_apply.h), and replies wait until the record is written. A
// crash before that may redeliver: at least once. Operations that read the
// stream first run one at a time per group, so that two readers never take
// the same entry. Runs on the shard's thread.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/common/callback.h"
#include "engine/common/group_read_lent.h"
#include "engine/log/log.h"
#include "engine/shard/record_bodies.h"
#include "engine/shard/retention.h"
#include "engine/shard/stream_reader.h"
#include "engine/shard/stream_table.h"
#include "runtime/reactor.h"
#include "runtime/task.h"

namespace redcar::shard {

class ConsumerGroups {
 public:
  ConsumerGroups(StreamTable& table, StreamReader& reader, Retention& retention, log::Log& log,
                 runtime::Reactor& reactor)
      : table_(table), reader_(reader), retention_(retention), log_(log), reactor_(reactor) {}

  // No group operation is running or waiting (a transaction's hold waits
  // for this before its writes start).
  bool idle() const { return busy_queues_ == 0; }

  // `last` = StreamId::max() means "$" (the stream's last ID).
  void create(const std::string& stream, const std::string& group, StreamId last, bool mkstream,
              std::optional<uint64_t> entries_read, Callback<bool> cb);
  void destroy(const std::string& stream, const std::string& group, Callback<bool> cb);
  void set_id(const std::string& stream, const std::string& group, StreamId last,
              std::optional<uint64_t> entries_read, Callback<bool> cb);
  void create_consumer(const std::string& stream, const std::string& group, const std::string& consumer,
                       Callback<bool> cb);
  void delete_consumer(const std::string& stream, const std::string& group, const std::string& consumer,
                       Callback<uint64_t> cb);
  void read(const std::string& stream, GroupReadOptions opt, Callback<std::vector<GroupEntry>> cb);
  // New entries lent to req->visit as they are read (group_read_lent.h).
  void read_lent(GroupReadLent* req, Callback<uint64_t> cb);
  void ack(const std::string& stream, const std::string& group, const std::vector<StreamId>& ids,
           Callback<uint64_t> cb);
  void pending_summary(const std::string& stream, const std::string& group, Callback<PendingSummary> cb);
  void pending(const std::string& stream, const PendingQuery& q, Callback<std::vector<PendingEntry>> cb);
  void claim(const std::string& stream, ClaimOptions opt, Callback<ClaimResult> cb);
  void consumers(const std::string& stream, const std::string& group, Callback<std::vector<ConsumerInfo>> cb);

 private:
  // Ends a serial operation; move-only, and small enough not to allocate.
  using Done = runtime::Function<void(), 16>;
  using Serial = runtime::Function<void(Done), 256>;
  // A group's operations, one at a time. Kept while the group exists, so
  // that a read does not make and drop a map entry each time; an idle
  // entry whose group is gone goes at its next done or at a sweep.
  struct Queue {
    std::string stream, group;
    bool busy = false;
    std::vector<Serial> waiting;  // rare: a vector, which costs nothing empty
  };

  GroupState* find(const std::string& stream, const std::string& group);
  // Stages a group record and applies it at once (see the top of the file).
  Status stage(log::RecordType type, const std::string& stream, uint64_t number, StreamId id, const GroupBody& body,
               std::optional<int64_t> ts_us = std::nullopt);
  // Runs fn(done) when no other queued operation of this group runs.
  void serial(const std::string& stream, const std::string& group, Serial fn);
  void start(Queue* q, Serial fn);
  void next(Queue* q);
  // Drops idle queues of groups that are gone, when there are many.
  void sweep_queues();
  // The same, with the group: fn(group, done, cb), or cb(kNoGroup) if the
  // group is gone by its turn.
  template <typename T, typename Fn>
  void with_group(const std::string& stream, const std::string& group, Callback<T> cb, Fn fn);
  // Answers true (or the stage's failure) once what is staged is written.
  void answer_written(Status staged, Callback<bool> cb);
  void create_at(const std::string& stream, const std::string& group, StreamId last, bool set_id,
                 Callback<bool> cb);

  // A read that failed on the disk finishes with its status, and delivers
  // nothing.
  using ReadFinish =
      runtime::Function<void(Status read, std::vector<EventRef> delivered, std::vector<GroupEntry> out), 256>;
  void read_history(const std::string& stream, const GroupState& g, const GroupReadOptions& opt, ReadFinish finish);
  void read_new(const std::string& stream, const GroupState& g, const GroupReadOptions& opt, ReadFinish finish);
  void finish_read(const std::string& stream, const GroupReadOptions& opt, std::vector<EventRef> delivered,
                   std::vector<GroupEntry> out, Callback<std::vector<GroupEntry>> cb);
  struct LentRead;
  void finish_lent(LentRead* lr, Status st);
  // Stages the delivery of `delivered` (taken and given back with its
  // capacity). Nothing delivered to a known consumer stages nothing: only
  // its last-seen time changes. *staged says whether a record was staged.
  Status stage_delivery(const std::string& stream, const GroupReadOptions& opt, std::vector<EventRef>& delivered,
                        bool* staged);

  void read_candidates(const std::string& stream, ClaimOptions opt, std::vector<EventRef> cand, ClaimResult result,
                       Done done, Callback<ClaimResult> cb);
  std::vector<EventRef> claim_candidates(const GroupState& g, const ClaimOptions& opt, ClaimResult* result) const;
  void claim_found(const std::string& stream, const ClaimOptions& opt, const std::vector<EventRef>& candidates,
                   const std::map<StreamId, Event>& found, ClaimResult result, Callback<ClaimResult> cb);

  StreamTable& table_;
  StreamReader& reader_;
  Retention& retention_;
  log::Log& log_;
  runtime::Reactor& reactor_;
  std::unordered_map<std::string, Queue> queues_;
  std::string queue_key_;         // serial()'s lookup key, reused
  // A lent read in flight: its place in the group's queue and its answer,
  // kept by the engine (in the caller's request the answer would hold the
  // reply that holds the request). Made once, reused.
  struct LentRead {
    GroupReadLent* req = nullptr;
    Done done;
    Callback<uint64_t> cb;
  };
  std::vector<std::unique_ptr<LentRead>> lent_reads_;
  std::vector<LentRead*> idle_lent_reads_;
  size_t sweep_queues_at_ = 64;   // queues_.size() that starts the next sweep
  size_t busy_queues_ = 0;
};

}  // namespace redcar::shard
