#include "engine/shard/stream_store.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>

namespace redcar::shard {

using log::BodyReader;
using log::BodyWriter;
using log::RecordType;

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
int64_t now_ms() { return now_us() / 1000; }

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
}

std::string encode_event_body(const EventData& e) {
  std::string body(event_body_size(e), '\0');
  write_event_body(e, reinterpret_cast<uint8_t*>(body.data()));
  return body;
}

bool event_idempotency_id(std::string_view body, std::string_view* id) {
  BodyReader r(body);
  std::string_view skip;
  uint64_t nfields;
  if (!r.str(&skip) || !r.str(&skip) || !r.varint(&nfields) || nfields > body.size()) return false;
  for (uint64_t i = 0; i < nfields; ++i) {
    if (!r.str(&skip) || !r.str(&skip)) return false;
  }
  return r.str(id);
}

bool decode_event_body(std::string_view body, EventData* out) {
  BodyReader r(body);
  std::string_view type, data, idem, ct;
  uint64_t nfields;
  if (!r.str(&type) || !r.str(&data) || !r.varint(&nfields) || nfields > body.size()) return false;
  out->type.assign(type);
  out->data.assign(data);
  out->fields.clear();
  out->fields.reserve(nfields);
  for (uint64_t i = 0; i < nfields; ++i) {
    std::string_view k, v;
    if (!r.str(&k) || !r.str(&v)) return false;
    out->fields.push_back({std::string(k), std::string(v)});
  }
  if (!r.str(&idem) || !r.str(&ct)) return false;
  out->idempotency_id.assign(idem);
  out->content_type.assign(ct);
  return true;
}

namespace {

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

void encode_id_list(BodyWriter& w, const std::vector<std::pair<uint64_t, StreamId>>& items) {
  w.varint(items.size());
  for (auto& [n, id] : items) {
    w.varint(n);
    w.varint(id.ms);
    w.varint(id.seq);
  }
}

}  // namespace

uint64_t StreamState::live_bytes() const {
  if (index.empty()) return total_bytes;
  // Block granularity: the bytes before the block holding `first`.
  size_t k = first > index_base ? (first - index_base) / limits::kIndexStride : 0;
  k = std::min(k, index.size() - 1);
  return total_bytes - index[k].bytes_before;
}

StreamStore::~StreamStore() = default;

StreamState* StreamStore::find(std::string_view name) {
  auto it = streams_.find(name);
  return it == streams_.end() ? nullptr : it->second.get();
}

StreamState& StreamStore::get(std::string_view name) {
  if (last_stream_ && last_stream_->name == name) return *last_stream_;
  auto it = streams_.find(name);
  if (it == streams_.end()) it = streams_.emplace(std::string(name), nullptr).first;
  auto& p = it->second;
  if (!p) {
    p = std::make_unique<StreamState>();
    p->name = std::string(name);
  }
  last_stream_ = p.get();
  return *p;
}

Result<uint64_t> StreamStore::stage(RecordType type, const std::string& name, uint64_t number, StreamId id,
                                    std::string_view body, std::optional<int64_t> ts_us) {
  log::RecordHeader h;
  h.type = type;
  h.number = number;
  h.id_ms = id.ms;
  h.id_seq = id.seq;
  h.timestamp_us = ts_us ? *ts_us : now_us();
  return log_.stage(h, name, body);
}

void StreamStore::reply_when_durable(std::function<void(const Status&)> fn) { log_.when_durable(std::move(fn)); }

// ---------------------------------------------------------------- apply

