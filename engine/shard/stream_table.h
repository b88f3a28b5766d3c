// A shard's streams, by name, and the state machine that applies the log's
// stream records to them (event, stream-create, stream-delete, stream-trim,
// event-delete, stream-set-id). apply() runs for each record once it is
// written, and for each record at recovery, so readers see exactly what a
// crash could not take back. Consumer-group records are applied by
// group_apply.h, key-value records by the KvStore.
//
// Owned by one shard; every method runs on its thread.
#pragma once

#include <memory>
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

  StreamState* find(std::string_view name) {
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

 private:
  void apply_event(const log::RecordView& rec, uint64_t log_offset, bool live);
  void apply_delete(const log::RecordView& rec, uint64_t log_offset, bool live);
  void apply_trim(const log::RecordView& rec);
  void apply_event_delete(const log::RecordView& rec);
  void apply_set_id(const log::RecordView& rec, bool live);

  NameMap<std::unique_ptr<StreamState>> streams_;
  // get()'s last answer, for runs of events of one stream; forgotten when a
  // stream's state is replaced (a delete).
  StreamState* last_ = nullptr;
};

}  // namespace redcar::shard
