#include "engine/shard/record_bodies.h"

#include "engine/common/assert.h"
#include "engine/common/clock.h"

namespace redcar::shard {

using log::BodyReader;
using log::BodyWriter;
using log::RecordType;

Result<uint64_t> stage_record(log::Log& log, RecordType type, std::string_view name, uint64_t number, StreamId id,
                              std::string_view body, std::optional<int64_t> ts_us) {
  log::RecordHeader h;
  h.type = type;
  h.number = number;
  h.id_ms = id.ms;
  h.id_seq = id.seq;
  h.timestamp_us = ts_us ? *ts_us : now_us();
  return log.stage(h, name, body);
}

// ------------------------------------------------------------------ events

size_t event_body_size(const EventData& e) {
  size_t n = log::str_size(e.type) + log::str_size(e.data) + log::varint_size(e.fields.size());
  for (const auto& f : e.fields) n += log::str_size(f.name) + log::str_size(f.value);
  return n + log::str_size(e.idempotency_id) + log::str_size(e.content_type);
}

void write_event_body(const EventData& e, uint8_t* out) {
  log::RawBodyWriter w(out);
  w.str(e.type);
  w.str(e.data);
  w.varint(e.fields.size());
  for (const auto& f : e.fields) {
    w.str(f.name);
    w.str(f.value);
  }
  w.str(e.idempotency_id);
  w.str(e.content_type);
  REDCAR_DCHECK(w.end() == out + event_body_size(e));
}

std::string encode_event_body(const EventData& e) {
  std::string body(event_body_size(e), '\0');
  write_event_body(e, reinterpret_cast<uint8_t*>(body.data()));
  return body;
}

namespace {

// The one reader of an event body's layout: the views of `body` into `e`
// (the header's part of `e` is left alone). False if the body does not parse.
bool view_event_body(std::string_view body, EventView* e) {
  BodyReader r(body);
  uint64_t nfields;
  if (!r.str(&e->type) || !r.str(&e->data) || !r.varint(&nfields) || nfields > body.size()) return false;
  // The fields are walked once here to find what follows them.
  std::string_view fields = body.substr(r.position());
  std::string_view skip;
  for (uint64_t i = 0; i < nfields; ++i) {
    if (!r.str(&skip) || !r.str(&skip)) return false;
  }
  if (!r.str(&e->idempotency_id) || !r.str(&e->content_type)) return false;
  e->fields = EventView::Fields(fields, nfields);
  return true;
}

}  // namespace

bool event_idempotency_id(std::string_view body, std::string_view* id) {
  EventView e;
  if (!view_event_body(body, &e)) return false;
  *id = e.idempotency_id;
  return true;
}

bool decode_event_body(std::string_view body, EventData* out) {
  EventView e;
  if (!view_event_body(body, &e)) return false;
  out->type.assign(e.type);
  out->data.assign(e.data);
  out->fields.clear();
  out->fields.reserve(e.fields.size());
  std::string_view k, v;
  while (e.fields.next(&k, &v)) out->fields.push_back({std::string(k), std::string(v)});
  out->idempotency_id.assign(e.idempotency_id);
  out->content_type.assign(e.content_type);
  return true;
}

Event make_event(const log::RecordView& rec) {
  Event e;
  e.stream.assign(rec.name);
  e.number = rec.header.number;
  e.id = {rec.header.id_ms, rec.header.id_seq};
  e.timestamp_us = rec.header.timestamp_us;
  bool ok = decode_event_body(rec.body, &e.payload);
  REDCAR_CHECK(ok);  // the record passed its checksum: a bad body is a writer bug
  return e;
}

EventView view_event(const log::RecordView& rec) {
  EventView e;
  e.stream = rec.name;
  e.number = rec.header.number;
  e.id = {rec.header.id_ms, rec.header.id_seq};
  e.timestamp_us = rec.header.timestamp_us;
  bool ok = view_event_body(rec.body, &e);
  REDCAR_CHECK(ok);  // as in make_event
  return e;
}

// ------------------------------------------------------------------ lists of events

void write_refs(BodyWriter& w, const std::vector<EventRef>& refs) {
  w.varint(refs.size());
  for (const auto& ref : refs) {
    w.varint(ref.number);
    w.varint(ref.id.ms);
    w.varint(ref.id.seq);
  }
}

bool read_refs(BodyReader& r, std::vector<EventRef>* refs) {
  uint64_t n;
  if (!r.varint(&n)) return false;
  refs->clear();
  for (uint64_t i = 0; i < n; ++i) {
    EventRef ref;
    if (!r.varint(&ref.number) || !r.varint(&ref.id.ms) || !r.varint(&ref.id.seq)) return false;
    refs->push_back(ref);
  }
  return true;
}

std::string encode_refs(const std::vector<EventRef>& refs) {
  std::string body;
  BodyWriter w(&body);
  write_refs(w, refs);
  return body;
}

// ------------------------------------------------------------------ stream-set-id

std::string encode_set_id(const SetIdBody& b) {
  std::string body;
  BodyWriter w(&body);
  w.varint(b.entries_added);
  w.varint(b.max_deleted.ms);
  w.varint(b.max_deleted.seq);
  return body;
}

bool decode_set_id(std::string_view body, SetIdBody* out) {
  BodyReader r(body);
  return r.varint(&out->entries_added) && r.varint(&out->max_deleted.ms) && r.varint(&out->max_deleted.seq);
}

// ------------------------------------------------------------------ stream-config

namespace {
enum ConfigTag : uint64_t { kTagDeadline = 1 };
}  // namespace

std::string encode_stream_config(const StreamConfigBody& b) {
  std::string body;
  BodyWriter w(&body);
  w.varint(b.deadline_ms ? 1 : 0);
  if (b.deadline_ms) {
    w.varint(kTagDeadline);
    w.varint(static_cast<uint64_t>(b.deadline_ms));
  }
  return body;
}

bool decode_stream_config(std::string_view body, StreamConfigBody* out) {
  BodyReader r(body);
  uint64_t count = 0;
  if (!r.varint(&count)) return false;
  *out = {};
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t tag = 0, value = 0;
    if (!r.varint(&tag) || !r.varint(&value)) return false;
    if (tag != kTagDeadline || value > static_cast<uint64_t>(INT64_MAX)) return false;
    out->deadline_ms = static_cast<int64_t>(value);
  }
  return r.done();
}