void StreamStore::apply(const log::RecordView& rec, uint64_t log_offset, bool live) {
  // Live group records were noted when staged.
  if (!live || rec.header.type < RecordType::kGroupCreate) note_record(rec, log_offset);
  switch (rec.header.type) {
    case RecordType::kEvent: {
      StreamState& s = get(rec.name);
      if (!s.exists) {
        s.exists = true;
        s.created_us = rec.header.timestamp_us;
      }
      uint64_t n = rec.header.number;
      REDCAR_CHECK(n >= s.next || !live);
      if (n != s.next) {
        // Only at recovery, after a trim that ran ahead: follow the log.
        s.next = n;
      }
      if (s.index.empty()) {
        s.index_base = n - n % limits::kIndexStride;
        // Older events were reclaimed with their segments.
        if (!live && n > s.first && s.next <= n) s.first = n;
      }
      if (n % limits::kIndexStride == 0 || s.index.empty()) {
        // The first entry may sit mid-block (a stream trimmed or set later);
        // lookups round down and scan forward, so any earlier position works.
        while (s.index_base + s.index.size() * limits::kIndexStride <= n) {
          s.index.push_back({log_offset, {rec.header.id_ms, rec.header.id_seq}, rec.header.timestamp_us, s.total_bytes});
        }
      }
      s.next = n + 1;
      if (!live) s.staged_next = s.next;
      s.last_id = {rec.header.id_ms, rec.header.id_seq};
      if (!live) s.staged_last_id = std::max(s.staged_last_id, s.last_id);
      s.staged_exists = true;
      s.entries_added++;
      s.total_bytes += rec.length;
      s.last_timestamp_us = rec.header.timestamp_us;
      if (live && !s.subscribers.empty()) {
        if (std::find(touched_.begin(), touched_.end(), &s) == touched_.end()) {
          s.fresh.clear();
          touched_.push_back(&s);
        }
        s.fresh.push_back(std::make_shared<Event>(make_event(rec)));
      }
      // Live appends put their ids in the window when staged; recovery
      // puts them back from the log.
      std::string_view idem;
      if (!live && event_idempotency_id(rec.body, &idem) && !idem.empty()) {
        if (!s.idempotency) s.idempotency = std::make_unique<IdempotencyWindow>();
        s.idempotency->insert(idem, n);
      }
      break;
    }
    case RecordType::kStreamCreate: {
      StreamState& s = get(rec.name);
      if (!s.exists) s.created_us = rec.header.timestamp_us;
      s.exists = s.staged_exists = true;
      break;
    }
    case RecordType::kStreamDelete: {
      auto it = streams_.find(rec.name);
      if (it == streams_.end()) break;
      StreamState& s = *it->second;
      end_subscribers(s, Status(Code::kNotFound, "stream deleted"));
      // Staged appends that follow the delete already counted from zero
      // (and their ids are all the window holds: it was emptied then).
      uint64_t staged_next = s.staged_next;
      StreamId staged_last = s.staged_last_id;
      bool staged_exists = s.staged_exists;
      auto staged_idem = std::move(s.idempotency);
      last_stream_ = nullptr;
      it->second = std::make_unique<StreamState>();
      it->second->name = std::string(rec.name);
      it->second->incarnation_offset = log_offset;
      if (live) {
        it->second->staged_next = staged_next;
        it->second->staged_last_id = staged_last;
        it->second->staged_exists = staged_exists;
        it->second->idempotency = std::move(staged_idem);
      }
      break;
    }
    case RecordType::kStreamTrim: {
      StreamState* s = find(rec.name);
      if (!s) break;
      uint64_t first = std::min(rec.header.number, s->next);
      if (first <= s->first) break;
      s->first = first;
      s->deleted.erase(s->deleted.begin(), s->deleted.lower_bound(first));
      // Keep the index entry of the block that holds `first`.
      uint64_t keep_from = first - first % limits::kIndexStride;
      if (keep_from > s->index_base && !s->index.empty()) {
        size_t drop = std::min<size_t>((keep_from - s->index_base) / limits::kIndexStride, s->index.size() - 1);
        s->index.erase(s->index.begin(), s->index.begin() + static_cast<ptrdiff_t>(drop));
        s->index_base += drop * limits::kIndexStride;
      }
      break;
    }
    case RecordType::kEventDelete: {
      StreamState* s = find(rec.name);
      if (!s) break;
      BodyReader r(rec.body);
      uint64_t count = 0;
      if (!r.varint(&count)) break;
      for (uint64_t i = 0; i < count; ++i) {
        uint64_t n, ms, seq;
        if (!r.varint(&n) || !r.varint(&ms) || !r.varint(&seq)) break;
        if (n >= s->first && n < s->next) s->deleted.insert(n);
        s->max_deleted_id = std::max(s->max_deleted_id, StreamId{ms, seq});
      }
      break;
    }
    case RecordType::kStreamSetId: {
      StreamState& s = get(rec.name);
      s.exists = s.staged_exists = true;
      if (rec.header.number > s.next) {
        // Re-stated after the events below were reclaimed: numbering goes on.
        s.next = s.first = rec.header.number;
        if (!live || s.staged_next < s.next) s.staged_next = s.next;
      }
      s.last_id = {rec.header.id_ms, rec.header.id_seq};
      if (!live || s.staged_last_id < s.last_id) s.staged_last_id = s.last_id;
      BodyReader r(rec.body);
      uint64_t added, dms, dseq;
      if (r.varint(&added) && r.varint(&dms) && r.varint(&dseq)) {
        s.entries_added = added;
        s.max_deleted_id = {dms, dseq};
      }
      break;
    }
    default:
      if (!live) apply_group_record(rec);  // live group records were applied when staged
      break;
  }
}

void StreamStore::after_batch() {
  auto touched = std::move(touched_);
  touched_.clear();
  for (StreamState* s : touched) {
    auto subs = s->subscribers;  // pump may unsubscribe
    for (auto& sub : subs) pump(sub);
  }
}

// ---------------------------------------------------------------- append

