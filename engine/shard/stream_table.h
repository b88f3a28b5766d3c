// A shard's streams, by name, and the state machine that applies the log's
// stream records to them (event, stream-create, stream-delete, stream-trim,
// event-delete, stream-set-id). apply() runs for each record once it is
// written, and for each record at recovery, so readers see exactly what a
// crash could not take back. Consumer-group records are applied by
// group_apply.h, key-value records by the KvStore.
//
// Owned by one shard; every method runs on its thread.
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/log/record.h"
#include "engine/shard/stream_state.h"

namespace redcar::shard {

class StreamTable {
 public:
  // `live` is false at recovery.
  void apply(const log::RecordView& rec, uint64_t log_offset, bool live);

  // The stream's state for an operation. A stream whose staged deadline
  // has passed is expired here first (the on_expire hook stages its
  // delete), so a write that follows acts on a stream that is gone, as it
  // would after DEL. Readers still check visible(): the delete is not yet
  // durable.
  StreamState* find(std::string_view name) {
    StreamState* s = lookup(name);
    if (s && s->staged_deadline_ms != 0 && on_expire_ && staged_expired(*s)) on_expire_(*s);
    return s;
  }
  // The state as recorded, never expired here: for applying records.
  StreamState* lookup(std::string_view name) {
    if (last_ && last_->name == name) return last_;
    auto it = streams_.find(name);
    return it == streams_.end() ? nullptr : it->second.get();
  }
  const StreamState* peek(std::string_view name) const {
    auto it = streams_.find(name);
    return it == streams_.end() ? nullptr : it->second.get();
  }
  // The stream's state, made (empty) if it has none.
  StreamState& get(std::string_view name);
  // Names of the streams that exist (durable view) and start with `prefix`.
  void list(const std::string& prefix, std::vector<std::string>* out) const;
  size_t size() const { return streams_.size(); }
  template <typename F>
  void each(F&& f) const {
    for (const auto& [name, s] : streams_) f(*s);
  }

  // ---- deadlines (EXPIRE on a stream)
  //
  // Set once the log is open: recovery only applies what it reads.
  void set_on_expire(std::function<void(StreamState&)> f) { on_expire_ = std::move(f); }
  // Notes a stream's new staged deadline, for the timer.
  void note_deadline(const StreamState& s);
  int64_t next_deadline() const { return deadlines_.empty() ? INT64_MAX : deadlines_.begin()->first; }
  // Expires every stream whose deadline is at or before `now_ms`.
  void expire_due(int64_t now_ms);

 private:
  void apply_event(const log::RecordView& rec, uint64_t log_offset, bool live);
  void apply_delete(const log::RecordView& rec, uint64_t log_offset, bool live);
  void apply_trim(const log::RecordView& rec);
  void apply_event_delete(const log::RecordView& rec);
  void apply_set_id(const log::RecordView& rec, bool live);
  void apply_config(const log::RecordView& rec, bool live);
  static bool staged_expired(const StreamState& s);

  NameMap<std::unique_ptr<StreamState>> streams_;
  // get()'s last answer, for runs of events of one stream; forgotten when a
  // stream's state is replaced (a delete).
  StreamState* last_ = nullptr;
  std::function<void(StreamState&)> on_expire_;
  // Staged deadlines in order. An entry may be stale (the deadline since
  // moved, or the stream deleted): expire_due() checks the stream's own.
  std::set<std::pair<int64_t, std::string>> deadlines_;
};

}  // namespace redcar::shard
