#include "engine/shard/retention.h"

#include <algorithm>

#include "engine/shard/record_bodies.h"

namespace redcar::shard {

using log::RecordType;

Retention::SegmentUsage& Retention::usage_of(uint64_t log_offset) {
  uint64_t seg = log_offset - log_offset % log_.segment_bytes();
  if (seg != last_seg_) {
    last_usage_ = &usage_[seg];
    last_seg_ = seg;
    last_name_ = nullptr;
  }
  return *last_usage_;
}

void Retention::note_meta(uint64_t log_offset, std::string_view stream) {
  SegmentUsage& u = usage_of(log_offset);
  if (!u.meta.count(std::string(stream))) u.meta.emplace(stream);
}

void Retention::note_record(const log::RecordView& rec, uint64_t log_offset) {
  SegmentUsage& u = usage_of(log_offset);
  switch (rec.header.type) {
    case RecordType::kEvent: {
      if (last_name_ && *last_name_ == rec.name) {
        *last_max_ = std::max(*last_max_, rec.header.number);
        return;
      }
      auto it = u.max_event.find(rec.name);
      if (it == u.max_event.end()) {
        it = u.max_event.emplace(std::string(rec.name), rec.header.number).first;
      } else {
        it->second = std::max(it->second, rec.header.number);
      }
      last_name_ = &it->first;
      last_max_ = &it->second;
      return;
    }
    case RecordType::kKvTxn:
    case RecordType::kKvCompact:
    case RecordType::kKvRestore: u.kv = true; return;
    case RecordType::kBatch: return;
    default: u.meta.emplace(rec.name); return;
  }
}

bool Retention::segment_live(uint64_t seg_first, const SegmentUsage& u) const {
  // Key-value records are re-stated by the key-value store itself.
  if (u.kv && !kv_restate_) return true;
  uint64_t seg_end = seg_first + log_.segment_bytes();
  for (const auto& [name, max_number] : u.max_event) {
    const StreamState* s = table_.peek(name);
    if (!s) continue;
    if (s->incarnation_offset >= seg_end) continue;  // deleted after this segment
    // Deleted inside this segment: keep it (0 means never deleted).
    if (s->incarnation_offset != 0 && s->incarnation_offset >= seg_first) return true;
    if (s->exists && max_number >= s->first) return true;
  }
  return false;
}

void Retention::restate(const std::string& stream) {
  StreamState* s = table_.find(stream);
  if (!s || !s->staged_exists) return;
  auto staged = [&](Result<uint64_t> pos) {
    if (pos) note_meta(*pos, stream);
    return pos.is_ok();
  };
  SetIdBody set_id{s->entries_added, s->max_deleted_id};
  if (!staged(stage_record(log_, RecordType::kStreamSetId, stream, s->staged_next, s->staged_last_id,
                           encode_set_id(set_id)))) {
    return;
  }
  if (!s->deleted.empty()) {
    std::vector<EventRef> refs;
    refs.reserve(s->deleted.size());
    for (uint64_t n : s->deleted) refs.push_back({n, {}});
    if (!staged(stage_record(log_, RecordType::kEventDelete, stream, 0, {}, encode_refs(refs)))) return;
  }
  if (s->staged_deadline_ms != 0 &&
      !staged(stage_record(log_, RecordType::kStreamConfig, stream, 0, {},
                           encode_stream_config({.deadline_ms = s->staged_deadline_ms})))) {
    return;
  }
  restate_groups(stream, *s);
}

void Retention::restate_groups(const std::string& stream, const StreamState& s) {
  auto staged = [&](Result<uint64_t> pos) {
    if (pos) note_meta(*pos, stream);
    return pos.is_ok();
  };
  for (const auto& [gname, g] : s.groups) {
    GroupBody gb{gname};
    if (!staged(stage_record(log_, RecordType::kGroupCreate, stream, g.cursor, g.last_delivered,
                             encode_group_body(RecordType::kGroupCreate, gb)))) {
      return;
    }
    for (const auto& [cname, c] : g.consumers) {
      GroupBody cb{gname, cname};
      if (!staged(stage_record(log_, RecordType::kConsumerCreate, stream, 0, {},
                               encode_group_body(RecordType::kConsumerCreate, cb), c.seen_ms * 1000))) {
        return;
      }
    }
    // One claim per pending entry keeps its consumer, delivery time and count.
    for (const auto& [id, p] : g.pel) {
      GroupBody pb{gname, p.consumer, {{p.number, id}}, group_flags::kClaimSetCount, p.delivery_count};
      if (!staged(stage_record(log_, RecordType::kGroupClaim, stream, 0, {},
                               encode_group_body(RecordType::kGroupClaim, pb), p.delivered_ms * 1000))) {
        return;
      }
    }
  }
}

std::vector<uint64_t> Retention::dead_segments(std::set<std::string>* affected) {
  std::vector<uint64_t> segs;
  for (const auto& [seg, u] : usage_) {
    if (seg >= log_.active_first() || seg < log_.first_offset()) break;
    if (segment_live(seg, u)) break;
    segs.push_back(seg);
    for (const auto& [name, n] : u.max_event) affected->insert(name);
    affected->insert(u.meta.begin(), u.meta.end());
  }
  // Re-stating the key-value view costs its whole size: only worth it when
  // it frees several times that. Until then the key-value segments wait.
  auto has_kv = [this](uint64_t seg) { return usage_[seg].kv; };
  if (kv_restate_ && std::any_of(segs.begin(), segs.end(), has_kv) &&
      kv_restate_bytes_() * 4 > segs.size() * log_.segment_bytes()) {
    segs.erase(std::find_if(segs.begin(), segs.end(), has_kv), segs.end());
  }
  return segs;
}

void Retention::reclaim(std::function<void(Status, uint64_t)> done) {
  if (reclaiming_) return done(Status::ok(), 0);
  std::set<std::string> affected;
  std::vector<uint64_t> segs = dead_segments(&affected);
  if (segs.empty()) return done(Status::ok(), 0);
  reclaiming_ = true;
  for (const auto& name : affected) restate(name);
  bool kv = std::any_of(segs.begin(), segs.end(), [this](uint64_t seg) { return usage_[seg].kv; });
  if (kv) {
    if (Status st = kv_restate_(); !st) {
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
    last_seg_ = UINT64_MAX;
    last_usage_ = nullptr;
    last_name_ = nullptr;
    done(rm, rm ? n : 0);
  });
}

}  // namespace redcar::shard