void StreamStore::append(std::string stream, std::vector<EventData> events, AppendOptions opt,
                         Callback<AppendResult> cb) {
  if (events.empty() || events.size() > limits::kMaxEventsPerAppend) {
    return cb(Status(Code::kInvalidArgument, "an append carries 1 to " +
                                                 std::to_string(limits::kMaxEventsPerAppend) + " events"));
  }
  if (stream.empty() || stream.size() > limits::kMaxNameBytes) {
    return cb(Status(Code::kInvalidArgument, "stream names are 1 to 1024 bytes"));
  }
  StreamState* existing = find(stream);
  bool exists = existing && existing->staged_exists;
  if (opt.no_create && !exists) {
    AppendResult r;
    r.skipped = true;
    return cb(std::move(r));
  }
  uint64_t next = exists ? existing->staged_next : (existing ? existing->staged_next : 0);
  // Idempotent retry: the first event's id names the whole append. Checked
  // before the expected version, which the original append has moved on.
  const std::string& idem = events.front().idempotency_id;
  if (!idem.empty() && existing && existing->idempotency) {
    if (std::optional<uint64_t> num = existing->idempotency->find(idem)) {
      AppendResult r;
      r.duplicate = true;
      r.first_number = *num;
      r.last_number = *num + events.size() - 1;
      // Answer only once the original is durable.
      return reply_when_durable([cb = std::move(cb), r](const Status& s) {
        if (!s) return cb(s);
        cb(r);
      });
    }
  }

  const ExpectedVersion& ev = opt.expected;
  auto actual = [&] { return exists && next > 0 ? std::to_string(next - 1) : std::string(exists ? "empty" : "no stream"); };
  bool ok = true;
  switch (ev.kind) {
    case ExpectedKind::kAny: break;
    case ExpectedKind::kNoStream: ok = !exists || next == 0; break;
    case ExpectedKind::kStreamExists: ok = exists; break;
    case ExpectedKind::kExact: ok = exists && next > 0 && next - 1 == ev.last_number; break;
  }
  if (!ok) {
    std::string want = ev.kind == ExpectedKind::kNoStream ? "no stream"
                       : ev.kind == ExpectedKind::kStreamExists ? "an existing stream"
                                                                : std::to_string(ev.last_number);
    int64_t last = exists && next > 0 ? static_cast<int64_t>(next - 1) : -1;
    return cb(Status(Code::kWrongExpectedVersion, "expected " + want + ", actual " + actual()).with_detail(last));
  }

  // IDs.
  StreamId last = existing ? existing->staged_last_id : StreamId{};
  StreamId first_id;
  int64_t ts = now_us();
  uint64_t ms_now = static_cast<uint64_t>(ts / 1000);
  switch (opt.id_mode) {
    case IdMode::kAuto:
      if (ms_now > last.ms) {
        first_id = {ms_now, 0};
      } else if (last.seq == UINT64_MAX) {
        first_id = {last.ms + 1, 0};
      } else {
        first_id = {last.ms, last.seq + 1};
      }
      break;
    case IdMode::kExplicit:
      if (opt.id.is_zero()) return cb(Status(Code::kInvalidArgument, "The ID specified in XADD must be greater than 0-0"));
      if (opt.id <= last) {
        return cb(Status(Code::kInvalidArgument,
                         "The ID specified in XADD is equal or smaller than the target stream top item"));
      }
      first_id = opt.id;
      break;
    case IdMode::kAutoSeq:
      if (opt.id.ms < last.ms) {
        return cb(Status(Code::kInvalidArgument,
                         "The ID specified in XADD is equal or smaller than the target stream top item"));
      }
      if (opt.id.ms == last.ms) {
        if (last.seq == UINT64_MAX) {
          return cb(Status(Code::kInvalidArgument,
                           "The ID specified in XADD is equal or smaller than the target stream top item"));
        }
        first_id = {last.ms, last.seq + 1};
      } else {
        first_id = {opt.id.ms, 0};
      }
      if (first_id.is_zero()) first_id.seq = 1;
      break;
  }
  if (events.size() > 1 && first_id.seq > UINT64_MAX - events.size()) {
    return cb(Status(Code::kInvalidArgument, "stream ID sequence overflow"));
  }

  // Every record's size is checked (as the log checks it) before any is
  // staged, so that an event too large refuses the whole append.
  size_t total = 0;
  for (const auto& ev : events) {
    size_t need = log::record_size(stream.size(), event_body_size(ev));
    if (need > limits::kMaxRecordBytes ||
        need + log::kSegmentHeaderBytes + log::kRecordHeaderBytes > log_.segment_bytes()) {
      return cb(Status(Code::kInvalidArgument, "an event of " + std::to_string(need) + " bytes is too large"));
    }
    total += need;
  }
  // All of the append goes into one batch: after a crash it is there whole
  // or not at all, and a full disk refuses it before any of it is staged.
  if (Status st = log_.reserve(total); !st) return cb(st);

  StreamState& s = get(stream);
  AppendResult r;
  r.first_number = s.staged_next;
  r.first_id = first_id;
  StreamId id = first_id;
  log::RecordHeader h;
  h.type = RecordType::kEvent;
  h.timestamp_us = ts;
  for (size_t i = 0; i < events.size(); ++i) {
    const EventData& ev = events[i];
    h.number = s.staged_next;
    h.id_ms = id.ms;
    h.id_seq = id.seq;
    // The body is written straight into the batch buffer.
    auto pos = log_.stage_with(h, stream, event_body_size(ev), [&ev](uint8_t* out) { write_event_body(ev, out); });
    // reserve() made room: staging cannot fail half way.
    REDCAR_CHECK(pos.is_ok());
    if (!ev.idempotency_id.empty()) {
      if (!s.idempotency) s.idempotency = std::make_unique<IdempotencyWindow>();
      s.idempotency->insert(ev.idempotency_id, s.staged_next);
    }
    r.last_number = s.staged_next;
    r.last_id = id;
    s.staged_next++;
    s.staged_last_id = id;
    s.staged_exists = true;
    id = {id.ms, id.seq + 1};
  }
  if (opt.trim.kind == TrimSpec::Kind::kNone) {
    return reply_when_durable([cb = std::move(cb), r](const Status& st) {
      if (!st) return cb(st);
      cb(r);
    });
  }
  // Trim after the append, as XADD ... MAXLEN does: the trim is staged
  // behind the events, so a crash can keep the events without the trim but
  // never the reverse.
  resolve_trim(stream, opt.trim, [this, stream, r, cb = std::move(cb)](Result<uint64_t> first) mutable {
    if (first && *first > 0) {
      auto st = stage_trim(stream, *first);
      if (!st) return cb(st.status());
    }
    reply_when_durable([cb = std::move(cb), r](const Status& st) {
      if (!st) return cb(st);
      cb(r);
    });
  });
}

