#include "engine/shard/stream_table.h"

#include <algorithm>

#include "engine/common/assert.h"
#include "engine/common/clock.h"
#include "engine/shard/record_bodies.h"

namespace redcar::shard {

using log::RecordType;

uint64_t StreamState::live_bytes() const {
  if (index.empty()) return total_bytes;
  // Block granularity: the bytes before the block holding `first`.
  size_t k = first > index_base ? (first - index_base) / limits::kIndexStride : 0;
  k = std::min(k, index.size() - 1);
  return total_bytes - index[k].bytes_before;
}

uint64_t StreamState::index_pos_for(uint64_t number) const {
  REDCAR_CHECK(!index.empty());
  if (number < index_base) return index.front().pos;
  size_t k = std::min<size_t>((number - index_base) / limits::kIndexStride, index.size() - 1);
  return index[k].pos;
}

bool StreamState::visible() const { return exists && (deadline_ms == 0 || visible(now_ms())); }

StreamState& StreamTable::get(std::string_view name) {
  if (last_ && last_->name == name) return *last_;
  auto it = streams_.find(name);
  if (it == streams_.end()) it = streams_.emplace(std::string(name), nullptr).first;
  auto& p = it->second;
  if (!p) {
    p = std::make_unique<StreamState>();
    p->name = std::string(name);
  }
  last_ = p.get();
  return *p;
}

void StreamTable::list(const std::string& prefix, std::vector<std::string>* out) const {
  const int64_t now = now_ms();
  for (auto& [name, s] : streams_) {
    if (s->visible(now) && name.compare(0, prefix.size(), prefix) == 0) out->push_back(name);
  }
}

void StreamTable::apply(const log::RecordView& rec, uint64_t log_offset, bool live) {
  switch (rec.header.type) {
    case RecordType::kEvent: return apply_event(rec, log_offset, live);
    case RecordType::kStreamCreate: {
      StreamState& s = get(rec.name);
      if (!s.exists) s.created_us = rec.header.timestamp_us;
      s.exists = s.staged_exists = true;
      return;
    }
    case RecordType::kStreamDelete: return apply_delete(rec, log_offset, live);
    case RecordType::kStreamTrim: return apply_trim(rec);
    case RecordType::kEventDelete: return apply_event_delete(rec);
    case RecordType::kStreamSetId: return apply_set_id(rec, live);
    case RecordType::kStreamConfig: return apply_config(rec, live);
    default: REDCAR_CHECK(false && "not a stream record");
  }
}

void StreamTable::apply_event(const log::RecordView& rec, uint64_t log_offset, bool live) {
  StreamState& s = get(rec.name);
  if (!s.exists) {
    s.exists = true;
    s.created_us = rec.header.timestamp_us;
  }
  uint64_t n = rec.header.number;
  // Live events arrive in the order they were numbered.
  REDCAR_CHECK(n >= s.next || !live);
  // Only at recovery, after a trim that ran ahead, can n skip: follow the log.
  s.next = n;
  if (s.index.empty()) {
    s.index_base = n - n % limits::kIndexStride;
    // Older events were reclaimed with their segments.
    if (!live && n > s.first) s.first = n;
  }
  if (n % limits::kIndexStride == 0 || s.index.empty()) {
    // The first entry may sit mid-block (a stream trimmed or set later);
    // lookups round down and scan forward, so any earlier position works.
    while (s.index_base + s.index.size() * limits::kIndexStride <= n) {
      s.index.push_back({log_offset, {rec.header.id_ms, rec.header.id_seq}, rec.header.timestamp_us, s.total_bytes});
    }
  }
  s.next = n + 1;
  s.last_id = {rec.header.id_ms, rec.header.id_seq};
  if (!live) {
    s.staged_next = s.next;
    s.staged_last_id = std::max(s.staged_last_id, s.last_id);
  }
  s.staged_exists = true;
  s.entries_added++;
  s.total_bytes += rec.length;
  s.last_timestamp_us = rec.header.timestamp_us;
  // Live appends put their ids in the window when staged; recovery puts
  // them back from the log.
  std::string_view idem;
  if (!live && event_idempotency_id(rec.body, &idem) && !idem.empty()) {
    if (!s.idempotency) s.idempotency = std::make_unique<IdempotencyWindow>();
    s.idempotency->insert(idem, n);
  }
}

void StreamTable::apply_delete(const log::RecordView& rec, uint64_t log_offset, bool live) {
  auto it = streams_.find(rec.name);
  if (it == streams_.end()) return;
  StreamState& old = *it->second;
  auto fresh = std::make_unique<StreamState>();
  fresh->name = std::string(rec.name);
  fresh->incarnation_offset = log_offset;
  if (live) {
    // Staged appends that follow the delete already counted from zero (and
    // their ids are all the window holds: it was emptied then).
    fresh->staged_next = old.staged_next;
    fresh->staged_last_id = old.staged_last_id;
    fresh->staged_exists = old.staged_exists;
    fresh->idempotency = std::move(old.idempotency);
    // So do group records staged after it (a group made again at once),
    // and a deadline set since.
    fresh->groups = std::move(old.groups);
    fresh->staged_deadline_ms = old.staged_deadline_ms;
  }
  last_ = nullptr;
  it->second = std::move(fresh);
}

void StreamTable::apply_trim(const log::RecordView& rec) {
  StreamState* s = lookup(rec.name);
  if (!s) return;
  uint64_t first = std::min(rec.header.number, s->next);
  if (first <= s->first) return;
  s->first = first;
  s->deleted.erase(s->deleted.begin(), s->deleted.lower_bound(first));
  // Keep the index entry of the block that holds `first`.
  uint64_t keep_from = first - first % limits::kIndexStride;
  if (keep_from > s->index_base && !s->index.empty()) {
    size_t drop = std::min<size_t>((keep_from - s->index_base) / limits::kIndexStride, s->index.size() - 1);
    s->index.erase(s->index.begin(), s->index.begin() + static_cast<ptrdiff_t>(drop));
    s->index_base += drop * limits::kIndexStride;
  }
}

void StreamTable::apply_event_delete(const log::RecordView& rec) {
  StreamState* s = lookup(rec.name);
  if (!s) return;
  log::BodyReader r(rec.body);
  std::vector<EventRef> refs;
  // A body that stops early still deletes what it names before that.
  (void)read_refs(r, &refs);
  for (const auto& ref : refs) {
    if (ref.number >= s->first && ref.number < s->next) s->deleted.insert(ref.number);
    s->max_deleted_id = std::max(s->max_deleted_id, ref.id);
  }
}

void StreamTable::apply_set_id(const log::RecordView& rec, bool live) {
  StreamState& s = get(rec.name);
  s.exists = s.staged_exists = true;
  if (rec.header.number > s.next) {
    // Re-stated after the events below were reclaimed: numbering goes on.
    s.next = s.first = rec.header.number;
    if (!live || s.staged_next < s.next) s.staged_next = s.next;
  }
  s.last_id = {rec.header.id_ms, rec.header.id_seq};
  if (!live || s.staged_last_id < s.last_id) s.staged_last_id = s.last_id;
  SetIdBody b;
  if (decode_set_id(rec.body, &b)) {
    s.entries_added = b.entries_added;
    s.max_deleted_id = b.max_deleted;
  }
}

void StreamTable::apply_config(const log::RecordView& rec, bool live) {
  StreamConfigBody b;
  // The checksum held: a body this version cannot read is from a newer one.
  if (!decode_stream_config(rec.body, &b)) return;
  StreamState& s = get(rec.name);
  s.deadline_ms = b.deadline_ms;
  if (!live) {
    // Live, the staged deadline was set when the record was staged.
    s.staged_deadline_ms = b.deadline_ms;
    note_deadline(s);
  }
}

bool StreamTable::staged_expired(const StreamState& s) {
  return s.staged_exists && s.staged_deadline_ms != 0 && s.staged_deadline_ms <= now_ms();
}

void StreamTable::note_deadline(const StreamState& s) {
  if (s.staged_deadline_ms != 0) deadlines_.emplace(s.staged_deadline_ms, s.name);
}

void StreamTable::expire_due(int64_t now_ms) {
  while (!deadlines_.empty() && deadlines_.begin()->first <= now_ms) {
    auto node = deadlines_.extract(deadlines_.begin());
    find(node.value().second);  // expires it if the deadline is still its own
  }
}

}  // namespace redcar::shard
