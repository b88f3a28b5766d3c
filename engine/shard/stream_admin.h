// The operations on a stream besides appends, reads and trims: describe it
// (XINFO, XLEN, the native Describe), delete it, delete some of its events
// (XDEL), move its last ID (XSETID), and give it a deadline (EXPIRE) or
// expire it once that passes. Each stages one record and answers once it
// is written. Runs on the shard's thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/common/callback.h"
#include "engine/log/log.h"
#include "engine/shard/record_bodies.h"
#include "engine/shard/stream_reader.h"
#include "engine/shard/stream_table.h"

namespace redcar::shard {

class StreamAdmin {
 public:
  StreamAdmin(StreamTable& table, StreamReader& reader, log::Log& log) : table_(table), reader_(reader), log_(log) {}

  void info(const std::string& stream, Callback<StreamInfo> cb);
  void delete_stream(const std::string& stream, Callback<bool> cb);
  void delete_events(const std::string& stream, std::vector<StreamId> ids, Callback<uint64_t> cb);
  void set_last_id(const std::string& stream, StreamId last, std::optional<uint64_t> entries_added,
                   std::optional<StreamId> max_deleted, Callback<bool> cb);
  // Sets or (at_ms 0) removes the deadline, with Redis's NX/XX/GT/LT;
  // false when the stream is not there or the option refuses.
  void expire(const std::string& stream, const KvExpire& e, Callback<bool> cb);
  // StreamTable's on_expire hook: stages the delete of an expired stream.
  void expire_now(StreamState& s);
  // This shard's visible streams per Redis database, those with deadlines
  // and their mean time left, and how many have expired since the start.
  KvExpiryStats expiry_stats() const;

 private:
  void stage_event_delete(const std::string& stream, std::vector<EventRef> found, Callback<uint64_t> cb);
  // Stages a stream-delete and forgets the staged state it ends.
  Status stage_delete(StreamState& s);

  StreamTable& table_;
  StreamReader& reader_;
  log::Log& log_;
  uint64_t expired_ = 0;  // streams deleted for having expired since the start
};

}  // namespace redcar::shard