// ---------------------------------------------------------------- reads

uint64_t StreamStore::index_pos_for(const StreamState& s, uint64_t number) const {
  REDCAR_CHECK(!s.index.empty());
  if (number < s.index_base) return s.index.front().pos;
  size_t k = std::min<size_t>((number - s.index_base) / limits::kIndexStride, s.index.size() - 1);
  return s.index[k].pos;
}

void StreamStore::read_numbers(const std::string& stream, uint64_t from, uint64_t to, uint64_t count,
                               EventsCallback cb) {
  StreamState* s = find(stream);
  if (!s || !s->exists || s->next == 0 || s->index.empty()) return cb(std::vector<Event>{});
  from = std::max(from, s->first);
  if (s->next == 0) return cb(std::vector<Event>{});
  to = std::min(to, s->next - 1);
  if (from > to || count == 0) return cb(std::vector<Event>{});
  uint64_t pos = index_pos_for(*s, from);
  // A position of an earlier incarnation would meet its delete record.
  if (s->resume_number == from && s->resume_pos > pos && s->resume_pos > s->incarnation_offset) pos = s->resume_pos;
  auto out = std::make_shared<std::vector<Event>>();
  // The visitor may outlive `s` (a cold read resumes later): look it up again.
  auto visit = [this, stream, from, to, count, out](const log::RecordView& rec, uint64_t offset) {
    if (rec.header.type == RecordType::kStreamDelete && rec.name == stream) return false;
    if (rec.header.type != RecordType::kEvent || rec.name != stream) return true;
    uint64_t n = rec.header.number;
    if (n < from) return true;
    if (n > to) return false;
    StreamState* st = find(stream);
    if (!st) return false;
    if (n < st->first || st->deleted.count(n)) return true;
    out->push_back(make_event(rec));
    if (out->size() < count) return true;
    // Events of a stream are in log order: n + 1, if it comes, is past n.
    // From n's own record, a position the scan knows how to start at (one
    // past it may be a gap before the next batch, which the hot cache does
    // not hold).
    st->resume_number = n + 1;
    st->resume_pos = offset;
    return false;
  };
  log_.scan(pos, visit, [out, cb = std::move(cb)](Status st) {
    if (!st) return cb(st);
    cb(std::move(*out));
  });
}

