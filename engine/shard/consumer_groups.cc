#include "engine/shard/consumer_groups.h"

#include <algorithm>
#include <map>
#include <memory>

#include "engine/common/clock.h"
#include "engine/shard/group_apply.h"

namespace redcar::shard {

using log::RecordType;
namespace flags = group_flags;

namespace {

Status no_stream(const std::string& stream) {
  return Status(Code::kNotFound, Reason::kNoStream, "stream '" + stream + "' does not exist");
}
Status no_group(const std::string& stream, const std::string& group) {
  return Status(Code::kNotFound, Reason::kNoGroup, "stream '" + stream + "' has no group '" + group + "'");
}
Status group_exists(const std::string& group) {
  return Status(Code::kAlreadyExists, Reason::kGroupExists, "group '" + group + "' already exists");
}

template <typename T>
void answer_when_written(log::Log& log, Callback<T> cb, T value) {
  log.when_durable([cb = std::move(cb), value = std::move(value)](const Status& st) mutable {
    if (!st) return cb(st);
    cb(std::move(value));
  });
}

}  // namespace

// ------------------------------------------------------------------ plumbing

GroupState* ConsumerGroups::find(const std::string& stream, const std::string& group) {
  StreamState* s = table_.find(stream);
  if (!s) return nullptr;
  auto it = s->groups.find(group);
  return it == s->groups.end() ? nullptr : &it->second;
}

Status ConsumerGroups::stage(RecordType type, const std::string& stream, uint64_t number, StreamId id,
                             const GroupBody& body, std::optional<int64_t> ts_us) {
  const int64_t at_us = ts_us ? *ts_us : now_us();
  std::string bytes = encode_group_body(type, body);
  auto pos = stage_record(log_, type, stream, number, id, bytes, at_us);
  if (!pos) return pos.status();
  retention_.note_meta(*pos, stream);
  log::RecordView rec;
  rec.header.type = type;
  rec.header.number = number;
  rec.header.id_ms = id.ms;
  rec.header.id_seq = id.seq;
  rec.header.timestamp_us = at_us;
  rec.name = stream;
  rec.body = bytes;
  apply_group_record(table_, rec, body);
  return Status::ok();
}

void ConsumerGroups::serial(const std::string& stream, const std::string& group, Serial fn) {
  queue_key_.assign(stream);
  queue_key_ += '\0';
  queue_key_ += group;
  // Before the entry is made: a group this operation creates is not there yet.
  if (queues_.size() >= sweep_queues_at_) sweep_queues();
  auto [it, fresh] = queues_.try_emplace(queue_key_);
  Queue* q = &it->second;  // a node's address holds until it is erased
  if (fresh) {
    q->stream = stream;
    q->group = group;
  }
  if (q->busy) {
    q->waiting.push_back(std::move(fn));
    return;
  }
  q->busy = true;
  ++busy_queues_;
  start(q, std::move(fn));
}

void ConsumerGroups::start(Queue* q, Serial fn) {
  fn([this, q] { next(q); });
}

// Done: the next waiting operation starts on a fresh turn of the loop.
void ConsumerGroups::next(Queue* q) {
  if (q->waiting.empty()) {
    q->busy = false;
    --busy_queues_;
    if (!find(q->stream, q->group)) queues_.erase(q->stream + '\0' + q->group);
    return;
  }
  Serial fn = std::move(q->waiting.front());
  q->waiting.erase(q->waiting.begin());
  reactor_.post([this, q, fn = std::move(fn)]() mutable { start(q, std::move(fn)); });
}

void ConsumerGroups::sweep_queues() {
  for (auto it = queues_.begin(); it != queues_.end();) {
    const Queue& q = it->second;
    if (!q.busy && !find(q.stream, q.group)) it = queues_.erase(it);
    else ++it;
  }
  sweep_queues_at_ = std::max<size_t>(64, 2 * queues_.size());
}

template <typename T, typename Fn>
void ConsumerGroups::with_group(const std::string& stream, const std::string& group, Callback<T> cb, Fn fn) {
  serial(stream, group, [this, stream, group, cb = std::move(cb), fn = std::move(fn)](Done done) mutable {
    GroupState* g = find(stream, group);
    if (!g) {
      done();
      return cb(no_group(stream, group));
    }
    fn(*g, std::move(done), std::move(cb));
  });
}

void ConsumerGroups::answer_written(Status staged, Callback<bool> cb) {
  if (!staged) return cb(std::move(staged));
  answer_when_written(log_, std::move(cb), true);
}

// ------------------------------------------------------------------ XGROUP

void ConsumerGroups::create(const std::string& stream, const std::string& group, StreamId last, bool mkstream,
                            std::optional<uint64_t> entries_read, Callback<bool> cb) {
  StreamState* s = table_.find(stream);
  if (!s || !s->staged_exists) {
    if (!mkstream) return cb(no_stream(stream));
    auto st = stage_record(log_, RecordType::kStreamCreate, stream, 0, {}, {});
    if (!st) return cb(st.status());
    s = &table_.get(stream);
    s->staged_exists = true;
  }
  if (s->groups.count(group)) return cb(group_exists(group));
  GroupBody body{group};
  if (last == StreamId::max()) {
    return answer_written(stage(RecordType::kGroupCreate, stream, s->staged_next, s->staged_last_id, body),
                          std::move(cb));
  }
  if (last.is_zero() && !entries_read) {
    return answer_written(stage(RecordType::kGroupCreate, stream, 0, last, body), std::move(cb));
  }
  create_at(stream, group, last, false, std::move(cb));
}

// An explicit ID: the group's cursor is the first event after it, which
// takes a read to find.
void ConsumerGroups::create_at(const std::string& stream, const std::string& group, StreamId last, bool set_id,
                               Callback<bool> cb) {
  serial(stream, group, [this, stream, group, last, set_id, cb = std::move(cb)](Done done) mutable {
    reader_.number_of_id(stream, last.next(), [this, stream, group, last, set_id, cb = std::move(cb),
                                               done = std::move(done)](Result<uint64_t> n) mutable {
      done();
      if (!n) return cb(n.status());
      StreamState* s = table_.find(stream);
      if (!s) return cb(no_stream(stream));
      bool exists = s->groups.count(group) > 0;
      if (!set_id && exists) return cb(group_exists(group));
      if (set_id && !exists) return cb(no_group(stream, group));
      RecordType type = set_id ? RecordType::kGroupSetId : RecordType::kGroupCreate;
      answer_written(stage(type, stream, *n, last, GroupBody{group}), std::move(cb));
    });
  });
}

void ConsumerGroups::destroy(const std::string& stream, const std::string& group, Callback<bool> cb) {
  if (!find(stream, group)) return cb(false);
  answer_written(stage(RecordType::kGroupDestroy, stream, 0, {}, GroupBody{group}), std::move(cb));
}

void ConsumerGroups::set_id(const std::string& stream, const std::string& group, StreamId last,
                            std::optional<uint64_t> entries_read, Callback<bool> cb) {
  StreamState* s = table_.find(stream);
  if (!s || !s->staged_exists) return cb(no_stream(stream));
  if (!find(stream, group)) return cb(no_group(stream, group));
  if (last == StreamId::max()) {
    return answer_written(stage(RecordType::kGroupSetId, stream, s->staged_next, s->staged_last_id, GroupBody{group}),
                          std::move(cb));
  }
  create_at(stream, group, last, true, std::move(cb));
}

void ConsumerGroups::create_consumer(const std::string& stream, const std::string& group, const std::string& consumer,
                                     Callback<bool> cb) {
  GroupState* g = find(stream, group);
  if (!g) return cb(no_group(stream, group));
  if (g->consumers.count(consumer)) return cb(false);
  answer_written(stage(RecordType::kConsumerCreate, stream, 0, {}, GroupBody{group, consumer}), std::move(cb));
}

void ConsumerGroups::delete_consumer(const std::string& stream, const std::string& group, const std::string& consumer,
                                     Callback<uint64_t> cb) {
  GroupState* g = find(stream, group);
  if (!g) return cb(no_group(stream, group));
  if (!g->consumers.count(consumer)) return cb(uint64_t{0});
  uint64_t pending = 0;
  for (auto& [id, p] : g->pel) pending += p.consumer == consumer;
  Status st = stage(RecordType::kConsumerDelete, stream, 0, {}, GroupBody{group, consumer});
  if (!st) return cb(st);
  answer_when_written(log_, std::move(cb), pending);
}

// ------------------------------------------------------------------ XREADGROUP

void ConsumerGroups::read(const std::string& stream, GroupReadOptions opt, Callback<std::vector<GroupEntry>> cb) {
  StreamState* s = table_.find(stream);
  if (!s || !s->visible()) return cb(no_stream(stream));
  if (!find(stream, opt.group)) return cb(no_group(stream, opt.group));
  std::string group = opt.group;
  with_group(stream, group, std::move(cb),
             [this, stream, opt = std::move(opt)](GroupState& g, Done done, Callback<std::vector<GroupEntry>> cb) {
               ReadFinish finish = [this, stream, opt, done = std::move(done), cb = std::move(cb)](
                                       Status read, std::vector<EventRef> delivered,
                                       std::vector<GroupEntry> out) mutable {
                 // The next queued operation starts on a later turn of the
                 // loop, after this one's record is staged.
                 done();
                 if (!read) return cb(std::move(read));
                 finish_read(stream, opt, std::move(delivered), std::move(out), std::move(cb));
               };
               if (opt.history) return read_history(stream, g, opt, std::move(finish));
               read_new(stream, g, opt, std::move(finish));
             });
}

// The consumer's own pending entries after `opt.after`, again.
void ConsumerGroups::read_history(const std::string& stream, const GroupState& g, const GroupReadOptions& opt,
                                  ReadFinish finish) {
  std::vector<EventRef> mine;
  for (auto it = g.pel.upper_bound(opt.after); it != g.pel.end() && mine.size() < opt.count; ++it) {
    if (it->second.consumer == opt.consumer) mine.push_back({it->second.number, it->first});
  }
  if (mine.empty()) return finish(Status::ok(), {}, {});
  uint64_t lo = mine.front().number, hi = mine.back().number;
  reader_.read_numbers(stream, lo, hi, UINT64_MAX,
                       [mine, finish = std::move(finish)](Result<std::vector<Event>> evs) mutable {
                         if (!evs) return finish(evs.status(), {}, {});
                         std::vector<GroupEntry> out;
                         size_t j = 0;
                         for (const EventRef& ref : mine) {
                           GroupEntry ge;
                           ge.id = ref.id;
                           while (j < evs->size() && (*evs)[j].number < ref.number) ++j;
                           if (j < evs->size() && (*evs)[j].number == ref.number) ge.event = (*evs)[j];
                           out.push_back(std::move(ge));
                         }
                         finish(Status::ok(), std::move(mine), std::move(out));
                       });
}

// Events past the group's cursor: new deliveries.
void ConsumerGroups::read_new(const std::string& stream, const GroupState& g, const GroupReadOptions& opt,
                              ReadFinish finish) {
  reader_.read_numbers(stream, g.cursor, UINT64_MAX, opt.count,
                       [finish = std::move(finish)](Result<std::vector<Event>> evs) mutable {
                         if (!evs) return finish(evs.status(), {}, {});
                         std::vector<EventRef> delivered;
                         std::vector<GroupEntry> out;
                         for (auto& e : *evs) {
                           delivered.push_back({e.number, e.id});
                           out.push_back({e.id, std::move(e)});
                         }
                         finish(Status::ok(), std::move(delivered), std::move(out));
                       });
}

Status ConsumerGroups::stage_delivery(const std::string& stream, const GroupReadOptions& opt,
                                      std::vector<EventRef>& delivered, bool* staged) {
  *staged = false;
  // A read that finds nothing changes only when the consumer was last seen:
  // kept in memory, not written (a group's idle members would otherwise
  // write a record per wake-up). A consumer the read creates is written.
  if (delivered.empty()) {
    if (GroupState* g = find(stream, opt.group)) {
      if (auto c = g->consumers.find(opt.consumer); c != g->consumers.end()) {
        c->second.seen_ms = now_ms();
        if (!opt.history) c->second.active_ms = c->second.seen_ms;
        return Status::ok();
      }
    }
  }
  StreamId last = delivered.empty() ? StreamId{} : delivered.back().id;
  uint64_t cursor = delivered.empty() ? 0 : delivered.back().number + 1;
  GroupBody body{opt.group, opt.consumer, std::move(delivered),
                 (opt.history ? flags::kDeliverHistory : 0) | (opt.no_ack ? flags::kDeliverNoAck : 0)};
  Status st = stage(RecordType::kGroupDeliver, stream, cursor, last, body);
  delivered = std::move(body.refs);
  *staged = st.is_ok();
  return st;
}

void ConsumerGroups::finish_read(const std::string& stream, const GroupReadOptions& opt,
                                 std::vector<EventRef> delivered, std::vector<GroupEntry> out,
                                 Callback<std::vector<GroupEntry>> cb) {
  bool staged;
  Status st = stage_delivery(stream, opt, delivered, &staged);
  if (!st) return cb(st);
  if (!staged) return cb(std::move(out));
  // The record applied as it was staged: the entries hold their new counts.
  if (GroupState* g = find(stream, opt.group)) {
    for (auto& ge : out) {
      auto p = g->pel.find(ge.id);
      ge.delivery_count = p == g->pel.end() ? 0 : p->second.delivery_count;
    }
  }
  answer_when_written(log_, std::move(cb), std::move(out));
}

// XREADGROUP's hot path: read_new with the entries lent to the caller from
// the log's bytes instead of copied out.
void ConsumerGroups::read_lent(GroupReadLent* req, Callback<uint64_t> cb) {
  const std::string& stream = req->stream;
  StreamState* s = table_.find(stream);
  if (!s || !s->visible()) return cb(no_stream(stream));
  if (!find(stream, req->opt.group)) return cb(no_group(stream, req->opt.group));
  serial(stream, req->opt.group, [this, req, cb = std::move(cb)](Done done) mutable {
    GroupState* g = find(req->stream, req->opt.group);
    if (!g) {
      done();
      return cb(no_group(req->stream, req->opt.group));
    }
    if (idle_lent_reads_.empty()) {
      lent_reads_.push_back(std::make_unique<LentRead>());
      idle_lent_reads_.push_back(lent_reads_.back().get());
    }
    LentRead* lr = idle_lent_reads_.back();
    idle_lent_reads_.pop_back();
    *lr = LentRead{req, std::move(done), std::move(cb)};
    req->delivered.clear();
    ReadSpec spec;
    spec.from_number = g->cursor;
    spec.count = req->opt.count;
    reader_.read_views(
        req->stream, spec,
        [req](const EventView& e) {
          if (!req->visit(e)) return false;
          req->delivered.push_back({e.number, e.id});
          return true;
        },
        [this, lr](Status st) { finish_lent(lr, std::move(st)); });
  });
}

void ConsumerGroups::finish_lent(LentRead* lr, Status st) {
  GroupReadLent* req = lr->req;
  Done done = std::move(lr->done);
  Callback<uint64_t> cb = std::move(lr->cb);
  idle_lent_reads_.push_back(lr);
  // The next queued operation starts on a later turn of the loop, after
  // this one's record is staged.
  done();
  if (!st) {
    req->delivered.clear();
    return cb(std::move(st));
  }
  bool staged;
  st = stage_delivery(req->stream, req->opt, req->delivered, &staged);
  if (!st) return cb(std::move(st));
  if (!staged) return cb(uint64_t{0});
  answer_when_written(log_, std::move(cb), uint64_t{req->delivered.size()});
}

// ------------------------------------------------------------------ XACK, XPENDING, XINFO CONSUMERS

void ConsumerGroups::ack(const std::string& stream, const std::string& group, const std::vector<StreamId>& ids,
                         Callback<uint64_t> cb) {
  GroupState* g = find(stream, group);
  if (!g) return cb(uint64_t{0});
  std::vector<EventRef> refs;
  for (auto& id : ids) {
    auto p = g->pel.find(id);
    if (p != g->pel.end() && std::none_of(refs.begin(), refs.end(), [&](auto& r) { return r.id == id; })) {
      refs.push_back({p->second.number, id});
    }
  }
  if (refs.empty()) return cb(uint64_t{0});
  uint64_t n = refs.size();
  Status st = stage(RecordType::kGroupAck, stream, 0, {}, GroupBody{group, {}, std::move(refs)});
  if (!st) return cb(st);
  answer_when_written(log_, std::move(cb), n);
}

void ConsumerGroups::pending_summary(const std::string& stream, const std::string& group,
                                     Callback<PendingSummary> cb) {
  GroupState* g = find(stream, group);
  if (!g) return cb(no_group(stream, group));
  PendingSummary sum;
  sum.count = g->pel.size();
  if (!g->pel.empty()) {
    sum.lowest = g->pel.begin()->first;
    sum.highest = g->pel.rbegin()->first;
  }
  std::map<std::string, uint64_t> per;
  for (auto& [id, p] : g->pel) per[p.consumer]++;
  sum.per_consumer.assign(per.begin(), per.end());
  cb(std::move(sum));
}

void ConsumerGroups::pending(const std::string& stream, const PendingQuery& q, Callback<std::vector<PendingEntry>> cb) {
  GroupState* g = find(stream, q.group);
  if (!g) return cb(no_group(stream, q.group));
  std::vector<PendingEntry> out;
  int64_t now = now_ms();
  for (auto it = g->pel.lower_bound(q.from); it != g->pel.end() && it->first <= q.to && out.size() < q.count; ++it) {
    const PendingInfo& p = it->second;
    if (!q.consumer.empty() && p.consumer != q.consumer) continue;
    if (now - p.delivered_ms < q.min_idle_ms) continue;
    out.push_back({p.number, it->first, p.consumer, p.delivered_ms, p.delivery_count});
  }
  cb(std::move(out));
}

void ConsumerGroups::consumers(const std::string& stream, const std::string& group,
                               Callback<std::vector<ConsumerInfo>> cb) {
  GroupState* g = find(stream, group);
  if (!g) return cb(no_group(stream, group));
  std::vector<ConsumerInfo> out;
  for (auto& [name, c] : g->consumers) {
    uint64_t pending = 0;
    for (auto& [id, p] : g->pel) pending += p.consumer == name;
    out.push_back({name, pending, c.seen_ms, c.active_ms});
  }
  cb(std::move(out));
}

// ------------------------------------------------------------------ XCLAIM, XAUTOCLAIM

void ConsumerGroups::claim(const std::string& stream, ClaimOptions opt, Callback<ClaimResult> cb) {
  if (!table_.find(stream)) return cb(no_stream(stream));
  if (!find(stream, opt.group)) return cb(no_group(stream, opt.group));
  std::string group = opt.group;
  with_group(stream, group, std::move(cb),
             [this, stream, opt = std::move(opt)](GroupState& g, Done done, Callback<ClaimResult> cb) mutable {
               ClaimResult result;
               std::vector<EventRef> cand = claim_candidates(g, opt, &result);
               if (cand.empty()) {
                 done();
                 return cb(std::move(result));
               }
               read_candidates(stream, std::move(opt), std::move(cand), std::move(result), std::move(done),
                               std::move(cb));
             });
}

// Reads each candidate's event: deleted ones leave the PEL (XAUTOCLAIM
// reports them; XCLAIM drops them silently, as Redis 7 does).
void ConsumerGroups::read_candidates(const std::string& stream, ClaimOptions opt, std::vector<EventRef> cand,
                                     ClaimResult result, Done done, Callback<ClaimResult> cb) {
  struct Gather {
    size_t remaining;
    std::map<StreamId, Event> found;
    ClaimOptions opt;
    ClaimResult result;
    Done done;
    Callback<ClaimResult> cb;
  };
  auto g = std::make_shared<Gather>(Gather{cand.size(), {}, std::move(opt), std::move(result), std::move(done),
                                           std::move(cb)});
  for (const EventRef& c : cand) {
    reader_.read_ids(stream, c.id, c.id, 1, false, [this, stream, cand, g](Result<std::vector<Event>> evs) {
      if (evs && !evs->empty()) g->found[evs->front().id] = std::move(evs->front());
      if (--g->remaining > 0) return;
      g->done();
      claim_found(stream, g->opt, cand, g->found, std::move(g->result), std::move(g->cb));
    });
  }
}

// Candidates (number, id), chosen now; their events are read next. A
// FORCEd ID not pending gets the number UINT64_MAX: it is resolved by the
// read.
std::vector<EventRef> ConsumerGroups::claim_candidates(const GroupState& g, const ClaimOptions& opt,
                                                       ClaimResult* result) const {
  int64_t now = now_ms();
  std::vector<EventRef> cand;
  if (opt.autoclaim) {
    uint64_t scanned = 0;
    auto it = g.pel.lower_bound(opt.start);
    for (; it != g.pel.end() && scanned < opt.count * 10 && cand.size() < opt.count; ++it, ++scanned) {
      if (now - it->second.delivered_ms >= opt.min_idle_ms) cand.push_back({it->second.number, it->first});
    }
    result->next_start = it == g.pel.end() ? StreamId{} : it->first;
    return cand;
  }
  for (auto& id : opt.ids) {
    auto p = g.pel.find(id);
    if (p == g.pel.end()) {
      if (opt.force) cand.push_back({UINT64_MAX, id});
      continue;
    }
    if (now - p->second.delivered_ms >= opt.min_idle_ms) cand.push_back({p->second.number, id});
  }
  return cand;
}

void ConsumerGroups::claim_found(const std::string& stream, const ClaimOptions& opt,
                                 const std::vector<EventRef>& candidates, const std::map<StreamId, Event>& found,
                                 ClaimResult result, Callback<ClaimResult> cb) {
  std::vector<EventRef> taken, gone;
  for (const EventRef& c : candidates) {
    auto f = found.find(c.id);
    if (f == found.end()) {
      if (c.number != UINT64_MAX) gone.push_back(c);
      continue;
    }
    taken.push_back({f->second.number, c.id});
    if (opt.just_id) result.claimed_ids.push_back(c.id);
    else result.events.push_back(f->second);
  }
  Status st;
  if (!gone.empty()) {
    if (opt.autoclaim) for (const auto& g : gone) result.deleted_ids.push_back(g.id);
    st = stage(RecordType::kGroupAck, stream, 0, {}, GroupBody{opt.group, {}, std::move(gone)});
  }
  if (st && !taken.empty()) {
    uint64_t fl = opt.retry_count ? flags::kClaimSetCount : (opt.just_id ? 0 : flags::kClaimBumpCount);
    int64_t claim_ms = now_ms();
    int64_t at_ms = opt.time_ms ? *opt.time_ms : claim_ms - opt.idle_ms.value_or(0);
    GroupBody body{opt.group, opt.consumer, std::move(taken), fl, opt.retry_count.value_or(0)};
    st = stage(RecordType::kGroupClaim, stream, 0, {}, body, at_ms * 1000);
    // Seen now, even when IDLE/TIME set the entries' delivery time back.
    if (GroupState* g = st ? find(stream, opt.group) : nullptr) {
      auto& cs = g->consumers[opt.consumer];
      cs.seen_ms = cs.active_ms = std::max(cs.seen_ms, claim_ms);
    }
  }
  if (!st) return cb(st);
  if (GroupState* g = find(stream, opt.group)) {
    for (auto& e : result.events) {
      auto p = g->pel.find(e.id);
      result.delivery_counts.push_back(p == g->pel.end() ? 0 : p->second.delivery_count);
    }
  }
  answer_when_written(log_, std::move(cb), std::move(result));
}

}  // namespace redcar::shard
