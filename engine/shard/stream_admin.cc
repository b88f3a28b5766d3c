#include "engine/shard/stream_admin.h"

#include <algorithm>
#include <memory>

#include "engine/common/clock.h"
#include "engine/shard/record_bodies.h"

namespace redcar::shard {

using log::RecordType;

namespace {

GroupInfo describe_group(const StreamState& s, const std::string& name, const GroupState& g) {
  GroupInfo gi;
  gi.name = name;
  gi.last_delivered = g.last_delivered;
  gi.has_entries_read = g.entries_read_valid;
  gi.pending = g.pel.size();
  gi.consumers = g.consumers.size();
  gi.entries_read = g.cursor;
  if (s.deleted.empty() || g.last_delivered >= s.last_id) gi.lag = s.next >= g.cursor ? s.next - g.cursor : 0;
  return gi;
}

}  // namespace

void StreamAdmin::info(const std::string& stream, Callback<StreamInfo> cb) {
  StreamState* s = table_.find(stream);
  StreamInfo info;
  info.name = stream;
  if (!s || !s->visible()) return cb(std::move(info));
  info.exists = true;
  info.deadline_ms = s->deadline_ms;
  info.length = s->length();
  info.first_number = s->first;
  info.next_number = s->next;
  info.last_id = s->last_id;
  info.max_deleted_id = s->max_deleted_id;
  info.entries_added = s->entries_added;
  info.bytes = s->live_bytes();
  info.created_us = s->created_us;
  for (auto& [name, g] : s->groups) info.groups.push_back(describe_group(*s, name, g));
  if (info.length == 0) return cb(std::move(info));
  // The first live event's ID needs a read (it may be past a deleted one).
  reader_.read_numbers(stream, s->first, UINT64_MAX, 1,
                       [info, cb = std::move(cb)](Result<std::vector<Event>> evs) mutable {
                         if (evs && !evs->empty()) info.first_id = evs->front().id;
                         cb(std::move(info));
                       });
}

void StreamAdmin::delete_stream(const std::string& stream, Callback<bool> cb) {
  StreamState* s = table_.find(stream);
  if (!s || !s->staged_exists) return cb(false);
  if (Status st = stage_delete(*s); !st) return cb(st);
  log_.when_durable([cb = std::move(cb)](const Status& st) {
    if (!st) return cb(st);
    cb(true);
  });
}

Status StreamAdmin::stage_delete(StreamState& s) {
  auto st = stage_record(log_, RecordType::kStreamDelete, s.name, 0, {}, {});
  if (!st) return st.status();
  s.staged_next = 0;
  s.staged_last_id = {};
  s.staged_exists = false;
  s.staged_deadline_ms = 0;
  s.idempotency.reset();
  s.groups.clear();  // groups are staged-visible state: gone with the stream
  return Status::ok();
}

void StreamAdmin::expire_now(StreamState& s) {
  // Nobody waits on it. Should staging fail (the log refuses writes), the
  // stream stays staged and invisible, and the write that found it fails
  // the same way; recovery expires it again.
  if (stage_delete(s)) expired_++;
}

void StreamAdmin::expire(const std::string& stream, const KvExpire& e, Callback<bool> cb) {
  StreamState* s = table_.find(stream);
  if (!s || !s->staged_exists) return cb(false);
  if (!e.applies_to(s->staged_deadline_ms)) return cb(false);
  auto answer = [this](Callback<bool> cb) {
    log_.when_durable([cb = std::move(cb)](const Status& st) {
      if (!st) return cb(st);
      cb(true);
    });
  };
  if (e.at_ms != 0 && e.at_ms <= now_ms()) {
    // A deadline in the past deletes the stream, as it deletes a key.
    if (Status st = stage_delete(*s); !st) return cb(st);
    return answer(std::move(cb));
  }
  auto st = stage_record(log_, RecordType::kStreamConfig, stream, 0, {},
                         encode_stream_config({.deadline_ms = e.at_ms}));
  if (!st) return cb(st.status());
  s->staged_deadline_ms = e.at_ms;
  table_.note_deadline(*s);
  answer(std::move(cb));
}

KvExpiryStats StreamAdmin::expiry_stats() const {
  KvExpiryStats st;
  std::vector<__int128> left;  // summed time left, per database
  const int64_t now = now_ms();
  table_.each([&](const StreamState& s) {
    if (!s.visible(now)) return;
    unsigned db = redis_database_of(s.name);
    if (st.databases.size() <= db) {
      st.databases.resize(db + 1);
      left.resize(db + 1);
    }
    st.databases[db].keys++;
    if (s.deadline_ms == 0) return;
    st.databases[db].expiring++;
    left[db] += s.deadline_ms - now;
  });
  for (size_t db = 0; db < st.databases.size(); ++db) {
    auto& d = st.databases[db];
    if (d.expiring) d.avg_ttl_ms = static_cast<int64_t>(left[db] / d.expiring);
  }
  st.expired = expired_;
  return st;
}

void StreamAdmin::delete_events(const std::string& stream, std::vector<StreamId> ids, Callback<uint64_t> cb) {
  StreamState* s = table_.find(stream);
  if (!s || !s->visible() || ids.empty()) return cb(uint64_t{0});
  // Resolve each ID to a live event (an exact match), then stage one record.
  struct Gather {
    std::vector<EventRef> found;
    size_t remaining;
    Status failed;
    Callback<uint64_t> cb;
  };
  auto g = std::make_shared<Gather>();
  g->remaining = ids.size();
  g->cb = std::move(cb);
  for (const StreamId& id : ids) {
    reader_.read_ids(stream, id, id, 1, false, [this, stream, g](Result<std::vector<Event>> evs) {
      if (!evs) g->failed = evs.status();
      else if (!evs->empty()) g->found.push_back({evs->front().number, evs->front().id});
      if (--g->remaining > 0) return;
      if (!g->failed.is_ok()) return g->cb(g->failed);
      stage_event_delete(stream, std::move(g->found), std::move(g->cb));
    });
  }
}

void StreamAdmin::stage_event_delete(const std::string& stream, std::vector<EventRef> found, Callback<uint64_t> cb) {
  std::sort(found.begin(), found.end(), [](const EventRef& a, const EventRef& b) { return a.number < b.number; });
  found.erase(std::unique(found.begin(), found.end(),
                          [](const EventRef& a, const EventRef& b) { return a.number == b.number; }),
              found.end());
  if (found.empty()) return cb(uint64_t{0});
  auto st = stage_record(log_, RecordType::kEventDelete, stream, 0, {}, encode_refs(found));
  if (!st) return cb(st.status());
  uint64_t n = found.size();
  log_.when_durable([cb = std::move(cb), n](const Status& s) {
    if (!s) return cb(s);
    cb(n);
  });
}

void StreamAdmin::set_last_id(const std::string& stream, StreamId last, std::optional<uint64_t> entries_added,
                              std::optional<StreamId> max_deleted, Callback<bool> cb) {
  StreamState* s = table_.find(stream);
  if (!s || !s->staged_exists) {
    return cb(Status(Code::kNotFound, Reason::kNoStream, "stream '" + stream + "' does not exist"));
  }
  if (last < s->staged_last_id) {
    return cb(Status(Code::kInvalidArgument, Reason::kLastIdBelowTop,
                     "the new last ID is below the stream's newest event"));
  }
  if (entries_added && *entries_added < s->length()) {
    return cb(Status(Code::kInvalidArgument, Reason::kEntriesAddedBelowLength,
                     "entries-added is smaller than the stream's length"));
  }
  SetIdBody body{entries_added.value_or(s->entries_added), max_deleted.value_or(s->max_deleted_id)};
  auto st = stage_record(log_, RecordType::kStreamSetId, stream, 0, last, encode_set_id(body));
  if (!st) return cb(st.status());
  s->staged_last_id = last;
  log_.when_durable([cb = std::move(cb)](const Status& st) {
    if (!st) return cb(st);
    cb(true);
  });
}

}  // namespace redcar::shard