void StreamStore::read_ids(const std::string& stream, StreamId lo, StreamId hi, uint64_t count, bool reverse,
                           EventsCallback cb) {
  StreamState* s = find(stream);
  if (!s || !s->exists || s->index.empty() || lo > hi || count == 0) return cb(std::vector<Event>{});
  if (reverse) {
    // Walk index blocks backwards from the one holding `hi`.
    auto it = std::upper_bound(s->index.begin(), s->index.end(), hi,
                               [](const StreamId& v, const IndexEntry& e) { return v < e.id; });
    size_t k = it == s->index.begin() ? 0 : static_cast<size_t>(it - s->index.begin() - 1);
    uint64_t block_end = std::min(s->next, s->index_base + (k + 1) * limits::kIndexStride);
    return read_ids_reverse(stream, lo, hi, count, block_end, {}, std::move(cb));
  }
  auto it = std::upper_bound(s->index.begin(), s->index.end(), lo,
                             [](const StreamId& v, const IndexEntry& e) { return v < e.id; });
  size_t k = it == s->index.begin() ? 0 : static_cast<size_t>(it - s->index.begin() - 1);
  uint64_t from = std::max(s->first, s->index_base + k * limits::kIndexStride);
  auto out = std::make_shared<std::vector<Event>>();
  uint64_t limit_next = s->next;
  auto visit = [this, stream, lo, hi, count, from, limit_next, out](const log::RecordView& rec, uint64_t) {
    if (rec.header.type == RecordType::kStreamDelete && rec.name == stream) return false;
    if (rec.header.type != RecordType::kEvent || rec.name != stream) return true;
    uint64_t n = rec.header.number;
    if (n < from) return true;
    if (n >= limit_next) return false;
    StreamId id{rec.header.id_ms, rec.header.id_seq};
    if (id > hi) return false;
    if (id < lo) return true;
    StreamState* st = find(stream);
    if (!st) return false;
    if (n < st->first || st->deleted.count(n)) return true;
    out->push_back(make_event(rec));
    return out->size() < count;
  };
  log_.scan(index_pos_for(*s, from), visit, [out, cb = std::move(cb)](Status st) {
    if (!st) return cb(st);
    cb(std::move(*out));
  });
}

void StreamStore::read_ids_reverse(const std::string& stream, StreamId lo, StreamId hi, uint64_t count,
                                   uint64_t block_end, std::vector<Event> acc, EventsCallback cb) {
  StreamState* s = find(stream);
  if (!s || block_end == 0 || block_end <= s->first) return cb(std::move(acc));
  uint64_t block_start = block_end - 1 - (block_end - 1) % limits::kIndexStride;
  block_start = std::max(block_start, s->first);
  read_numbers(stream, block_start, block_end - 1, UINT64_MAX,
               [this, stream, lo, hi, count, block_start, acc = std::move(acc), cb = std::move(cb)](
                   Result<std::vector<Event>> got) mutable {
                 if (!got) return cb(got.status());
                 bool below = false;
                 for (auto it = got->rbegin(); it != got->rend(); ++it) {
                   if (it->id > hi) continue;
                   if (it->id < lo) {
                     below = true;
                     break;
                   }
                   acc.push_back(std::move(*it));
                   if (acc.size() >= count) return cb(std::move(acc));
                 }
                 if (below) return cb(std::move(acc));
                 read_ids_reverse(stream, lo, hi, count, block_start, std::move(acc), std::move(cb));
               });
}

void StreamStore::read(std::string stream, ReadSpec spec, Callback<ReadResult> cb) {
  StreamState* s = find(stream);
  ReadResult base;
  if (s && s->exists) {
    base.exists = true;
    base.next_number = s->next;
    base.last_id = s->last_id;
  }
  auto finish = [base, cb = std::move(cb)](Result<std::vector<Event>> evs) mutable {
    if (!evs) return cb(evs.status());
    base.events = std::move(*evs);
    cb(std::move(base));
  };
  if (!s || !s->exists) return finish(std::vector<Event>{});
  if (spec.by_id) return read_ids(stream, spec.from_id, spec.to_id, spec.count, spec.reverse, std::move(finish));
  if (!spec.reverse) return read_numbers(stream, spec.from_number, spec.to_number, spec.count, std::move(finish));
  // Backwards by number: read the last `count` numbers of the range.
  uint64_t to = s->next == 0 ? 0 : std::min(spec.to_number, s->next - 1);
  uint64_t from = std::max(spec.from_number, s->first);
  if (s->next == 0 || from > to) return finish(std::vector<Event>{});
  uint64_t want = spec.count;
  if (want == 0) return finish(std::vector<Event>{});
  // Read the window of the last `want` numbers; deleted events make it
  // short, so widen it (doubling) until it holds enough or reaches `from`.
  auto step = [this, stream, from, to, want](auto&& self, uint64_t span, auto finish) -> void {
    uint64_t start = to - from >= span ? to - span + 1 : from;
    read_numbers(stream, start, to, UINT64_MAX,
                 [self, span, start, from, want, finish](Result<std::vector<Event>> evs) mutable {
                   if (!evs) return finish(evs.status());
                   if (evs->size() < want && start > from) {
                     return self(self, span > UINT64_MAX / 2 ? UINT64_MAX : span * 2, std::move(finish));
                   }
                   std::reverse(evs->begin(), evs->end());
                   if (evs->size() > want) evs->resize(want);
                   finish(std::move(*evs));
                 });
  };
  step(step, want, std::move(finish));
}

