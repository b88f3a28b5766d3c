// Reads of a shard's streams from its log: by event number or by Redis ID,
// forwards or backwards, through the sparse index (a scan starts at the
// indexed event at or before the first one wanted). Events trimmed, deleted
// or of a deleted stream's earlier life are skipped. Callbacks run on the
// shard's thread; a cold read answers later, after its I/O.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "engine/common/event_view.h"
#include "engine/common/callback.h"
#include "engine/log/log.h"
#include "engine/shard/stream_table.h"

namespace redcar::shard {

class StreamReader {
 public:
  using EventsCallback = runtime::Function<void(Result<std::vector<Event>>), kCallbackInlineBytes + 64>;
  using EventVisitor = runtime::Function<bool(const EventView&), kCallbackInlineBytes>;
  using ReadDone = runtime::Function<void(Status), kCallbackInlineBytes>;

  StreamReader(StreamTable& table, log::Log& log) : table_(table), log_(log) {}

  void read(const std::string& stream, const ReadSpec& spec, Callback<ReadResult> cb);
  // A forward read whose events are lent to `visit` on the shard's thread,
  // in order, until it returns false; then `done`. Nothing is copied.
  void read_views(const std::string& stream, const ReadSpec& spec, EventVisitor visit, ReadDone done);
  // Live events numbered [from, to] (at most `count`), in order.
  void read_numbers(const std::string& stream, uint64_t from, uint64_t to, uint64_t count, EventsCallback cb);
  // Live events with IDs in [lo, hi] (at most `count`), forwards or backwards.
  void read_ids(const std::string& stream, StreamId lo, StreamId hi, uint64_t count, bool reverse, EventsCallback cb);
  // The number of the first event whose ID is >= id (the next number if none).
  void number_of_id(const std::string& stream, StreamId id, Callback<uint64_t> cb);

 private:
  template <typename Sink>
  void scan_numbers(const std::string& stream, uint64_t from, uint64_t to, uint64_t count, Sink sink,
                    log::LogReader::Done done);
  template <typename Sink>
  void scan_ids(const std::string& stream, StreamId lo, StreamId hi, uint64_t count, Sink sink,
                log::LogReader::Done done);
  void read_numbers_reverse(const std::string& stream, uint64_t from, uint64_t to, uint64_t want, uint64_t span,
                            EventsCallback cb);
  void read_ids_reverse(const std::string& stream, StreamId lo, StreamId hi, uint64_t count, uint64_t block_end,
                        std::vector<Event> acc, EventsCallback cb);

  StreamTable& table_;
  log::Log& log_;
};

}  // namespace redcar::shard
