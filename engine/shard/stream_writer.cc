#include "engine/shard/stream_writer.h"

#include "engine/common/assert.h"
#include "engine/common/clock.h"
#include "engine/shard/record_bodies.h"

namespace redcar::shard {

namespace {
Status id_not_after_last() {
  return Status(Code::kInvalidArgument, Reason::kIdNotAfterLast, "the ID is not greater than the stream's last ID");
}
const std::vector<EventData>& events_of(const std::vector<EventData>& owned) { return owned; }
const std::vector<EventData>& events_of(const std::vector<EventData>* lent) { return *lent; }
}  // namespace

void StreamWriter::append(std::string stream, std::vector<EventData> events, AppendOptions opt,
                          Callback<AppendResult> cb) {
  append_any(std::move(stream), std::move(events), std::move(opt), std::move(cb));
}

void StreamWriter::append_lent(std::string stream, const std::vector<EventData>* events, AppendOptions opt,
                               Callback<AppendResult> cb) {
  append_any(std::move(stream), events, std::move(opt), std::move(cb));
}

template <typename Events>
void StreamWriter::append_any(std::string stream, Events held_events, AppendOptions opt, Callback<AppendResult> cb) {
  const std::vector<EventData>& events = events_of(held_events);
  if (events.empty() || events.size() > limits::kMaxEventsPerAppend) {
    return cb(Status(Code::kInvalidArgument, "an append carries 1 to " +
                                                 std::to_string(limits::kMaxEventsPerAppend) + " events"));
  }
  if (stream.empty() || stream.size() > limits::kMaxNameBytes) {
    return cb(Status(Code::kInvalidArgument, "stream names are 1 to " + std::to_string(limits::kMaxNameBytes) +
                                                 " bytes"));
  }
  StreamState* existing = table_.find(stream);
  bool exists = existing && existing->staged_exists;
  if (opt.no_create && !exists) {
    AppendResult r;
    r.skipped = true;
    return cb(std::move(r));
  }
  if (!exists && opt.refuse_over_key && key_probe_) {
    // A new stream may not take a name a key holds. Asked once; the append
    // then runs again from the top, since the stream may exist by now.
    opt.refuse_over_key = false;
    std::string name = stream;  // not `stream`: the task below takes it, maybe first
    return key_probe_(std::move(name), [this, stream = std::move(stream), held_events = std::move(held_events),
                                        opt = std::move(opt), cb = std::move(cb)](bool held) mutable {
      if (held) return cb(Status(Code::kWrongType, "a key of the key-value view holds the name '" + stream + "'"));
      append_any(std::move(stream), std::move(held_events), std::move(opt), std::move(cb));
    });
  }
  // Idempotent retry: the first event's id names the whole append. Checked
  // before the expected version, which the original append has moved on.
  if (answer_retry(existing, events, cb)) return;
  uint64_t next = existing ? existing->staged_next : 0;
  if (Status s = check_expected(opt.expected, exists, next); !s) return cb(std::move(s));
  int64_t ts = now_us();
  auto first = first_id(opt, existing ? existing->staged_last_id : StreamId{}, static_cast<uint64_t>(ts / 1000),
                        events.size());
  if (!first) return cb(first.status());
  size_t total = 0;
  if (Status s = check_sizes(stream, events, &total); !s) return cb(std::move(s));
  // All of the append goes into one batch: after a crash it is there whole
  // or not at all, and a full disk refuses it before any of it is staged.
  if (Status s = log_.reserve(total); !s) return cb(std::move(s));
  AppendResult r = stage_events(stream, events, *first, ts);
  answer_when_written(stream, opt.trim, r, std::move(cb));
}

Status StreamWriter::check_sizes(const std::string& stream, const std::vector<EventData>& events,
                                 size_t* total) const {
  // Every record's size is checked (as the log checks it) before any is
  // staged, so that an event too large refuses the whole append.
  for (const auto& ev : events) {
    size_t need = log::record_size(stream.size(), event_body_size(ev));
    if (need > limits::kMaxRecordBytes ||
        need + log::kSegmentHeaderBytes + log::kRecordHeaderBytes > log_.segment_bytes()) {
      return Status(Code::kInvalidArgument, Reason::kTooLarge,
                    "an event of " + std::to_string(need) + " bytes is too large");
    }
    *total += need;
  }
  return Status::ok();
}

bool StreamWriter::answer_retry(const StreamState* s, const std::vector<EventData>& events,
                                Callback<AppendResult>& cb) {
  const std::string& idem = events.front().idempotency_id;
  if (idem.empty() || !s || !s->idempotency) return false;
  std::optional<uint64_t> num = s->idempotency->find(idem);
  if (!num) return false;
  AppendResult r;
  r.duplicate = true;
  r.first_number = *num;
  r.last_number = *num + events.size() - 1;
  // Answer only once the original is written.
  log_.when_durable([cb = std::move(cb), r](const Status& st) {
    if (!st) return cb(st);
    cb(r);
  });
  return true;
}

Status StreamWriter::check_expected(const ExpectedVersion& ev, bool exists, uint64_t next) {
  bool ok = true;
  switch (ev.kind) {
    case ExpectedKind::kAny: break;
    case ExpectedKind::kNoStream: ok = !exists || next == 0; break;
    case ExpectedKind::kStreamExists: ok = exists; break;
    case ExpectedKind::kExact: ok = exists && next > 0 && next - 1 == ev.last_number; break;
  }
  if (ok) return Status::ok();
  std::string want = ev.kind == ExpectedKind::kNoStream       ? "no stream"
                     : ev.kind == ExpectedKind::kStreamExists ? "an existing stream"
                                                              : std::to_string(ev.last_number);
  std::string actual = exists && next > 0 ? std::to_string(next - 1) : exists ? "empty" : "no stream";
  int64_t last = exists && next > 0 ? static_cast<int64_t>(next - 1) : -1;
  return Status(Code::kWrongExpectedVersion, "expected " + want + ", actual " + actual).with_detail(last);
}

Result<StreamId> StreamWriter::first_id(const AppendOptions& opt, StreamId last, uint64_t ms_now, size_t count) {
  StreamId first;
  switch (opt.id_mode) {
    case IdMode::kAuto:
      if (ms_now > last.ms) {
        first = {ms_now, 0};
      } else if (last.seq == UINT64_MAX) {
        first = {last.ms + 1, 0};
      } else {
        first = {last.ms, last.seq + 1};
      }
      break;
    case IdMode::kExplicit:
      if (opt.id.is_zero()) return Status(Code::kInvalidArgument, Reason::kIdZero, "the ID must be greater than 0-0");
      if (opt.id <= last) return id_not_after_last();
      first = opt.id;
      break;
    case IdMode::kAutoSeq:
      if (opt.id.ms < last.ms) return id_not_after_last();
      if (opt.id.ms == last.ms) {
        if (last.seq == UINT64_MAX) return id_not_after_last();
        first = {last.ms, last.seq + 1};
      } else {
        first = {opt.id.ms, 0};
      }
      if (first.is_zero()) first.seq = 1;
      break;
  }
  if (count > 1 && first.seq > UINT64_MAX - count) {
    return Status(Code::kInvalidArgument, Reason::kIdOverflow, "stream ID sequence overflow");
  }
  return first;
}

AppendResult StreamWriter::stage_events(const std::string& stream, const std::vector<EventData>& events,
                                        StreamId first, int64_t ts_us) {
  StreamState& s = table_.get(stream);
  AppendResult r;
  r.first_number = s.staged_next;
  r.first_id = first;
  StreamId id = first;
  log::RecordHeader h;
  h.type = log::RecordType::kEvent;
  h.timestamp_us = ts_us;
  for (const EventData& ev : events) {
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
  return r;
}

void StreamWriter::answer_when_written(const std::string& stream, const TrimSpec& trim, AppendResult r,
                                       Callback<AppendResult> cb) {
  auto answer = [this, r](Callback<AppendResult> cb) {
    log_.when_durable([cb = std::move(cb), r](const Status& st) {
      if (!st) return cb(st);
      cb(r);
    });
  };
  if (trim.kind == TrimSpec::Kind::kNone) return answer(std::move(cb));
  // Trim after the append, as XADD ... MAXLEN does: the trim is staged
  // behind the events, so a crash can keep the events without the trim but
  // never the reverse.
  trims_.resolve(stream, trim, [this, stream, answer, cb = std::move(cb)](Result<uint64_t> first) mutable {
    if (first && *first > 0) {
      auto st = trims_.stage(stream, *first);
      if (!st) return cb(st.status());
    }
    answer(std::move(cb));
  });
}

}  // namespace redcar::shard
