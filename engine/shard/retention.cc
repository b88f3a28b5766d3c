// The retention half of StreamStore: which segments still hold something
// live, and reclaiming the oldest ones that do not.
//
// A segment can go once every event in it is trimmed, or belongs to a
// deleted stream's earlier life. The other records it holds (stream IDs,
// XDELs, consumer groups) describe state that is still current, so before
// the segments are removed that state is re-stated at the head of the log
// as ordinary records — the log stays the only place anything is kept.
// Segments come off in order, oldest first, so the log stays contiguous.
//
// Key-value records are re-stated by KvStore::restate(): every version it
// still keeps (the history since compaction), in kv-restore records.
#include <algorithm>
#include <boost/asio/post.hpp>

#include "engine/shard/stream_store.h"

namespace redcar::shard {

using log::BodyWriter;
using log::RecordType;

void StreamStore::note_record(const log::RecordView& rec, uint64_t log_offset) {
  uint64_t seg = log_offset - log_offset % log_.segment_bytes();
  if (seg != last_usage_seg_) {
    last_usage_ = &usage_[seg];
    last_usage_seg_ = seg;
    last_usage_name_ = nullptr;
  }
  SegmentUsage& u = *last_usage_;
  switch (rec.header.type) {
    case RecordType::kEvent: {
      if (last_usage_name_ && *last_usage_name_ == rec.name) {
        *last_usage_max_ = std::max(*last_usage_max_, rec.header.number);
        break;
      }
      auto it = u.max_event.find(rec.name);
      if (it == u.max_event.end()) {
        it = u.max_event.emplace(std::string(rec.name), rec.header.number).first;
      } else {
        it->second = std::max(it->second, rec.header.number);
      }
      last_usage_name_ = &it->first;
      last_usage_max_ = &it->second;
      break;
    }
    case RecordType::kKvTxn:
    case RecordType::kKvCompact:
    case RecordType::kKvRestore:
      u.kv = true;
      break;
    case RecordType::kBatch:
      break;
    default:
      u.meta.emplace(rec.name);
      break;
  }
}

bool StreamStore::segment_live(uint64_t seg_first, const SegmentUsage& u) const {
  // Key-value records are re-stated by the key-value store itself.
  if (u.kv && !kv_restater_) return true;
  uint64_t seg_end = seg_first + log_.segment_bytes();
  for (const auto& [name, max_number] : u.max_event) {
    const StreamState* s = peek(name);
    if (!s) continue;
    if (s->incarnation_offset >= seg_end) continue;  // deleted after this segment
    // Deleted inside this segment: keep it (0 means never deleted).
    if (s->incarnation_offset != 0 && s->incarnation_offset >= seg_first) return true;
    if (s->exists && max_number >= s->first) return true;
  }
  return false;
}

void StreamStore::restate(const std::string& stream) {
  StreamState* s = find(stream);
  if (!s || !s->staged_exists) return;
  auto note = [&](Result<uint64_t> pos) {
    if (pos) usage_[*pos - *pos % log_.segment_bytes()].meta.insert(stream);
    return pos.is_ok();
  };
  std::string body;
  BodyWriter w(&body);
  w.varint(s->entries_added);
  w.varint(s->max_deleted_id.ms);
  w.varint(s->max_deleted_id.seq);
  if (!note(stage(RecordType::kStreamSetId, stream, s->staged_next, s->staged_last_id, body))) return;
  if (!s->deleted.empty()) {
    std::string del;
    BodyWriter dw(&del);
    dw.varint(s->deleted.size());
    for (uint64_t n : s->deleted) {
      dw.varint(n);
      dw.varint(0);
      dw.varint(0);
    }
    if (!note(stage(RecordType::kEventDelete, stream, 0, {}, del))) return;
  }
  for (const auto& [gname, g] : s->groups) {
    std::string gb;
    BodyWriter gw(&gb);
    gw.str(gname);
    if (!note(stage(RecordType::kGroupCreate, stream, g.cursor, g.last_delivered, gb))) return;
    for (const auto& [cname, c] : g.consumers) {
      std::string cb;
      BodyWriter cw(&cb);
      cw.str(gname);
      cw.str(cname);
      if (!note(stage(RecordType::kConsumerCreate, stream, 0, {}, cb, c.seen_ms * 1000))) return;
    }
    // One claim per pending entry keeps its consumer, delivery time and count.
    for (const auto& [id, p] : g.pel) {
      std::string pb;
      BodyWriter pw(&pb);
      pw.str(gname);
      pw.str(p.consumer);
      pw.varint(1);
      pw.varint(p.number);
      pw.varint(id.ms);
      pw.varint(id.seq);
      pw.varint(2);  // set the delivery count
      pw.varint(p.delivery_count);
      if (!note(stage(RecordType::kGroupClaim, stream, 0, {}, pb, p.delivered_ms * 1000))) return;
    }
  }
}

void StreamStore::reclaim(std::function<void(Status, uint64_t)> done) {
  if (reclaiming_) return done(Status::ok(), 0);
  std::vector<uint64_t> segs;
  std::set<std::string> affected;
  for (const auto& [seg, u] : usage_) {
    if (seg >= log_.active_first() || seg < log_.first_offset()) break;
    if (segment_live(seg, u)) break;
    segs.push_back(seg);
    for (const auto& [name, n] : u.max_event) affected.insert(name);
    affected.insert(u.meta.begin(), u.meta.end());
  }
  // Re-stating the key-value view costs its whole size: only worth it when
  // it frees several times that. Until then the key-value segments wait.
  auto has_kv = [this](uint64_t seg) { return usage_[seg].kv; };
  if (kv_restater_ && std::any_of(segs.begin(), segs.end(), has_kv) &&
      kv_restate_bytes_() * 4 > segs.size() * log_.segment_bytes()) {
    auto first_kv = std::find_if(segs.begin(), segs.end(), has_kv);
    segs.erase(first_kv, segs.end());
  }
  if (segs.empty()) return done(Status::ok(), 0);
  reclaiming_ = true;
  for (const auto& name : affected) restate(name);
  bool kv = std::any_of(segs.begin(), segs.end(), has_kv);
  if (kv) {
    if (Status st = kv_restater_(); !st) {
      reclaiming_ = false;
      return done(st, 0);
    }
  }
  uint64_t below = segs.back() + log_.segment_bytes();
  log_.when_durable([this, below, n = segs.size(), done = std::move(done)](const Status& st) {
    reclaiming_ = false;
    if (!st) return done(st, 0);
    Status rm = log_.remove_segments_below(below);
    usage_.erase(usage_.begin(), usage_.lower_bound(below));
    last_usage_seg_ = UINT64_MAX;
    last_usage_ = nullptr;
    last_usage_name_ = nullptr;
    done(rm, rm ? n : 0);
  });
}

}  // namespace redcar::shard
