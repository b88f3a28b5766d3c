// Reclaiming disk: which segments of a shard's log still hold something
// live, and removing the oldest ones that do not.
//
// A segment can go once every event in it is trimmed, or belongs to a
// deleted stream's earlier life. The other records it holds (stream IDs,
// XDELs, consumer groups, key-value history) describe state that is still
// current, so before the segments are removed that state is re-stated at
// the head of the log as ordinary records: the log stays the only place
// anything is kept. Segments come off in order, oldest first, so the log
// stays contiguous. Runs on the shard's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "engine/log/log.h"
#include "engine/shard/stream_table.h"

namespace redcar::shard {

class Retention {
 public:
  Retention(StreamTable& table, log::Log& log) : table_(table), log_(log) {}

  // Notes what segment `log_offset` lies in holds: every record, as it is
  // written or recovered.
  void note_record(const log::RecordView& rec, uint64_t log_offset);
  // The same for a stream's non-event record, as it is staged.
  void note_meta(uint64_t log_offset, std::string_view stream);

  // The key-value view re-states its whole state with `restate`; `bytes`
  // estimates what that writes: reclaiming must free several times that.
  void set_kv_restater(std::function<Status()> restate, std::function<uint64_t()> bytes) {
    kv_restate_ = std::move(restate);
    kv_restate_bytes_ = std::move(bytes);
  }

  // Re-states what the oldest dead segments carry, then removes them once
  // that is written. done(status, segments removed).
  void reclaim(std::function<void(Status, uint64_t removed)> done);

 private:
  struct SegmentUsage {
    NameMap<uint64_t> max_event;  // stream -> highest event number here
    std::set<std::string> meta;   // streams with non-event records here
    bool kv = false;              // key-value records: re-stated by the key-value view
  };

  SegmentUsage& usage_of(uint64_t log_offset);
  bool segment_live(uint64_t seg_first, const SegmentUsage& u) const;
  // Dead segments, oldest first, and the streams whose state they carry.
  std::vector<uint64_t> dead_segments(std::set<std::string>* affected);
  // Stages the state of `stream` its old records carried.
  void restate(const std::string& stream);
  void restate_groups(const std::string& stream, const StreamState& s);

  StreamTable& table_;
  log::Log& log_;
  std::function<Status()> kv_restate_;
  std::function<uint64_t()> kv_restate_bytes_;
  std::map<uint64_t, SegmentUsage> usage_;
  bool reclaiming_ = false;
  // note_record()'s last answer: records come in runs of one stream in one
  // segment. Map nodes stay put until erased (reclaim() forgets these).
  uint64_t last_seg_ = UINT64_MAX;
  SegmentUsage* last_usage_ = nullptr;
  const std::string* last_name_ = nullptr;
  uint64_t* last_max_ = nullptr;
};

}  // namespace redcar::shard