void StreamStore::info(std::string stream, Callback<StreamInfo> cb) {
  StreamState* s = find(stream);
  StreamInfo info;
  info.name = stream;
  if (!s || !s->exists) return cb(std::move(info));
  info.exists = true;
  info.length = s->length();
  info.first_number = s->first;
  info.next_number = s->next;
  info.last_id = s->last_id;
  info.max_deleted_id = s->max_deleted_id;
  info.entries_added = s->entries_added;
  info.bytes = s->live_bytes();
  info.created_us = s->created_us;
  for (auto& [name, g] : s->groups) {
    GroupInfo gi;
    gi.name = name;
    gi.last_delivered = g.last_delivered;
    gi.entries_read = g.entries_read;
    gi.has_entries_read = g.entries_read_valid;
    gi.pending = g.pel.size();
    gi.consumers = g.consumers.size();
    gi.entries_read = g.cursor;
    if (s->deleted.empty() || g.last_delivered >= s->last_id) gi.lag = s->next >= g.cursor ? s->next - g.cursor : 0;
    info.groups.push_back(std::move(gi));
  }
  if (info.length == 0) return cb(std::move(info));
  // The first live event's ID needs a read (it may be past a deleted one).
  read_numbers(stream, s->first, UINT64_MAX, 1, [info, cb = std::move(cb)](Result<std::vector<Event>> evs) mutable {
    if (evs && !evs->empty()) info.first_id = evs->front().id;
    cb(std::move(info));
  });
}

void StreamStore::list(const std::string& prefix, std::vector<std::string>* out) const {
  for (auto& [name, s] : streams_) {
    if (s->exists && name.compare(0, prefix.size(), prefix) == 0) out->push_back(name);
  }
}

// ---------------------------------------------------------------- delete, trim

void StreamStore::delete_stream(std::string stream, Callback<bool> cb) {
  StreamState* s = find(stream);
  if (!s || !s->staged_exists) return cb(false);
  auto st = stage(RecordType::kStreamDelete, stream, 0, {}, {});
  if (!st) return cb(st.status());
  s->staged_next = 0;
  s->staged_last_id = {};
  s->staged_exists = false;
  s->idempotency.reset();
  s->groups.clear();  // groups are staged-visible state: gone with the stream
  reply_when_durable([cb = std::move(cb)](const Status& st) {
    if (!st) return cb(st);
    cb(true);
  });
}

void StreamStore::number_of_id(const std::string& stream, StreamId id, std::function<void(Result<uint64_t>)> cb) {
  StreamState* s = find(stream);
  if (!s || !s->exists) return cb(uint64_t{0});
  uint64_t next = s->next;
  read_ids(stream, id, StreamId::max(), 1, false, [next, cb = std::move(cb)](Result<std::vector<Event>> evs) {
    if (!evs) return cb(evs.status());
    cb(evs->empty() ? next : evs->front().number);
  });
}

void StreamStore::delete_events(std::string stream, std::vector<StreamId> ids, Callback<uint64_t> cb) {
  StreamState* s = find(stream);
  if (!s || !s->exists || ids.empty()) return cb(uint64_t{0});
  // Resolve each ID to a live event (an exact match), then stage one record.
  auto found = std::make_shared<std::vector<std::pair<uint64_t, StreamId>>>();
  auto remaining = std::make_shared<size_t>(ids.size());
  auto failed = std::make_shared<Status>();
  for (const StreamId& id : ids) {
    read_ids(stream, id, id, 1, false,
             [this, stream, found, remaining, failed, cb](Result<std::vector<Event>> evs) {
               if (!evs) *failed = evs.status();
               else if (!evs->empty()) found->push_back({evs->front().number, evs->front().id});
               if (--*remaining > 0) return;
               if (!failed->is_ok()) return cb(*failed);
               std::sort(found->begin(), found->end());
               found->erase(std::unique(found->begin(), found->end(),
                                        [](auto& a, auto& b) { return a.first == b.first; }),
                            found->end());
               if (found->empty()) return cb(uint64_t{0});
               std::string body;
               BodyWriter w(&body);
               encode_id_list(w, *found);
               auto st = stage(RecordType::kEventDelete, stream, 0, {}, body);
               if (!st) return cb(st.status());
               uint64_t n = found->size();
               reply_when_durable([cb, n](const Status& s) {
                 if (!s) return cb(s);
                 cb(n);
               });
             });
  }
}