// ------------------------------------------------------------------ consumer groups

namespace {
bool has_consumer(RecordType t) {
  return t == RecordType::kConsumerCreate || t == RecordType::kConsumerDelete || t == RecordType::kGroupDeliver ||
         t == RecordType::kGroupClaim;
}
bool has_refs(RecordType t) {
  return t == RecordType::kGroupDeliver || t == RecordType::kGroupAck || t == RecordType::kGroupClaim;
}
bool has_flags(RecordType t) { return t == RecordType::kGroupDeliver || t == RecordType::kGroupClaim; }
}  // namespace

std::string encode_group_body(RecordType type, const GroupBody& b) {
  REDCAR_DCHECK(is_group_record(type));
  std::string body;
  BodyWriter w(&body);
  w.str(b.group);
  if (has_consumer(type)) w.str(b.consumer);
  if (has_refs(type)) write_refs(w, b.refs);
  if (has_flags(type)) w.varint(b.flags);
  if (type == RecordType::kGroupClaim) w.varint(b.count);
  return body;
}

bool decode_group_body(RecordType type, std::string_view body, GroupBody* out) {
  BodyReader r(body);
  if (!r.str(&out->group)) return false;
  if (has_consumer(type) && !r.str(&out->consumer)) return false;
  if (has_refs(type) && !read_refs(r, &out->refs)) return false;
  if (has_flags(type) && !r.varint(&out->flags)) return false;
  if (type == RecordType::kGroupClaim && !r.varint(&out->count)) return false;
  return true;
}

}  // namespace redcar::shard
