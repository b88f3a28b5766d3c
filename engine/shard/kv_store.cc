#include "engine/shard/kv_store.h"

#include <algorithm>
#include <iterator>

#include <spdlog/spdlog.h>

#include "engine/common/clock.h"
#include "engine/shard/kv_txn_shape.h"

namespace redcar::shard {

using log::BodyReader;
using log::BodyWriter;
using log::RecordType;

namespace {
constexpr uint8_t kOpPut = 1;
constexpr uint8_t kOpDelete = 2;
constexpr uint8_t kOpPutExpiring = 3;  // a put whose version carries a deadline
constexpr uint8_t kOpPutTyped = 4;     // a put of another type than a string
constexpr uint64_t kMaxReapedPerRecord = 1024;

// Whether a request that sees `all_types` (or only etcd's view: strings,
// not in another Redis database) sees `v` of `key`.
bool seen(std::string_view key, const KvStore::Version* v, bool all_types) {
  return v && (all_types || (v->type == KvType::kString && redis_database_of(key) == 0));
}

Status wrong_type(const std::string& key) {
  return Status(Code::kWrongType, "the key '" + key + "' holds another type");
}
}  // namespace

bool in_range(const std::string& key, const std::string& start, const std::string& end) {
  if (end.empty()) return key == start;
  if (key < start) return false;
  if (end == std::string(1, '\0')) return true;
  return key < end;
}

KeyValue KvStore::to_kv(const std::string& key, const Version& v, bool keys_only) {
  KeyValue kv;
  kv.type = v.type;
  kv.key = key;
  if (!keys_only) kv.value = v.value;
  kv.create_revision = v.create;
  kv.mod_revision = v.mod;
  kv.version = v.version;
  kv.expire_ms = v.expire_ms;
  return kv;
}

const KvStore::Version* KvStore::staged_raw(const std::string& key) const {
  if (auto s = staged_.find(key); s != staged_.end()) return s->second.tombstone ? nullptr : &s->second;
  auto it = keys_.find(key);
  if (it == keys_.end() || it->second.empty() || it->second.back().tombstone) return nullptr;
  return &it->second.back();
}

const KvStore::Version* KvStore::staged_lookup(const std::string& key) const {
  const Version* v = staged_raw(key);
  return v && alive(*v, now_ms()) ? v : nullptr;
}

std::vector<std::string> KvStore::staged_keys(const std::string& key, const std::string& end, bool all_types) const {
  std::vector<std::string> out;
  const int64_t now = now_ms();
  auto collect = [&](const auto& map) {
    for (auto it = map.lower_bound(key); it != map.end() && in_range(it->first, key, end); ++it) {
      const Version* v = staged_raw(it->first);
      if (v && alive(*v, now) && seen(it->first, v, all_types)) out.push_back(it->first);
      if (end.empty()) break;
    }
  };
  collect(keys_);
  collect(staged_);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

RangeResult KvStore::range_at(const RangeRequest& req, bool staged, const TxnPlan* plan) const {
  RangeResult res;
  res.revision = staged ? staged_revision_ : revision_;
  int64_t at = req.revision > 0 ? req.revision : revision_;
  // The present hides expired keys; a past revision shows what was there.
  const int64_t now = req.revision > 0 ? 0 : now_ms();
  std::vector<std::pair<std::string, const Version*>> hits;
  if (staged && req.revision <= 0) {
    for (auto& k : staged_keys(req.key, req.range_end, req.all_types)) hits.push_back({k, staged_raw(k)});
    if (plan) overlay(*plan, req, now, &hits);
  } else {
    for (auto it = keys_.lower_bound(req.key); it != keys_.end() && in_range(it->first, req.key, req.range_end); ++it) {
      const auto& hist = it->second;
      // The newest version at or before `at`.
      auto v = std::upper_bound(hist.begin(), hist.end(), at, [](int64_t r, const Version& x) { return r < x.mod; });
      if (v != hist.begin() && alive(*std::prev(v), now) && seen(it->first, &*std::prev(v), req.all_types)) {
        hits.push_back({it->first, &*std::prev(v)});
      }
      if (req.range_end.empty()) break;
    }
  }
  res.count = static_cast<int64_t>(hits.size());
  if (req.count_only) return res;
  size_t n = hits.size();
  if (req.limit > 0 && static_cast<size_t>(req.limit) < n) {
    n = static_cast<size_t>(req.limit);
    res.more = true;
  }
  for (size_t i = 0; i < n; ++i) res.kvs.push_back(to_kv(hits[i].first, *hits[i].second, req.keys_only));
  return res;
}

Status KvStore::check_revision(int64_t revision) const {
  if (revision > 0 && revision < compact_revision_) {
    return Status(Code::kCompacted, "revision " + std::to_string(revision) + " has been compacted")
        .with_detail(compact_revision_);
  }
  if (revision > revision_) {
    return Status(Code::kOutOfRange, Reason::kFutureRevision,
                  "revision " + std::to_string(revision) + " is past the current " + std::to_string(revision_));
  }
  return Status::ok();
}

void KvStore::range(const RangeRequest& req, Callback<RangeResult> cb) {
  if (Status s = check_revision(req.revision); !s) return cb(std::move(s));
  cb(range_at(req, false));
}

void KvStore::get(const std::string& key, KvType type, Callback<std::optional<std::string_view>> view) const {
  auto it = keys_.find(key);
  // History holds written versions only, oldest first: the last is now.
  using Value = std::optional<std::string_view>;
  if (it == keys_.end() || it->second.empty() || !alive(it->second.back(), now_ms())) return view(Value());
  if (it->second.back().type != type) return view(wrong_type(key));
  view(Value(it->second.back().value));
}

int64_t KvStore::last_change(const std::string& key) const {
  auto it = keys_.find(key);
  if (it == keys_.end() || it->second.empty()) return 0;
  // A key that expired since is a change too, before it is deleted.
  const Version& v = it->second.back();
  return v.tombstone || alive(v, now_ms()) ? v.mod : -v.mod;
}

int64_t KvStore::deadline(const std::string& key) const {
  auto it = keys_.find(key);
  if (it == keys_.end() || it->second.empty() || !alive(it->second.back(), now_ms())) return -2;
  return it->second.back().expire_ms ? it->second.back().expire_ms : -1;
}

KvExpiryStats KvStore::expiry_stats() const {
  const int64_t now = now_ms();
  KvExpiryStats st;
  std::vector<__int128> left;  // far deadlines would overflow 64 bits
  for (auto& [k, h] : keys_) {
    if (h.empty() || !alive(h.back(), now)) continue;
    const unsigned db = redis_database_of(k);
    if (db >= st.databases.size()) {
      st.databases.resize(db + 1);
      left.resize(db + 1);
    }
    st.databases[db].keys++;
    if (h.back().expire_ms == 0) continue;
    st.databases[db].expiring++;
    left[db] += h.back().expire_ms - now;
  }
  for (size_t db = 0; db < st.databases.size(); ++db) {
    auto& d = st.databases[db];
    d.avg_ttl_ms = d.expiring ? static_cast<int64_t>(left[db] / d.expiring) : 0;
  }
  st.expired = expired_;
  return st;
}

void KvStore::status(Callback<KvStatus> cb) {
  KvStatus s;
  s.revision = revision_;
  s.compact_revision = compact_revision_;
  const int64_t now = now_ms();
  for (auto& [k, h] : keys_) {
    if (h.empty() || !alive(h.back(), now)) continue;
    s.keys++;
  }
  cb(s);
}

// ------------------------------------------------------------------ transactions

bool KvStore::compare(const KvCompare& c, bool all_types) const {
  auto holds = [&c](const Version* v) {
    int cmp = 0;
    if (c.target == KvCompare::Target::kValue) {
      if (!v) return false;  // etcd: a value compare on a missing key fails
      cmp = v->value.compare(c.value);
      cmp = cmp < 0 ? -1 : cmp > 0 ? 1 : 0;
    } else {
      int64_t have = 0;
      if (v) {
        have = c.target == KvCompare::Target::kVersion ? v->version
               : c.target == KvCompare::Target::kCreate ? v->create
                                                        : v->mod;
      }
      cmp = have < c.number ? -1 : have > c.number ? 1 : 0;
    }
    switch (c.op) {
      case KvCompare::Op::kEqual: return cmp == 0;
      case KvCompare::Op::kGreater: return cmp > 0;
      case KvCompare::Op::kLess: return cmp < 0;
      case KvCompare::Op::kNotEqual: return cmp != 0;
    }
    return false;
  };
  // One key (SET's compares, most of etcd's): no list of keys to build.
  if (c.range_end.empty()) {
    const Version* v = staged_lookup(c.key);
    return holds(seen(c.key, v, all_types) ? v : nullptr);
  }
  std::vector<std::string> keys = staged_keys(c.key, c.range_end, all_types);
  // etcd: a range without keys compares like a missing key.
  if (keys.empty()) return holds(nullptr);
  return std::all_of(keys.begin(), keys.end(), [&](const std::string& k) { return holds(staged_lookup(k)); });
}

// The writes of one transaction as it is planned: the versions it makes
// (newest last), and the ops of its record.
struct KvStore::TxnPlan {
  int64_t rev = 0;
  std::string ops_body;
  uint64_t changes = 0;
  std::vector<std::pair<std::string, Version>> pending;

  // Empty for a transaction at `r`; the buffers keep their capacity.
  void reset(int64_t r) {
    rev = r;
    ops_body.clear();
    changes = 0;
    pending.clear();
  }

  // A delete of `k`, into the plan and its record.
  void stage_delete(const std::string& k) {
    Version v;
    v.mod = rev;
    v.tombstone = true;
    BodyWriter w(&ops_body);
    w.byte(kOpDelete);
    w.str(k);
    pending.push_back({k, std::move(v)});
    changes++;
  }

  // The staged view with this transaction's own writes on top.
  const Version* view(const KvStore& kv, const std::string& k) const {
    for (auto it = pending.rbegin(); it != pending.rend(); ++it) {
      if (it->first == k) return it->second.tombstone ? nullptr : &it->second;
    }
    return kv.staged_lookup(k);
  }
};

void KvStore::overlay(const TxnPlan& plan, const RangeRequest& req, int64_t now,
                      std::vector<std::pair<std::string, const Version*>>* hits) const {
  auto by_key = [](const auto& h, const std::string& k) { return h.first < k; };
  for (const auto& [k, unused] : plan.pending) {
    if (!in_range(k, req.key, req.range_end)) continue;
    const Version* v = plan.view(*this, k);  // the transaction's newest for k
    const bool shown = v && alive(*v, now) && seen(k, v, req.all_types);
    auto at = std::lower_bound(hits->begin(), hits->end(), k, by_key);
    const bool there = at != hits->end() && at->first == k;
    if (there && shown) at->second = v;
    else if (there) hits->erase(at);
    else if (shown) hits->insert(at, {k, v});
  }
}

Status KvStore::plan_op(const KvOp& op, bool all_types, TxnPlan& plan, KvOpResult* r) const {
  switch (op.kind) {
    case KvOp::Kind::kRange: {
      if (Status s = check_revision(op.range.revision); !s) return s;
      if (all_types == op.range.all_types) {
        r->range = range_at(op.range, true, &plan);
      } else {
        RangeRequest req = op.range;
        req.all_types = all_types;
        r->range = range_at(req, true, &plan);
      }
      return Status::ok();
    }
    case KvOp::Kind::kDelete: plan_delete(op, all_types, plan, r); return Status::ok();
    case KvOp::Kind::kTxn: return Status(Code::kInvalidArgument, "a nested transaction is planned as a branch");
    case KvOp::Kind::kPut: break;
  }
  const std::string& key = op.range.key;
  if (!all_types && redis_database_of(key) != 0) {
    return Status(Code::kInvalidArgument, "keys beginning with a NUL byte and then another are Redis databases' own");
  }
  const Version* prev = plan.view(*this, key);
  if (op.ignore_value && !prev) return Status(Code::kNotFound, Reason::kNoKey, "key not found");
  const KvType type = op.ignore_value ? prev->type : op.type;
  // Another type is not this key's past: the put starts it anew.
  const Version* same = prev && prev->type == type ? prev : nullptr;
  if (op.prev_kv && prev) {
    if (same) r->prev.push_back(to_kv(key, *prev, false));
    else if (all_types) return wrong_type(key);
  }
  Version v;
  v.mod = plan.rev;
  v.create = same ? same->create : plan.rev;
  v.version = same ? same->version + 1 : 1;
  v.value = op.ignore_value ? prev->value : op.value;
  v.expire_ms = op.keep_ttl ? (prev ? prev->expire_ms : 0) : op.expire_ms;
  v.type = type;
  BodyWriter w(&plan.ops_body);
  if (type != KvType::kString) {
    w.byte(kOpPutTyped);
    w.byte(static_cast<uint8_t>(type));
    w.str(key);
    w.str(v.value);
    w.varint(static_cast<uint64_t>(v.expire_ms));
  } else {
    w.byte(v.expire_ms ? kOpPutExpiring : kOpPut);
    w.str(key);
    w.str(v.value);
    if (v.expire_ms) w.varint(static_cast<uint64_t>(v.expire_ms));
  }
  plan.pending.push_back({key, std::move(v)});
  plan.changes++;
  return Status::ok();
}

void KvStore::plan_delete(const KvOp& op, bool all_types, TxnPlan& plan, KvOpResult* r) const {
  std::vector<std::string> keys;
  if (op.range.range_end.empty()) {
    if (seen(op.range.key, plan.view(*this, op.range.key), all_types)) keys.push_back(op.range.key);
  } else {
    for (auto& k : staged_keys(op.range.key, op.range.range_end, all_types)) {
      if (seen(k, plan.view(*this, k), all_types)) keys.push_back(k);
    }
    for (auto& [k, v] : plan.pending) {
      if (!v.tombstone && seen(k, &v, all_types) && in_range(k, op.range.key, op.range.range_end) &&
          std::find(keys.begin(), keys.end(), k) == keys.end()) {
        keys.push_back(k);
      }
    }
  }
  for (auto& k : keys) {
    if (op.prev_kv) r->prev.push_back(to_kv(k, *plan.view(*this, k), false));
    plan.stage_delete(k);
  }
  r->deleted = static_cast<int64_t>(keys.size());
}

KvStore::KvStore(log::Log& log) : log_(log), plan_(std::make_unique<TxnPlan>()) {}
KvStore::~KvStore() = default;

void KvStore::txn(TxnRequest req, Callback<TxnResult> cb) { txn_lent(req, std::move(cb)); }

void KvStore::txn_lent(const TxnRequest& req, Callback<TxnResult> cb) {
  if (Status s = check_txn_writes(req); !s) return cb(std::move(s));
  // Every compare on the path first: none sees the transaction's writes.
  path_.clear();
  auto holds = [this, &req](const KvCompare& c) { return compare(c, req.all_types); };
  choose_branches(req, holds, &path_);
  TxnPlan& plan = *plan_;
  plan.reset(staged_revision_ + 1);
  TxnResult res;
  size_t at = 0;
  if (Status s = plan_branch(req, req.all_types, at, plan, &res); !s) return cb(std::move(s));
  if (plan.changes == 0) {
    res.revision = staged_revision_;
    return cb(std::move(res));
  }
  stage_plan(plan, std::move(res), std::move(cb));
}

Status KvStore::plan_branch(const TxnRequest& t, bool all_types, size_t& at, TxnPlan& plan, TxnResult* res) const {
  res->succeeded = path_[at++];
  const std::vector<KvOp>& ops = res->succeeded ? t.success : t.failure;
  res->results.resize(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    Status s = ops[i].kind == KvOp::Kind::kTxn
                   ? plan_branch(ops[i].txn.front(), all_types, at, plan, &res->results[i].txn.emplace_back())
                   : plan_op(ops[i], all_types, plan, &res->results[i]);
    if (!s) return s;
  }
  return Status::ok();
}

void KvStore::stage_plan(TxnPlan& plan, TxnResult res, Callback<TxnResult> cb) {
  body_.clear();
  BodyWriter w(&body_);
  w.varint(plan.changes);
  body_ += plan.ops_body;
  log::RecordHeader h;
  h.type = RecordType::kKvTxn;
  h.number = static_cast<uint64_t>(plan.rev);
  h.timestamp_us = now_us();
  auto pos = log_.stage(h, {}, body_);
  if (!pos) return cb(pos.status());
  staged_revision_ = plan.rev;
  for (auto& [k, v] : plan.pending) staged_[k] = std::move(v);
  res.revision = plan.rev;
  log_.when_durable([cb = std::move(cb), res = std::move(res)](const Status& st) mutable {
    if (!st) return cb(st);
    cb(std::move(res));
  });
}

void KvStore::update(const std::string& key, KvType type, KvUpdater& fn, Callback<KvUpdateResult> cb) {
  const Version* cur = staged_lookup(key);
  if (cur && cur->type != type) return cb(wrong_type(key));
  KvUpdateResult res;
  if (cur) res.before = cur->value;
  Result<KvUpdate> decided = fn(res.before ? std::optional<std::string_view>(*res.before) : std::nullopt);
  if (!decided) return cb(decided.status());
  if (decided->write == KvUpdate::Write::kNone) {
    res.after = res.before;
    return cb(std::move(res));
  }
  // One put or delete, planned now (txn_lent plans before it returns), so
  // nothing is staged between the read above and this write.
  TxnRequest t;
  t.all_types = true;
  KvOp& op = t.success.emplace_back();
  op.range.key = key;
  if (decided->write == KvUpdate::Write::kPut) {
    op.kind = KvOp::Kind::kPut;
    op.type = type;
    op.keep_ttl = !decided->expire_ms;
    op.expire_ms = decided->expire_ms.value_or(0);
    op.value = std::move(decided->value);
    res.after = op.value;
  } else {
    op.kind = KvOp::Kind::kDelete;
  }
  txn_lent(t, [res = std::move(res), cb = std::move(cb)](Result<TxnResult> done) mutable {
    if (!done) return cb(done.status());
    cb(std::move(res));
  });
}

void KvStore::expire(const std::string& key, const KvExpire& e, Callback<bool> cb) {
  const Version* cur = staged_lookup(key);
  if (!cur) return cb(false);
  if (!e.applies_to(cur->expire_ms)) return cb(false);
  TxnRequest t;
  t.all_types = true;
  KvOp& op = t.success.emplace_back();
  op.range.key = key;
  if (e.at_ms != 0 && e.at_ms <= now_ms()) {
    op.kind = KvOp::Kind::kDelete;
  } else {
    op.kind = KvOp::Kind::kPut;
    op.ignore_value = true;
    op.expire_ms = e.at_ms;
  }
  txn_lent(t, [cb = std::move(cb)](Result<TxnResult> done) mutable {
    if (!done) return cb(done.status());
    cb(true);
  });
}

void KvStore::reap(int64_t now_ms) {
  TxnPlan& plan = *plan_;
  plan.reset(staged_revision_ + 1);
  // Bounded, so that keys expiring together make records of a sane size;
  // the timer comes back at once for the rest.
  while (!deadlines_.empty() && deadlines_.begin()->first <= now_ms && plan.changes < kMaxReapedPerRecord) {
    auto node = deadlines_.extract(deadlines_.begin());
    const std::string& key = node.value().second;
    // The entry may be of a version since replaced, or of a key already
    // in this plan: only the newest version's own deadline counts.
    bool planned = std::any_of(plan.pending.begin(), plan.pending.end(), [&](auto& p) { return p.first == key; });
    const Version* v = planned ? nullptr : staged_raw(key);
    if (!v || v->expire_ms == 0 || v->expire_ms > now_ms) continue;
    plan.stage_delete(key);
    expired_++;
  }
  if (plan.changes == 0) return;
  stage_plan(plan, TxnResult{}, [](Result<TxnResult> r) {
    // The keys stay invisible; the next start reaps them again.
    if (!r) spdlog::warn("key-value: deleting expired keys: {}", r.status().to_string());
  });
}

void KvStore::compact(int64_t revision, Callback<int64_t> cb) {
  if (revision <= compact_revision_) {
    return cb(Status(Code::kCompacted, "revision " + std::to_string(revision) + " has been compacted")
                  .with_detail(compact_revision_));
  }
  if (Status s = check_revision(revision); !s) return cb(std::move(s));
  log::RecordHeader h;
  h.type = RecordType::kKvCompact;
  h.number = static_cast<uint64_t>(revision);
  h.timestamp_us = now_us();
  auto pos = log_.stage(h, {}, {});
  if (!pos) return cb(pos.status());
  log_.when_durable([cb = std::move(cb), revision](const Status& st) {
    if (!st) return cb(st);
    cb(revision);
  });
}

// ------------------------------------------------------------------ applying records

void KvStore::apply(const log::RecordView& rec, bool live) {
  switch (rec.header.type) {
    case RecordType::kKvRestore: return apply_restore(rec, live);
    case RecordType::kKvCompact: return apply_compact(static_cast<int64_t>(rec.header.number));
    case RecordType::kKvTxn: return apply_txn(rec, live);
    default: return;
  }
}

void KvStore::apply_compact(int64_t rev) {
  if (rev <= compact_revision_) return;
  compact_revision_ = rev;
  for (auto it = keys_.begin(); it != keys_.end();) {
    auto& hist = it->second;
    // Keep the newest version at or before `rev`, and everything after.
    auto upto = std::upper_bound(hist.begin(), hist.end(), rev, [](int64_t r, const Version& v) { return r < v.mod; });
    if (upto != hist.begin()) {
      auto keep = std::prev(upto);
      if (keep->tombstone) ++keep;
      hist.erase(hist.begin(), keep);
    }
    it = hist.empty() ? keys_.erase(it) : std::next(it);
  }
  auto c = std::lower_bound(changes_.begin(), changes_.end(), rev, [](const Change& ch, int64_t r) { return ch.rev < r; });
  changes_.erase(changes_.begin(), c);
  changed_ = true;
}

void KvStore::apply_txn(const log::RecordView& rec, bool live) {
  int64_t rev = static_cast<int64_t>(rec.header.number);
  BodyReader r(rec.body);
  uint64_t n = 0;
  if (!r.varint(&n)) return;
  for (uint64_t i = 0; i < n; ++i) {
    uint8_t kind, type = 0;
    std::string_view key, value;
    uint64_t expire = 0;
    if (!r.byte(&kind)) return;
    if (kind == kOpPutTyped && !r.byte(&type)) return;
    if (!r.str(&key)) return;
    if (kind != kOpDelete && !r.str(&value)) return;
    if ((kind == kOpPutExpiring || kind == kOpPutTyped) && !r.varint(&expire)) return;
    std::string k(key);
    auto& hist = keys_[k];
    const Version* prev = hist.empty() || hist.back().tombstone ? nullptr : &hist.back();
    Version v;
    v.mod = rev;
    if (kind != kOpDelete) {
      v.type = static_cast<KvType>(type);
      const Version* same = prev && prev->type == v.type ? prev : nullptr;
      v.create = same ? same->create : rev;
      v.version = same ? same->version + 1 : 1;
      v.value.assign(value);
      v.expire_ms = static_cast<int64_t>(expire);
    } else {
      v.tombstone = true;
      v.type = prev ? prev->type : KvType::kString;
    }
    // The deadline of the version replaced goes with it, so that a key
    // whose deadline is renewed again and again keeps one entry.
    if (prev && prev->expire_ms) deadlines_.erase({prev->expire_ms, k});
    note_deadline(k, v);
    hist.push_back(std::move(v));
    changes_.push_back({rev, k});
    if (auto s = staged_.find(k); s != staged_.end() && s->second.mod <= rev) staged_.erase(s);
  }
  revision_ = rev;
  if (!live) staged_revision_ = rev;
  changed_ = true;
}

void KvStore::note_deadline(const std::string& key, const Version& v) {
  if (v.expire_ms != 0 && !v.tombstone) deadlines_.insert({v.expire_ms, key});
}

}  // namespace redcar::shard