void StreamStore::resolve_trim(const std::string& stream, const TrimSpec& spec,
                               std::function<void(Result<uint64_t>)> cb) {
  StreamState* s = find(stream);
  if (!s) return cb(uint64_t{0});
  // Trims are judged against the staged view (what the caller just added).
  uint64_t next = s->staged_next;
  uint64_t first = s->first;
  uint64_t target = first;
  auto round = [&](uint64_t t) {
    if (!spec.approximate) return t;
    return t - t % limits::kIndexStride;  // whole index blocks only
  };
  auto limit = [&](uint64_t t) {
    if (spec.limit > 0 && t > first + spec.limit) return first + spec.limit;
    return t;
  };
  switch (spec.kind) {
    case TrimSpec::Kind::kNone: return cb(first);
    case TrimSpec::Kind::kMaxCount: {
      // The count is of live events: deleted ones do not count.
      uint64_t live = next - first - s->deleted.size();
      if (live <= spec.value) return cb(first);
      uint64_t drop = live - spec.value;
      uint64_t t = first;
      auto it = s->deleted.begin();
      while (drop > 0) {
        if (it != s->deleted.end() && *it == t) {
          ++it;
        } else {
          --drop;
        }
        ++t;
      }
      target = std::max(first, round(limit(t)));
      return cb(target);
    }
    case TrimSpec::Kind::kMinId: {
      StreamId min_id = spec.min_id;
      number_of_id(stream, min_id, [this, stream, round, limit, cb = std::move(cb)](Result<uint64_t> n) {
        if (!n) return cb(n.status());
        StreamState* st = find(stream);
        if (!st) return cb(uint64_t{0});
        cb(std::max(st->first, round(limit(*n))));
      });
      return;
    }
    case TrimSpec::Kind::kMinNumber:
      return cb(std::max(first, round(limit(std::min(spec.value, next)))));
    case TrimSpec::Kind::kMaxAge: {
      int64_t cutoff = now_us() - static_cast<int64_t>(spec.value) * 1000;
      // Block granularity from the index: whole blocks older than the cutoff.
      uint64_t t = first;
      for (size_t k = 0; k + 1 < s->index.size(); ++k) {
        if (s->index[k + 1].timestamp_us <= cutoff) t = s->index_base + (k + 1) * limits::kIndexStride;
        else break;
      }
      if (!s->index.empty() && s->last_timestamp_us <= cutoff) t = std::max(t, s->next);  // everything is older
      return cb(std::max(first, limit(t)));
    }
    case TrimSpec::Kind::kMaxBytes: {
      uint64_t t = first;
      for (size_t k = 0; k < s->index.size(); ++k) {
        uint64_t block_first = s->index_base + k * limits::kIndexStride;
        if (block_first <= first) continue;
        if (s->total_bytes - s->index[k].bytes_before >= spec.value) t = block_first;
      }
      // t is the latest block start whose suffix still reaches the budget:
      // everything before it must go, and some of its block may stay over
      // the budget (the index knows sizes per block, not per event).
      if (s->live_bytes() <= spec.value) t = first;
      return cb(std::max(first, limit(t)));
    }
  }
  cb(target);
}

Result<uint64_t> StreamStore::stage_trim(const std::string& stream, uint64_t new_first) {
  StreamState* s = find(stream);
  if (!s || new_first <= s->first) return uint64_t{0};
  // Count what disappears: live events in [first, new_first).
  uint64_t upto = std::min(new_first, s->staged_next);
  auto d_end = s->deleted.lower_bound(upto);
  uint64_t removed = upto - s->first - static_cast<uint64_t>(std::distance(s->deleted.begin(), d_end));
  auto st = stage(RecordType::kStreamTrim, stream, upto, {}, {});
  if (!st) return st.status();
  return removed;
}

void StreamStore::trim(std::string stream, TrimSpec spec, Callback<uint64_t> cb) {
  resolve_trim(stream, spec, [this, stream, cb = std::move(cb)](Result<uint64_t> first) {
    if (!first) return cb(first.status());
    auto removed = stage_trim(stream, *first);
    if (!removed) return cb(removed.status());
    uint64_t n = *removed;
    if (n == 0) return cb(uint64_t{0});
    reply_when_durable([cb, n](const Status& s) {
      if (!s) return cb(s);
      cb(n);
    });
  });
}

