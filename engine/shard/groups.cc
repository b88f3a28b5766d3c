// The consumer-group half of StreamStore: group records, their application,
// and the group operations (XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM,
// XAUTOCLAIM). Group state changes are applied when staged (see
// stream_store.h) and answered once durable.
#include <algorithm>
#include <boost/asio/post.hpp>

#include "engine/shard/stream_store.h"

namespace redcar::shard {

using log::BodyReader;
using log::BodyWriter;
using log::RecordType;

namespace {

constexpr uint64_t kDeliverHistory = 1;  // re-delivery of the consumer's own pending entries
constexpr uint64_t kDeliverNoAck = 2;
constexpr uint64_t kClaimBumpCount = 1;
constexpr uint64_t kClaimSetCount = 2;

struct Item {
  uint64_t number;
  StreamId id;
};

void write_items(BodyWriter& w, const std::vector<Item>& items) {
  w.varint(items.size());
  for (auto& it : items) {
    w.varint(it.number);
    w.varint(it.id.ms);
    w.varint(it.id.seq);
  }
}

bool read_items(BodyReader& r, std::vector<Item>* items) {
  uint64_t n;
  if (!r.varint(&n)) return false;
  items->clear();
  for (uint64_t i = 0; i < n; ++i) {
    Item it;
    if (!r.varint(&it.number) || !r.varint(&it.id.ms) || !r.varint(&it.id.seq)) return false;
    items->push_back(it);
  }
  return true;
}

std::string group_key(const std::string& stream, const std::string& group) { return stream + '\0' + group; }

}  // namespace

GroupState* StreamStore::find_group(const std::string& stream, const std::string& group) {
  StreamState* s = find(stream);
  if (!s) return nullptr;
  auto it = s->groups.find(group);
  return it == s->groups.end() ? nullptr : &it->second;
}

Status StreamStore::stage_group(RecordType type, const std::string& stream, uint64_t number, StreamId id,
                                const std::string& body, std::optional<int64_t> ts_us) {
  const int64_t at_us = ts_us ? *ts_us : now_us();
  auto pos = stage(type, stream, number, id, body, at_us);
  if (!pos) return pos.status();
  usage_[*pos - *pos % log_.segment_bytes()].meta.insert(stream);
  log::RecordView rec;
  rec.header.type = type;
  rec.header.number = number;
  rec.header.id_ms = id.ms;
  rec.header.id_seq = id.seq;
  rec.header.timestamp_us = at_us;
  rec.name = stream;
  rec.body = body;
  apply_group_record(rec);
  return Status::ok();
}

void StreamStore::apply_group_record(const log::RecordView& rec) {
  std::string stream(rec.name);
  BodyReader r(rec.body);
  std::string_view group_v;
  if (!r.str(&group_v)) return;
  std::string group(group_v);
  int64_t ts_ms = rec.header.timestamp_us / 1000;
  StreamId id{rec.header.id_ms, rec.header.id_seq};
  switch (rec.header.type) {
    case RecordType::kGroupCreate:
    case RecordType::kGroupSetId: {
      StreamState& s = get(stream);
      if (rec.header.type == RecordType::kGroupCreate && !s.exists) {
        s.exists = s.staged_exists = true;
        s.created_us = rec.header.timestamp_us;
      }
      GroupState& g = s.groups[group];
      g.last_delivered = id;
      g.cursor = rec.header.number;
      return;
    }
    case RecordType::kGroupDestroy: {
      if (StreamState* s = find(stream)) s->groups.erase(group);
      return;
    }
    default: break;
  }
  GroupState* g = find_group(stream, group);
  if (!g) return;
  switch (rec.header.type) {
    case RecordType::kConsumerCreate: {
      std::string_view c;
      if (!r.str(&c)) return;
      auto& cs = g->consumers[std::string(c)];
      if (cs.seen_ms == 0) cs.seen_ms = ts_ms;
      return;
    }
    case RecordType::kConsumerDelete: {
      std::string_view c;
      if (!r.str(&c)) return;
      std::string name(c);
      for (auto it = g->pel.begin(); it != g->pel.end();) {
        it = it->second.consumer == name ? g->pel.erase(it) : std::next(it);
      }
      g->consumers.erase(name);
      return;
    }
    case RecordType::kGroupDeliver: {
      std::string_view c;
      std::vector<Item> items;
      uint64_t flags = 0;
      if (!r.str(&c) || !read_items(r, &items) || !r.varint(&flags)) return;
      std::string consumer(c);
      auto& cs = g->consumers[consumer];
      cs.seen_ms = ts_ms;
      if (!items.empty() || !(flags & kDeliverHistory)) cs.active_ms = ts_ms;
      if (flags & kDeliverHistory) {
        for (auto& it : items) {
          auto p = g->pel.find(it.id);
          if (p == g->pel.end()) continue;
          p->second.delivered_ms = ts_ms;
          p->second.delivery_count++;
        }
        return;
      }
      if (!items.empty()) {
        g->last_delivered = std::max(g->last_delivered, id);
        g->cursor = std::max(g->cursor, rec.header.number);
      }
      if (flags & kDeliverNoAck) return;
      for (auto& it : items) {
        auto [p, inserted] = g->pel.try_emplace(it.id);
        if (!inserted) {
          // Delivered again after SETID moved the group back: it changes hands.
          if (auto old = g->consumers.find(p->second.consumer); old != g->consumers.end() && old->second.pending > 0) {
            old->second.pending--;
          }
        }
        p->second.number = it.number;
        p->second.consumer = consumer;
        p->second.delivered_ms = ts_ms;
        p->second.delivery_count = inserted ? 1 : p->second.delivery_count + 1;
        cs.pending++;
      }
      return;
    }
    case RecordType::kGroupAck: {
      std::vector<Item> items;
      if (!read_items(r, &items)) return;
      for (auto& it : items) {
        auto p = g->pel.find(it.id);
        if (p == g->pel.end()) continue;
        if (auto c = g->consumers.find(p->second.consumer); c != g->consumers.end() && c->second.pending > 0) {
          c->second.pending--;
        }
        g->pel.erase(p);
      }
      return;
    }
    case RecordType::kGroupClaim: {
      std::string_view c;
      std::vector<Item> items;
      uint64_t flags = 0, count = 0;
      if (!r.str(&c) || !read_items(r, &items) || !r.varint(&flags) || !r.varint(&count)) return;
      std::string consumer(c);
      auto& cs = g->consumers[consumer];
      // The record's time, not the clock: this runs again at recovery.
      cs.seen_ms = std::max(cs.seen_ms, ts_ms);
      cs.active_ms = cs.seen_ms;
      for (auto& it : items) {
        auto [p, inserted] = g->pel.try_emplace(it.id);
        if (!inserted) {
          if (auto old = g->consumers.find(p->second.consumer); old != g->consumers.end() && old->second.pending > 0) {
            old->second.pending--;
          }
        } else {
          p->second.delivery_count = 1;  // FORCE made it: delivered once, as Redis counts
        }
        p->second.number = it.number;
        p->second.consumer = consumer;
        p->second.delivered_ms = ts_ms;
        if (flags & kClaimSetCount) p->second.delivery_count = count;
        else if (flags & kClaimBumpCount) p->second.delivery_count++;
        cs.pending++;
      }
      return;
    }
    default: return;
  }
}

void StreamStore::group_serial(const std::string& stream, const std::string& group,
                               std::function<void(std::function<void()>)> fn) {
  std::string key = group_key(stream, group);
  GroupQueue& q = group_queues_[key];
  auto run = [this, key, fn = std::move(fn)]() {
    fn([this, key] {
      // Done: start the next waiting operation, on a fresh turn of the loop.
      auto it = group_queues_.find(key);
      if (it == group_queues_.end()) return;
      if (it->second.waiting.empty()) {
        group_queues_.erase(it);
        return;
      }
      auto next = std::move(it->second.waiting.front());
      it->second.waiting.pop_front();
      boost::asio::post(ctx_, std::move(next));
    });
  };
  if (q.busy) {
    q.waiting.push_back(std::move(run));
    return;
  }
  q.busy = true;
  run();
}

void StreamStore::reply_bool(Callback<bool> cb) {
  reply_when_durable([cb = std::move(cb)](const Status& st) {
    if (!st) return cb(st);
    cb(true);
  });
}

void StreamStore::group_create(std::string stream, std::string group, StreamId last, bool mkstream,
                               std::optional<uint64_t> entries_read, Callback<bool> cb) {
  StreamState* s = find(stream);
  if (!s || !s->staged_exists) {
    if (!mkstream) {
      return cb(Status(Code::kNotFound,
                       "The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use "
                       "the MKSTREAM option to create an empty stream automatically."));
    }
    auto st = stage(RecordType::kStreamCreate, stream, 0, {}, {});
    if (!st) return cb(st.status());
    s = &get(stream);
    s->staged_exists = true;
  }
  if (s->groups.count(group)) return cb(Status(Code::kAlreadyExists, "BUSYGROUP Consumer Group name already exists"));
  std::string body;
  BodyWriter w(&body);
  w.str(group);
  if (last == StreamId::max()) {
    Status st = stage_group(RecordType::kGroupCreate, stream, s->staged_next, s->staged_last_id, body);
    if (!st) return cb(st);
    return reply_bool(std::move(cb));
  }
  if (last.is_zero() && !entries_read) {
    Status st = stage_group(RecordType::kGroupCreate, stream, 0, last, body);
    if (!st) return cb(st);
    return reply_bool(std::move(cb));
  }
  // An explicit ID: the cursor is the first event after it.
  group_serial(stream, group, [this, stream, group, last, body, cb = std::move(cb)](std::function<void()> done) mutable {
    number_of_id(stream, last.next(), [this, stream, group, last, body, cb = std::move(cb), done](Result<uint64_t> n) mutable {
      done();
      if (!n) return cb(n.status());
      StreamState* s = find(stream);
      if (!s) return cb(Status(Code::kNotFound, "stream deleted"));
      if (s->groups.count(group)) return cb(Status(Code::kAlreadyExists, "BUSYGROUP Consumer Group name already exists"));
      Status st = stage_group(RecordType::kGroupCreate, stream, *n, last, body);
      if (!st) return cb(st);
      reply_bool(std::move(cb));
    });
  });
}

void StreamStore::group_destroy(std::string stream, std::string group, Callback<bool> cb) {
  if (!find_group(stream, group)) return cb(false);
  std::string body;
  BodyWriter w(&body);
  w.str(group);
  Status st = stage_group(RecordType::kGroupDestroy, stream, 0, {}, body);
  if (!st) return cb(st);
  reply_bool(std::move(cb));
}

void StreamStore::group_set_id(std::string stream, std::string group, StreamId last,
                               std::optional<uint64_t> entries_read, Callback<bool> cb) {
  StreamState* s = find(stream);
  if (!s || !s->staged_exists) return cb(Status(Code::kNotFound, "no such key"));
  if (!find_group(stream, group)) {
    return cb(Status(Code::kNotFound, "NOGROUP No such consumer group '" + group + "' for key name '" + stream + "'"));
  }
  std::string body;
  BodyWriter w(&body);
  w.str(group);
  if (last == StreamId::max()) {
    Status st = stage_group(RecordType::kGroupSetId, stream, s->staged_next, s->staged_last_id, body);
    if (!st) return cb(st);
    return reply_bool(std::move(cb));
  }
  group_serial(stream, group, [this, stream, group, last, body, cb = std::move(cb)](std::function<void()> done) mutable {
    number_of_id(stream, last.next(), [this, stream, group, last, body, cb = std::move(cb), done](Result<uint64_t> n) mutable {
      done();
      if (!n) return cb(n.status());
      if (!find_group(stream, group)) return cb(Status(Code::kNotFound, "NOGROUP group destroyed"));
      Status st = stage_group(RecordType::kGroupSetId, stream, *n, last, body);
      if (!st) return cb(st);
      reply_bool(std::move(cb));
    });
  });
}

void StreamStore::consumer_create(std::string stream, std::string group, std::string consumer, Callback<bool> cb) {
  GroupState* g = find_group(stream, group);
  if (!g) return cb(Status(Code::kNotFound, "NOGROUP No such consumer group '" + group + "' for key name '" + stream + "'"));
  if (g->consumers.count(consumer)) return cb(false);
  std::string body;
  BodyWriter w(&body);
  w.str(group);
  w.str(consumer);
  Status st = stage_group(RecordType::kConsumerCreate, stream, 0, {}, body);
  if (!st) return cb(st);
  reply_bool(std::move(cb));
}

void StreamStore::consumer_delete(std::string stream, std::string group, std::string consumer, Callback<uint64_t> cb) {
  GroupState* g = find_group(stream, group);
  if (!g) return cb(Status(Code::kNotFound, "NOGROUP No such consumer group '" + group + "' for key name '" + stream + "'"));
  auto c = g->consumers.find(consumer);
  if (c == g->consumers.end()) return cb(uint64_t{0});
  uint64_t pending = 0;
  for (auto& [id, p] : g->pel) pending += p.consumer == consumer;
  std::string body;
  BodyWriter w(&body);
  w.str(group);
  w.str(consumer);
  Status st = stage_group(RecordType::kConsumerDelete, stream, 0, {}, body);
  if (!st) return cb(st);
  reply_when_durable([cb = std::move(cb), pending](const Status& st) {
    if (!st) return cb(st);
    cb(pending);
  });
}

void StreamStore::group_read(std::string stream, GroupReadOptions opt, Callback<std::vector<GroupEntry>> cb) {
  StreamState* s = find(stream);
  if (!s || !s->exists || !find_group(stream, opt.group)) {
    return cb(Status(Code::kNotFound,
                     "NOGROUP No such key '" + stream + "' or consumer group '" + opt.group + "' in XREADGROUP with GROUP option"));
  }
  group_serial(stream, opt.group, [this, stream, opt, cb = std::move(cb)](std::function<void()> done) mutable {
    GroupState* g = find_group(stream, opt.group);
    if (!g) {
      done();
      return cb(Status(Code::kNotFound, "NOGROUP consumer group destroyed"));
    }
    auto finish = [this, stream, opt, done, cb = std::move(cb)](std::vector<Item> items, std::vector<GroupEntry> out) mutable {
      // A read that finds nothing changes only when the consumer was last
      // seen: kept in memory, not written (a consumer group's idle members
      // would otherwise write a record per wake-up). A consumer the read
      // creates is written, as before.
      if (items.empty()) {
        if (GroupState* g = find_group(stream, opt.group)) {
          if (auto c = g->consumers.find(opt.consumer); c != g->consumers.end()) {
            c->second.seen_ms = now_ms();
            if (!opt.history) c->second.active_ms = c->second.seen_ms;
            done();
            return cb(std::move(out));
          }
        }
      }
      std::string body;
      BodyWriter w(&body);
      w.str(opt.group);
      w.str(opt.consumer);
      write_items(w, items);
      w.varint((opt.history ? kDeliverHistory : 0) | (opt.no_ack ? kDeliverNoAck : 0));
      StreamId last = items.empty() ? StreamId{} : items.back().id;
      uint64_t cursor = items.empty() ? 0 : items.back().number + 1;
      Status st = stage_group(RecordType::kGroupDeliver, stream, cursor, last, body);
      done();
      if (!st) return cb(st);
      // The record applied as it was staged: the entries hold their new counts.
      if (GroupState* g = find_group(stream, opt.group)) {
        for (auto& ge : out) {
          auto p = g->pel.find(ge.id);
          ge.delivery_count = p == g->pel.end() ? 0 : p->second.delivery_count;
        }
      }
      reply_when_durable([cb = std::move(cb), out = std::move(out)](const Status& st) mutable {
        if (!st) return cb(st);
        cb(std::move(out));
      });
    };
    if (opt.history) {
      // The consumer's own pending entries after `after`.
      std::vector<std::pair<StreamId, uint64_t>> mine;
      for (auto it = g->pel.upper_bound(opt.after); it != g->pel.end() && mine.size() < opt.count; ++it) {
        if (it->second.consumer == opt.consumer) mine.push_back({it->first, it->second.number});
      }
      if (mine.empty()) return finish({}, {});
      uint64_t lo = mine.front().second, hi = mine.back().second;
      read_numbers(stream, lo, hi, UINT64_MAX,
                   [mine, finish = std::move(finish)](Result<std::vector<Event>> evs) mutable {
                     std::vector<Item> items;
                     std::vector<GroupEntry> out;
                     size_t j = 0;
                     for (auto& [id, n] : mine) {
                       GroupEntry ge;
                       ge.id = id;
                       if (evs) {
                         while (j < evs->size() && (*evs)[j].number < n) ++j;
                         if (j < evs->size() && (*evs)[j].number == n) ge.event = (*evs)[j];
                       }
                       items.push_back({n, id});
                       out.push_back(std::move(ge));
                     }
                     finish(std::move(items), std::move(out));
                   });
      return;
    }
    uint64_t from = g->cursor;
    read_numbers(stream, from, UINT64_MAX, opt.count,
                 [finish = std::move(finish)](Result<std::vector<Event>> evs) mutable {
                   std::vector<Item> items;
                   std::vector<GroupEntry> out;
                   if (evs) {
                     for (auto& e : *evs) {
                       items.push_back({e.number, e.id});
                       out.push_back({e.id, std::move(e)});
                     }
                   }
                   finish(std::move(items), std::move(out));
                 });
  });
}

void StreamStore::group_ack(std::string stream, std::string group, std::vector<StreamId> ids, Callback<uint64_t> cb) {
  GroupState* g = find_group(stream, group);
  if (!g) return cb(uint64_t{0});
  std::vector<Item> items;
  for (auto& id : ids) {
    auto p = g->pel.find(id);
    if (p != g->pel.end() && std::none_of(items.begin(), items.end(), [&](auto& i) { return i.id == id; })) {
      items.push_back({p->second.number, id});
    }
  }
  if (items.empty()) return cb(uint64_t{0});
  std::string body;
  BodyWriter w(&body);
  w.str(group);
  write_items(w, items);
  Status st = stage_group(RecordType::kGroupAck, stream, 0, {}, body);
  if (!st) return cb(st);
  uint64_t n = items.size();
  reply_when_durable([cb = std::move(cb), n](const Status& st) {
    if (!st) return cb(st);
    cb(n);
  });
}

void StreamStore::group_pending_summary(std::string stream, std::string group, Callback<PendingSummary> cb) {
  GroupState* g = find_group(stream, group);
  if (!g) return cb(Status(Code::kNotFound, "NOGROUP No such key '" + stream + "' or consumer group '" + group + "'"));
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

void StreamStore::group_pending(std::string stream, PendingQuery q, Callback<std::vector<PendingEntry>> cb) {
  GroupState* g = find_group(stream, q.group);
  if (!g) return cb(Status(Code::kNotFound, "NOGROUP No such key '" + stream + "' or consumer group '" + q.group + "'"));
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

void StreamStore::group_consumers(std::string stream, std::string group, Callback<std::vector<ConsumerInfo>> cb) {
  GroupState* g = find_group(stream, group);
  if (!g) return cb(Status(Code::kNotFound, "NOGROUP No such consumer group '" + group + "' for key name '" + stream + "'"));
  std::vector<ConsumerInfo> out;
  for (auto& [name, c] : g->consumers) {
    uint64_t pending = 0;
    for (auto& [id, p] : g->pel) pending += p.consumer == name;
    out.push_back({name, pending, c.seen_ms, c.active_ms});
  }
  cb(std::move(out));
}

void StreamStore::group_claim(std::string stream, ClaimOptions opt, Callback<ClaimResult> cb) {
  StreamState* s = find(stream);
  if (!s || !find_group(stream, opt.group)) {
    return cb(Status(Code::kNotFound, "NOGROUP No such key '" + stream + "' or consumer group '" + opt.group + "'"));
  }
  group_serial(stream, opt.group, [this, stream, opt, cb = std::move(cb)](std::function<void()> done) mutable {
    GroupState* g = find_group(stream, opt.group);
    StreamState* s = find(stream);
    if (!g || !s) {
      done();
      return cb(Status(Code::kNotFound, "NOGROUP consumer group destroyed"));
    }
    int64_t now = now_ms();
    // Candidates: (id, number), chosen now; the events are read next.
    std::vector<Item> cand;
    ClaimResult result;
    if (opt.autoclaim) {
      uint64_t scanned = 0;
      auto it = g->pel.lower_bound(opt.start);
      for (; it != g->pel.end() && scanned < opt.count * 10 && cand.size() < opt.count; ++it, ++scanned) {
        if (now - it->second.delivered_ms >= opt.min_idle_ms) cand.push_back({it->second.number, it->first});
      }
      result.next_start = it == g->pel.end() ? StreamId{} : it->first;
    } else {
      for (auto& id : opt.ids) {
        auto p = g->pel.find(id);
        if (p == g->pel.end()) {
          if (opt.force) cand.push_back({UINT64_MAX, id});  // number resolved below
          continue;
        }
        if (now - p->second.delivered_ms >= opt.min_idle_ms) cand.push_back({p->second.number, id});
      }
    }
    if (cand.empty()) {
      done();
      return cb(std::move(result));
    }
    // Read each candidate's event: deleted ones leave the PEL (XAUTOCLAIM
    // reports them; XCLAIM drops them silently, as Redis 7 does).
    auto remaining = std::make_shared<size_t>(cand.size());
    auto found = std::make_shared<std::map<StreamId, Event>>();
    for (auto& c : cand) {
      read_ids(stream, c.id, c.id, 1, false, [this, stream, opt, cand, found, remaining, result, done, cb](
                                                 Result<std::vector<Event>> evs) mutable {
        if (evs && !evs->empty()) (*found)[evs->front().id] = std::move(evs->front());
        if (--*remaining > 0) return;
        std::vector<Item> claim, gone;
        for (auto& c : cand) {
          auto f = found->find(c.id);
          if (f == found->end()) {
            if (c.number != UINT64_MAX) gone.push_back(c);
            continue;
          }
          claim.push_back({f->second.number, c.id});
          if (opt.just_id) result.claimed_ids.push_back(c.id);
          else result.events.push_back(f->second);
        }
        Status st;
        if (!gone.empty()) {
          std::string body;
          BodyWriter w(&body);
          w.str(opt.group);
          write_items(w, gone);
          st = stage_group(RecordType::kGroupAck, stream, 0, {}, body);
          if (opt.autoclaim) for (auto& g : gone) result.deleted_ids.push_back(g.id);
        }
        if (st && !claim.empty()) {
          std::string body;
          BodyWriter w(&body);
          w.str(opt.group);
          w.str(opt.consumer);
          write_items(w, claim);
          uint64_t flags = opt.retry_count ? kClaimSetCount : (opt.just_id ? 0 : kClaimBumpCount);
          w.varint(flags);
          w.varint(opt.retry_count.value_or(0));
          int64_t claim_ms = now_ms();
          int64_t at_ms = opt.time_ms ? *opt.time_ms : claim_ms - opt.idle_ms.value_or(0);
          st = stage_group(RecordType::kGroupClaim, stream, 0, {}, body, at_ms * 1000);
          // Seen now, even when IDLE/TIME set the entries' delivery time back.
          if (GroupState* g = st ? find_group(stream, opt.group) : nullptr) {
            auto& cs = g->consumers[opt.consumer];
            cs.seen_ms = cs.active_ms = std::max(cs.seen_ms, claim_ms);
          }
        }
        done();
        if (!st) return cb(st);
        if (GroupState* g = find_group(stream, opt.group)) {
          for (auto& e : result.events) {
            auto p = g->pel.find(e.id);
            result.delivery_counts.push_back(p == g->pel.end() ? 0 : p->second.delivery_count);
          }
        }
        reply_when_durable([cb, result = std::move(result)](const Status& st) mutable {
          if (!st) return cb(st);
          cb(std::move(result));
        });
      });
    }
  });
}

}  // namespace redcar::shard
