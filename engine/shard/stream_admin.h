// The operations on a stream besides appends, reads and trims: describe it
// (XINFO, XLEN, the native Describe), delete it, delete some of its events
// (XDEL), and move its last ID (XSETID). Each stages one record and answers
// once it is written. Runs on the shard's thread.
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

 private:
  void stage_event_delete(const std::string& stream, std::vector<EventRef> found, Callback<uint64_t> cb);

  StreamTable& table_;
  StreamReader& reader_;
  log::Log& log_;
};

}  // namespace redcar::shard
