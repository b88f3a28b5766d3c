// What a shard knows about each of its streams, in memory: numbering and
// IDs (a durable view and the staged view that runs ahead of it), the sparse
// index into the log, trims and deletions, the idempotency window, and the
// stream's consumer groups. Plain data: StreamTable applies the log's
// records to it, the operations read it. Owned by one shard.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/common/limits.h"
#include "engine/common/types.h"
#include "engine/shard/idempotency_window.h"

namespace redcar::shard {

// Lets maps keyed by std::string be searched with a std::string_view (a
// record's name) without making a string.
struct NameHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using NameMap = std::unordered_map<std::string, V, NameHash, std::equal_to<>>;

// One entry every limits::kIndexStride events.
struct IndexEntry {
  uint64_t pos;          // log offset of the event record
  StreamId id;
  int64_t timestamp_us;
  uint64_t bytes_before; // bytes appended to the stream before this event
};

struct PendingInfo {
  uint64_t number = 0;
  std::string consumer;
  int64_t delivered_ms = 0;
  uint64_t delivery_count = 0;
};

struct ConsumerState {
  int64_t seen_ms = 0;
  int64_t active_ms = -1;
  uint64_t pending = 0;
};

struct GroupState {
  StreamId last_delivered;
  uint64_t cursor = 0;  // number of the first event after last_delivered
  uint64_t entries_read = 0;
  bool entries_read_valid = true;
  std::map<StreamId, PendingInfo> pel;
  std::map<std::string, ConsumerState> consumers;
};

struct StreamState {
  std::string name;
  bool exists = false;        // durable view
  bool staged_exists = false;
  uint64_t first = 0;         // first live number
  uint64_t next = 0;          // next number (durable view)
  uint64_t staged_next = 0;
  StreamId last_id;
  StreamId staged_last_id;
  StreamId max_deleted_id;
  uint64_t entries_added = 0;
  uint64_t total_bytes = 0;   // bytes ever appended
  int64_t last_timestamp_us = 0;  // of the newest event
  int64_t created_us = 0;
  uint64_t index_base = 0;    // number of index[0]; a multiple of kIndexStride
  std::vector<IndexEntry> index;
  std::set<uint64_t> deleted;  // XDEL'd numbers in [first, next)
  // Where the last forward read by number stopped: event `resume_number`
  // lies after log offset `resume_pos`, so the read that goes on from it (a
  // reader's next page) starts there rather than at its index block's first
  // event, which it would read from disk again.
  uint64_t resume_number = UINT64_MAX;
  uint64_t resume_pos = 0;
  // The ids of the latest appends (staged ones included), made on the
  // first event that carries one.
  std::unique_ptr<IdempotencyWindow> idempotency;
  // Consumer groups are staged-visible state (see consumer_groups.h): they
  // change when a group record is staged.
  std::map<std::string, GroupState, std::less<>> groups;
  // Log offset of the delete record that started this incarnation: events
  // of the stream's earlier life sit below it.
  uint64_t incarnation_offset = 0;
  // When the stream expires (Unix ms; 0: never), in the durable view that
  // readers see and in the staged view that writes act on. From that
  // instant readers see no stream, and the next write, or the shard's
  // timer, stages its delete (StreamTable::find()).
  int64_t deadline_ms = 0;
  int64_t staged_deadline_ms = 0;

  uint64_t length() const { return next - first - deleted.size(); }
  // Live bytes, at index-block granularity.
  uint64_t live_bytes() const;
  // The log offset to start a scan for event `number` at (an indexed event
  // at or before it). The index must not be empty.
  uint64_t index_pos_for(uint64_t number) const;
  // Whether readers see the stream: it exists and has not expired.
  bool visible(int64_t now_ms) const { return exists && (deadline_ms == 0 || deadline_ms > now_ms); }
  bool visible() const;
  bool is_live(uint64_t number) const { return number >= first && number < next && !deleted.count(number); }
};

}  // namespace redcar::shard