void StreamStore::set_last_id(std::string stream, StreamId last, std::optional<uint64_t> entries_added,
                              std::optional<StreamId> max_deleted, Callback<bool> cb) {
  StreamState* s = find(stream);
  if (!s || !s->staged_exists) return cb(Status(Code::kNotFound, "no such key"));
  if (last < s->staged_last_id) {
    return cb(Status(Code::kInvalidArgument, "The ID specified in XSETID is smaller than the target stream top item"));
  }
  uint64_t added = entries_added.value_or(s->entries_added);
  if (entries_added && *entries_added < s->length()) {
    return cb(Status(Code::kInvalidArgument,
                     "The entries_added specified in XSETID is smaller than the target stream length"));
  }
  StreamId md = max_deleted.value_or(s->max_deleted_id);
  std::string body;
  BodyWriter w(&body);
  w.varint(added);
  w.varint(md.ms);
  w.varint(md.seq);
  auto st = stage(RecordType::kStreamSetId, stream, 0, last, body);
  if (!st) return cb(st.status());
  s->staged_last_id = last;
  reply_when_durable([cb = std::move(cb)](const Status& st) {
    if (!st) return cb(st);
    cb(true);
  });
}

// ---------------------------------------------------------------- subscriptions

void StreamSubscriber::detach() { store_->unsubscribe(this); }

void StreamStore::subscribe(std::shared_ptr<StreamSubscriber> sub) {
  StreamState& s = get(sub->stream_);
  switch (sub->opt_.from) {
    case SubscribeOptions::From::kStart: sub->cursor_ = s.first; break;
    case SubscribeOptions::From::kEnd: sub->cursor_ = s.next; break;
    case SubscribeOptions::From::kNumber: sub->cursor_ = sub->opt_.number; break;
  }
  sub->started_ = true;
  s.subscribers.push_back(sub);
  pump(sub);
}

void StreamStore::unsubscribe(StreamSubscriber* sub) {
  StreamState* s = find(sub->stream_);
  if (!s) return;
  auto& v = s->subscribers;
  v.erase(std::remove_if(v.begin(), v.end(), [sub](auto& p) { return p.get() == sub; }), v.end());
}

void StreamStore::end_subscribers(StreamState& s, const Status& why) {
  auto subs = std::move(s.subscribers);
  s.subscribers.clear();
  for (auto& sub : subs) sub->finish(why);
}

void StreamStore::close_all(const Status& why) {
  for (auto& [name, s] : streams_) end_subscribers(*s, why);
}

void StreamStore::pump(const std::shared_ptr<StreamSubscriber>& sub) {
  if (sub->done_ || sub->in_flight_ || sub->reading_) return;
  StreamState* s = find(sub->stream_);
  if (!s) return;
  if (sub->cursor_ < s->first) sub->cursor_ = s->first;  // trimmed away meanwhile
  if (sub->opt_.to && sub->cursor_ > *sub->opt_.to) {
    unsubscribe(sub.get());
    return sub->finish(Status::ok());
  }
  if (sub->cursor_ >= s->next) return;  // live: woken by after_batch()
  auto deliver = [this, sub](std::vector<EventPtr> evs) {
    if (sub->done_) return;
    if (sub->opt_.to) {
      while (!evs.empty() && evs.back()->number > *sub->opt_.to) evs.pop_back();
    }
    if (evs.empty()) {
      // Everything in range was deleted: move on.
      return pump(sub);
    }
    sub->cursor_ = evs.back()->number + 1;
    sub->in_flight_ = true;
    auto more = [sub, this] {
      boost::asio::post(sub->ctx_, [sub, this] {
        sub->in_flight_ = false;
        pump(sub);
      });
    };
    sub->handler_(std::move(evs), more);
  };
  // Live path: the subscriber is exactly at the start of the fresh events.
  if (!s->fresh.empty() && s->fresh.front()->number <= sub->cursor_ && s->fresh.back()->number >= sub->cursor_) {
    std::vector<EventPtr> evs;
    for (auto& e : s->fresh) {
      if (e->number >= sub->cursor_ && !s->deleted.count(e->number)) evs.push_back(e);
    }
    if (s->fresh.back()->number + 1 == s->next) {
      sub->cursor_ = s->fresh.back()->number + 1;
      if (evs.empty()) return;
      return deliver(std::move(evs));
    }
  }
  // Catch-up path: read back from the log (hot cache or disk).
  sub->reading_ = true;
  uint64_t from = sub->cursor_;
  uint64_t to = sub->opt_.to.value_or(UINT64_MAX);
  read_numbers(sub->stream_, from, to, limits::kSubscriberBatchEvents,
               [this, sub, deliver, from](Result<std::vector<Event>> evs) {
                 sub->reading_ = false;
                 if (sub->done_) return;
                 if (!evs) {
                   unsubscribe(sub.get());
                   return sub->finish(evs.status());
                 }
                 if (evs->empty()) {
                   // Nothing live in range (deleted or trimmed): skip ahead.
                   StreamState* s = find(sub->stream_);
                   if (s && s->next > from) sub->cursor_ = s->next;
                   return pump(sub);
                 }
                 std::vector<EventPtr> out;
                 out.reserve(evs->size());
                 for (auto& e : *evs) out.push_back(std::make_shared<Event>(std::move(e)));
                 deliver(std::move(out));
               });
}

}  // namespace redcar::shard
