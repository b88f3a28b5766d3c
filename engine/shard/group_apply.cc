#include "engine/shard/group_apply.h"

#include <algorithm>

#include "engine/shard/record_bodies.h"

namespace redcar::shard {

using log::RecordType;
namespace flags = group_flags;

namespace {

// An entry changes hands: its old owner has one pending entry less.
void release(GroupState& g, const PendingInfo& p) {
  if (auto old = g.consumers.find(p.consumer); old != g.consumers.end() && old->second.pending > 0) {
    old->second.pending--;
  }
}

void create_or_set(StreamState& s, const log::RecordView& rec, const GroupBody& b) {
  if (rec.header.type == RecordType::kGroupCreate && !s.exists) {
    s.exists = s.staged_exists = true;
    s.created_us = rec.header.timestamp_us;
  }
  GroupState& g = s.groups[std::string(b.group)];
  g.last_delivered = {rec.header.id_ms, rec.header.id_seq};
  g.cursor = rec.header.number;
}

void delete_consumer(GroupState& g, const std::string& name) {
  for (auto it = g.pel.begin(); it != g.pel.end();) {
    it = it->second.consumer == name ? g.pel.erase(it) : std::next(it);
  }
  g.consumers.erase(name);
}

void deliver(GroupState& g, const log::RecordView& rec, const GroupBody& b) {
  int64_t ts_ms = rec.header.timestamp_us / 1000;
  std::string consumer(b.consumer);
  ConsumerState& cs = g.consumers[consumer];
  cs.seen_ms = ts_ms;
  bool history = b.flags & flags::kDeliverHistory;
  if (!b.refs.empty() || !history) cs.active_ms = ts_ms;
  if (history) {
    for (const auto& ref : b.refs) {
      auto p = g.pel.find(ref.id);
      if (p == g.pel.end()) continue;
      p->second.delivered_ms = ts_ms;
      p->second.delivery_count++;
    }
    return;
  }
  if (!b.refs.empty()) {
    g.last_delivered = std::max(g.last_delivered, StreamId{rec.header.id_ms, rec.header.id_seq});
    g.cursor = std::max(g.cursor, rec.header.number);
  }
  if (b.flags & flags::kDeliverNoAck) return;
  for (const auto& ref : b.refs) {
    auto [p, inserted] = g.pel.try_emplace(ref.id);
    // Delivered again after SETID moved the group back: it changes hands.
    if (!inserted) release(g, p->second);
    p->second.number = ref.number;
    p->second.consumer = consumer;
    p->second.delivered_ms = ts_ms;
    p->second.delivery_count = inserted ? 1 : p->second.delivery_count + 1;
    cs.pending++;
  }
}

void ack(GroupState& g, const GroupBody& b) {
  for (const auto& ref : b.refs) {
    auto p = g.pel.find(ref.id);
    if (p == g.pel.end()) continue;
    release(g, p->second);
    g.pel.erase(p);
  }
}

void claim(GroupState& g, const log::RecordView& rec, const GroupBody& b) {
  int64_t ts_ms = rec.header.timestamp_us / 1000;
  std::string consumer(b.consumer);
  ConsumerState& cs = g.consumers[consumer];
  cs.seen_ms = std::max(cs.seen_ms, ts_ms);
  cs.active_ms = cs.seen_ms;
  for (const auto& ref : b.refs) {
    auto [p, inserted] = g.pel.try_emplace(ref.id);
    if (!inserted) {
      release(g, p->second);
    } else {
      p->second.delivery_count = 1;  // FORCE made it: delivered once, as Redis counts
    }
    p->second.number = ref.number;
    p->second.consumer = consumer;
    p->second.delivered_ms = ts_ms;
    if (b.flags & flags::kClaimSetCount) {
      p->second.delivery_count = b.count;
    } else if (b.flags & flags::kClaimBumpCount) {
      p->second.delivery_count++;
    }
    cs.pending++;
  }
}

}  // namespace

void apply_group_record(StreamTable& table, const log::RecordView& rec) {
  GroupBody b;
  if (!decode_group_body(rec.header.type, rec.body, &b)) return;
  apply_group_record(table, rec, b);
}

void apply_group_record(StreamTable& table, const log::RecordView& rec, const GroupBody& b) {
  const RecordType type = rec.header.type;
  if (type == RecordType::kGroupCreate || type == RecordType::kGroupSetId) {
    return create_or_set(table.get(rec.name), rec, b);
  }
  StreamState* s = table.find(rec.name);
  if (!s) return;
  auto git = s->groups.find(b.group);
  if (git == s->groups.end()) return;
  GroupState& g = git->second;
  switch (type) {
    case RecordType::kGroupDestroy: s->groups.erase(git); return;
    case RecordType::kConsumerCreate: {
      ConsumerState& cs = g.consumers[std::string(b.consumer)];
      if (cs.seen_ms == 0) cs.seen_ms = rec.header.timestamp_us / 1000;
      return;
    }
    case RecordType::kConsumerDelete: return delete_consumer(g, std::string(b.consumer));
    case RecordType::kGroupDeliver: return deliver(g, rec, b);
    case RecordType::kGroupAck: return ack(g, b);
    case RecordType::kGroupClaim: return claim(g, rec, b);
    default: return;
  }
}

}  // namespace redcar::shard
