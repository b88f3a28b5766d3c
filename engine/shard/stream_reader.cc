#include "engine/shard/stream_reader.h"

#include <algorithm>
#include <memory>

#include "engine/common/assert.h"
#include "engine/shard/record_bodies.h"

namespace redcar::shard {

using log::RecordType;

namespace {
// A record that ends a scan of `stream` early: its delete starts another life.
bool ends_stream(const log::RecordView& rec, const std::string& stream) {
  return rec.header.type == RecordType::kStreamDelete && rec.name == stream;
}
bool is_event_of(const log::RecordView& rec, const std::string& stream) {
  return rec.header.type == RecordType::kEvent && rec.name == stream;
}
// The index block whose events hold `id`: the last block that starts at or
// before it (the first block when `id` comes before them all).
size_t block_of(const StreamState& s, StreamId id) {
  auto it = std::upper_bound(s.index.begin(), s.index.end(), id,
                             [](const StreamId& v, const IndexEntry& e) { return v < e.id; });
  return it == s.index.begin() ? size_t{0} : static_cast<size_t>(it - s.index.begin() - 1);
}
// Runs `scan(sink, done)` with a sink that copies each event, and gives the
// copies to `cb` at the end.
template <typename Scan>
void copy_events(Scan&& scan, StreamReader::EventsCallback cb) {
  auto out = std::make_shared<std::vector<Event>>();
  scan(
      [out](const log::RecordView& rec) {
        out->push_back(make_event(rec));
        return true;
      },
      [out, cb = std::move(cb)](Status st) {
        if (!st) return cb(st);
        cb(std::move(*out));
      });
}
}  // namespace

// The forward scans below hand each live event record of the range to a
// sink (false stops the scan) and then end with `done`: copied into events,
// or lent as views.
template <typename Sink>
void StreamReader::scan_numbers(const std::string& stream, uint64_t from, uint64_t to, uint64_t count, Sink sink,
                                log::LogReader::Done done) {
  StreamState* s = table_.find(stream);
  if (!s || !s->visible() || s->next == 0 || s->index.empty()) return done(Status::ok());
  from = std::max(from, s->first);
  to = std::min(to, s->next - 1);
  if (from > to || count == 0) return done(Status::ok());
  uint64_t pos = s->index_pos_for(from);
  // A position of an earlier incarnation would meet its delete record.
  if (s->resume_number == from && s->resume_pos > pos && s->resume_pos > s->incarnation_offset) pos = s->resume_pos;
  // The visitor may outlive `s` (a cold read resumes later): look it up
  // again. It holds its own copy of the name, one that moves (a copy of a
  // const reference would be const, and copied again at every move).
  auto visit = [this, stream = std::string(stream), from, to, count, taken = uint64_t{0}, sink = std::move(sink)](
                   const log::RecordView& rec, uint64_t offset) mutable {
    if (ends_stream(rec, stream)) return false;
    if (!is_event_of(rec, stream)) return true;
    uint64_t n = rec.header.number;
    if (n < from) return true;
    if (n > to) return false;
    StreamState* st = table_.find(stream);
    if (!st) return false;
    if (n < st->first || st->deleted.count(n)) return true;
    // Events of a stream are in log order: n + 1, if it comes, is past n.
    // From n's own record, a position the scan knows how to start at (one
    // past it may be a gap before the next batch, which the hot cache does
    // not hold). A sink that stops at n may not have taken it (a page that
    // is full): the next read may start at n itself, also found from here.
    uint64_t next = n;
    if (sink(rec)) {
      if (++taken < count) return true;
      next = n + 1;
    }
    st->resume_number = next;
    st->resume_pos = offset;
    return false;
  };
  log_.scan(pos, std::move(visit), std::move(done));
}

template <typename Sink>
void StreamReader::scan_ids(const std::string& stream, StreamId lo, StreamId hi, uint64_t count, Sink sink,
                            log::LogReader::Done done) {
  StreamState* s = table_.find(stream);
  if (!s || !s->visible() || s->index.empty() || lo > hi || count == 0) return done(Status::ok());
  // The read starts in the index block that holds its lower bound.
  size_t block = block_of(*s, lo);
  uint64_t from = std::max(s->first, s->index_base + block * limits::kIndexStride);
  uint64_t limit_next = s->next;
  auto visit = [this, stream = std::string(stream), lo, hi, count, from, limit_next, taken = uint64_t{0},
                sink = std::move(sink)](const log::RecordView& rec, uint64_t) mutable {
    if (ends_stream(rec, stream)) return false;
    if (!is_event_of(rec, stream)) return true;
    uint64_t n = rec.header.number;
    if (n < from) return true;
    if (n >= limit_next) return false;
    StreamId id{rec.header.id_ms, rec.header.id_seq};
    if (id > hi) return false;
    if (id < lo) return true;
    StreamState* st = table_.find(stream);
    if (!st) return false;
    if (n < st->first || st->deleted.count(n)) return true;
    return sink(rec) && ++taken < count;
  };
  log_.scan(s->index_pos_for(from), std::move(visit), std::move(done));
}

void StreamReader::read_numbers(const std::string& stream, uint64_t from, uint64_t to, uint64_t count,
                                EventsCallback cb) {
  copy_events(
      [&](auto sink, auto done) { scan_numbers(stream, from, to, count, std::move(sink), std::move(done)); },
      std::move(cb));
}

void StreamReader::read_ids(const std::string& stream, StreamId lo, StreamId hi, uint64_t count, bool reverse,
                            EventsCallback cb) {
  if (reverse) {
    StreamState* s = table_.find(stream);
    if (!s || !s->visible() || s->index.empty() || lo > hi || count == 0) return cb(std::vector<Event>{});
    size_t block = block_of(*s, hi);
    uint64_t block_end = std::min(s->next, s->index_base + (block + 1) * limits::kIndexStride);
    return read_ids_reverse(stream, lo, hi, count, block_end, {}, std::move(cb));
  }
  copy_events([&](auto sink, auto done) { scan_ids(stream, lo, hi, count, std::move(sink), std::move(done)); },
              std::move(cb));
}

void StreamReader::read_views(const std::string& stream, const ReadSpec& spec, EventVisitor visit, ReadDone done) {
  REDCAR_CHECK(!spec.reverse);
  auto sink = [visit = std::move(visit)](const log::RecordView& rec) { return visit(view_event(rec)); };
  if (spec.by_id) return scan_ids(stream, spec.from_id, spec.to_id, spec.count, std::move(sink), std::move(done));
  scan_numbers(stream, spec.from_number, spec.to_number, spec.count, std::move(sink), std::move(done));
}

void StreamReader::read_ids_reverse(const std::string& stream, StreamId lo, StreamId hi, uint64_t count,
                                    uint64_t block_end, std::vector<Event> acc, EventsCallback cb) {
  StreamState* s = table_.find(stream);
  if (!s || block_end == 0 || block_end <= s->first) return cb(std::move(acc));
  uint64_t block_start = block_end - 1 - (block_end - 1) % limits::kIndexStride;
  block_start = std::max(block_start, s->first);
  read_numbers(stream, block_start, block_end - 1, UINT64_MAX,
               [this, stream, lo, hi, count, block_start, acc = std::move(acc), cb = std::move(cb)](
                   Result<std::vector<Event>> got) mutable {
                 if (!got) return cb(got.status());
                 for (auto it = got->rbegin(); it != got->rend(); ++it) {
                   if (it->id > hi) continue;
                   if (it->id < lo) return cb(std::move(acc));
                   acc.push_back(std::move(*it));
                   if (acc.size() >= count) return cb(std::move(acc));
                 }
                 read_ids_reverse(stream, lo, hi, count, block_start, std::move(acc), std::move(cb));
               });
}

void StreamReader::read_numbers_reverse(const std::string& stream, uint64_t from, uint64_t to, uint64_t want,
                                        uint64_t span, EventsCallback cb) {
  // Read the window of the last `span` numbers; deleted events make it
  // short, so widen it (doubling) until it holds enough or reaches `from`.
  uint64_t start = to - from >= span ? to - span + 1 : from;
  read_numbers(stream, start, to, UINT64_MAX,
               [this, stream, from, to, want, span, start, cb = std::move(cb)](Result<std::vector<Event>> evs) mutable {
                 if (!evs) return cb(evs.status());
                 if (evs->size() < want && start > from) {
                   uint64_t wider = span > UINT64_MAX / 2 ? UINT64_MAX : span * 2;
                   return read_numbers_reverse(stream, from, to, want, wider, std::move(cb));
                 }
                 std::reverse(evs->begin(), evs->end());
                 if (evs->size() > want) evs->resize(want);
                 cb(std::move(*evs));
               });
}

void StreamReader::read(const std::string& stream, const ReadSpec& spec, Callback<ReadResult> cb) {
  StreamState* s = table_.find(stream);
  ReadResult base;
  if (s && s->visible()) {
    base.exists = true;
    base.next_number = s->next;
    base.last_id = s->last_id;
  }
  auto finish = [base, cb = std::move(cb)](Result<std::vector<Event>> evs) mutable {
    if (!evs) return cb(evs.status());
    base.events = std::move(*evs);
    cb(std::move(base));
  };
  if (!s || !s->visible()) return finish(std::vector<Event>{});
  if (spec.by_id) return read_ids(stream, spec.from_id, spec.to_id, spec.count, spec.reverse, std::move(finish));
  if (!spec.reverse) return read_numbers(stream, spec.from_number, spec.to_number, spec.count, std::move(finish));
  // Backwards by number: the last `count` numbers of the range.
  uint64_t to = s->next == 0 ? 0 : std::min(spec.to_number, s->next - 1);
  uint64_t from = std::max(spec.from_number, s->first);
  if (s->next == 0 || from > to || spec.count == 0) return finish(std::vector<Event>{});
  read_numbers_reverse(stream, from, to, spec.count, spec.count, std::move(finish));
}

void StreamReader::number_of_id(const std::string& stream, StreamId id, Callback<uint64_t> cb) {
  StreamState* s = table_.find(stream);
  if (!s || !s->visible()) return cb(uint64_t{0});
  uint64_t next = s->next;
  read_ids(stream, id, StreamId::max(), 1, false, [next, cb = std::move(cb)](Result<std::vector<Event>> evs) {
    if (!evs) return cb(evs.status());
    cb(evs->empty() ? next : evs->front().number);
  });
}

}  // namespace redcar::shard
