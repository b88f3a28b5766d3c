// The key-value view through the Engine API, with etcd's semantics: one
// revision counter, per-key create/mod revision and version, ranges (by
// key, prefix, interval, at an older revision), deletes, transactions,
// compaction and watches — and all of it after reopening the engine.
#include <gtest/gtest.h>

#include "engine/common/clock.h"
#include "tests/unit/engine_test_util.h"

namespace redcar {
namespace {

using namespace redcar::test;

std::string prefix_end(std::string p) {
  p.back() = static_cast<char>(p.back() + 1);
  return p;
}

class KvTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }
  void open() {
    e_.reset();
    e_ = open_engine(mem_options(fs_));
    ASSERT_TRUE(e_);
  }
  Engine& e() { return *e_; }

  Result<TxnResult> put(const std::string& k, const std::string& v, bool prev_kv = false) {
    return call<TxnResult>([&](auto cb) { e().kv_put(k, v, prev_kv, cb); });
  }
  Result<TxnResult> del(const std::string& k, const std::string& end = "", bool prev_kv = false) {
    return call<TxnResult>([&](auto cb) { e().kv_delete(k, end, prev_kv, cb); });
  }
  Result<RangeResult> range(RangeRequest req) {
    return call<RangeResult>([&](auto cb) { e().kv_range(req, cb); });
  }
  Result<RangeResult> range(const std::string& key, const std::string& end = "", int64_t revision = 0) {
    RangeRequest r;
    r.key = key;
    r.range_end = end;
    r.revision = revision;
    return range(r);
  }
  Result<TxnResult> txn(TxnRequest t) {
    return call<TxnResult>([&](auto cb) { e().kv_txn(t, cb); });
  }
  Result<KvStatus> status() {
    return call<KvStatus>([&](auto cb) { e().kv_status(cb); });
  }
  // The value of `key`, or "<none>".
  std::string get(const std::string& key) {
    auto r = range(key);
    EXPECT_TRUE(r) << r.status().to_string();
    if (!r || r->kvs.empty()) return "<none>";
    return r->kvs[0].value;
  }
  static std::vector<std::string> keys(const RangeResult& r) {
    std::vector<std::string> out;
    for (auto& kv : r.kvs) out.push_back(kv.key);
    return out;
  }

  io::MemFs fs_;
  std::unique_ptr<Engine> e_;
};

KvOp put_op(std::string key, std::string value, bool prev_kv = false) {
  KvOp op;
  op.kind = KvOp::Kind::kPut;
  op.range.key = std::move(key);
  op.value = std::move(value);
  op.prev_kv = prev_kv;
  return op;
}
KvOp delete_op(std::string key, std::string end = "") {
  KvOp op;
  op.kind = KvOp::Kind::kDelete;
  op.range.key = std::move(key);
  op.range.range_end = std::move(end);
  return op;
}
KvOp range_op(std::string key, std::string end = "") {
  KvOp op;
  op.kind = KvOp::Kind::kRange;
  op.range.key = std::move(key);
  op.range.range_end = std::move(end);
  return op;
}
KvCompare cmp(KvCompare::Target target, KvCompare::Op op, std::string key, int64_t number,
              std::string value = "") {
  KvCompare c;
  c.target = target;
  c.op = op;
  c.key = std::move(key);
  c.number = number;
  c.value = std::move(value);
  return c;
}

// etcd's numbering, which etcd clients rely on: an empty store is at
// revision 1, the first write makes 2, and a reopened store carries on.
TEST_F(KvTest, RevisionsStartAtOneAsInEtcd) {
  auto st = status();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->revision, 1);
  auto p = put("a", "1");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->revision, 2);
  open();
  st = status();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->revision, 2);
  EXPECT_EQ(put("a", "2")->revision, 3);
}

TEST_F(KvTest, PutGetRevisionsAndVersions) {
  auto st = status();
  ASSERT_TRUE(st);
  int64_t base = st->revision;
  auto p1 = put("a", "1");
  ASSERT_TRUE(p1) << p1.status().to_string();
  EXPECT_EQ(p1->revision, base + 1);
  auto p2 = put("b", "x");
  ASSERT_TRUE(p2);
  EXPECT_EQ(p2->revision, base + 2);
  auto p3 = put("a", "2", true);
  ASSERT_TRUE(p3);
  EXPECT_EQ(p3->revision, base + 3);
  ASSERT_EQ(p3->results.size(), 1u);
  ASSERT_EQ(p3->results[0].prev.size(), 1u);
  EXPECT_EQ(p3->results[0].prev[0].value, "1");
  EXPECT_EQ(p3->results[0].prev[0].version, 1);

  auto r = range("a");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(r->kvs[0].key, "a");
  EXPECT_EQ(r->kvs[0].value, "2");
  EXPECT_EQ(r->kvs[0].create_revision, base + 1);
  EXPECT_EQ(r->kvs[0].mod_revision, base + 3);
  EXPECT_EQ(r->kvs[0].version, 2);
  EXPECT_EQ(r->revision, base + 3);
  EXPECT_EQ(r->count, 1);
  EXPECT_FALSE(r->more);

  auto d = del("a");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->revision, base + 4);
  EXPECT_EQ(get("a"), "<none>");
  auto again = put("a", "3");
  ASSERT_TRUE(again);
  r = range("a");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(r->kvs[0].version, 1);  // a new life
  EXPECT_EQ(r->kvs[0].create_revision, base + 5);
  EXPECT_EQ(r->kvs[0].mod_revision, base + 5);

  // A transaction with several writes is one revision.
  TxnRequest t;
  t.success = {put_op("m1", "a"), put_op("m2", "b"), delete_op("b")};
  auto tr = txn(t);
  ASSERT_TRUE(tr);
  EXPECT_EQ(tr->revision, base + 6);
  auto m = range("m1", "m3");
  ASSERT_TRUE(m);
  ASSERT_EQ(m->kvs.size(), 2u);
  EXPECT_EQ(m->kvs[0].mod_revision, base + 6);
  EXPECT_EQ(m->kvs[1].mod_revision, base + 6);
  st = status();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->revision, base + 6);
  EXPECT_EQ(st->keys, 3u);  // a, m1, m2

  // A delete of nothing writes nothing.
  auto nothing = del("zzz");
  ASSERT_TRUE(nothing);
  EXPECT_EQ(nothing->revision, base + 6);
  ASSERT_EQ(nothing->results.size(), 1u);
  EXPECT_EQ(nothing->results[0].deleted, 0);
  auto empty_key = put("", "v");
  ASSERT_FALSE(empty_key);
  EXPECT_EQ(empty_key.status().code(), Code::kInvalidArgument);
}

TEST_F(KvTest, RangesByPrefixIntervalAndFromKey) {
  for (const char* k : {"p/a", "p/b", "p/c", "p0", "q", "o"}) ASSERT_TRUE(put(k, std::string("v-") + k));
  auto pre = range("p/", prefix_end("p/"));
  ASSERT_TRUE(pre);
  EXPECT_EQ(keys(*pre), (std::vector<std::string>{"p/a", "p/b", "p/c"}));
  EXPECT_EQ(pre->kvs[1].value, "v-p/b");
  auto interval = range("p/b", "q");
  ASSERT_TRUE(interval);
  EXPECT_EQ(keys(*interval), (std::vector<std::string>{"p/b", "p/c", "p0"}));
  auto from = range("p/c", std::string(1, '\0'));
  ASSERT_TRUE(from);
  EXPECT_EQ(keys(*from), (std::vector<std::string>{"p/c", "p0", "q"}));
  auto all = range(std::string(1, '\0'), std::string(1, '\0'));
  ASSERT_TRUE(all);
  EXPECT_EQ(all->kvs.size(), 6u);
  auto none = range("x", "y");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->kvs.empty());
  EXPECT_EQ(none->count, 0);

  RangeRequest lim;
  lim.key = "p/";
  lim.range_end = prefix_end("p/");
  lim.limit = 2;
  auto limited = range(lim);
  ASSERT_TRUE(limited);
  EXPECT_EQ(keys(*limited), (std::vector<std::string>{"p/a", "p/b"}));
  EXPECT_TRUE(limited->more);
  EXPECT_EQ(limited->count, 3);
  lim.limit = 3;
  limited = range(lim);
  ASSERT_TRUE(limited);
  EXPECT_FALSE(limited->more);

  RangeRequest co;
  co.key = "p/";
  co.range_end = prefix_end("p/");
  co.count_only = true;
  auto counted = range(co);
  ASSERT_TRUE(counted);
  EXPECT_EQ(counted->count, 3);
  EXPECT_TRUE(counted->kvs.empty());

  RangeRequest ko;
  ko.key = "p/";
  ko.range_end = prefix_end("p/");
  ko.keys_only = true;
  auto ks = range(ko);
  ASSERT_TRUE(ks);
  ASSERT_EQ(ks->kvs.size(), 3u);
  for (auto& kv : ks->kvs) {
    EXPECT_TRUE(kv.value.empty());
    EXPECT_GT(kv.mod_revision, 0);
  }
}

TEST_F(KvTest, RangeAtOlderRevisionsAndCompaction) {
  auto r1 = put("k", "one");
  ASSERT_TRUE(r1);
  auto r2 = put("k", "two");
  ASSERT_TRUE(r2);
  auto r3 = put("gone", "soon");
  ASSERT_TRUE(r3);
  auto r4 = del("gone");
  ASSERT_TRUE(r4);
  auto r5 = put("k", "three");
  ASSERT_TRUE(r5);

  auto at = [&](int64_t rev, const std::string& key) -> std::string {
    auto r = range(key, "", rev);
    EXPECT_TRUE(r) << r.status().to_string();
    if (!r || r->kvs.empty()) return "<none>";
    return r->kvs[0].value + "@" + std::to_string(r->kvs[0].version);
  };
  EXPECT_EQ(at(r1->revision, "k"), "one@1");
  EXPECT_EQ(at(r2->revision, "k"), "two@2");
  EXPECT_EQ(at(r4->revision, "k"), "two@2");
  EXPECT_EQ(at(r3->revision, "gone"), "soon@1");
  EXPECT_EQ(at(r4->revision, "gone"), "<none>");
  EXPECT_EQ(at(0, "k"), "three@3");
  auto old_all = range("a", "z", r3->revision);
  ASSERT_TRUE(old_all);
  EXPECT_EQ(keys(*old_all), (std::vector<std::string>{"gone", "k"}));

  auto future = range("k", "", r5->revision + 1);
  ASSERT_FALSE(future);
  EXPECT_EQ(future.status().code(), Code::kOutOfRange);

  auto c = call<int64_t>([&](auto cb) { e().kv_compact(r4->revision, cb); });
  ASSERT_TRUE(c) << c.status().to_string();
  EXPECT_EQ(*c, r4->revision);
  auto compacted = range("k", "", r2->revision);
  ASSERT_FALSE(compacted);
  EXPECT_EQ(compacted.status().code(), Code::kCompacted);
  EXPECT_EQ(at(r4->revision, "k"), "two@2");  // the compaction point itself stays readable
  EXPECT_EQ(at(r4->revision, "gone"), "<none>");
  EXPECT_EQ(at(0, "k"), "three@3");
  auto again = call<int64_t>([&](auto cb) { e().kv_compact(r3->revision, cb); });
  ASSERT_FALSE(again);
  EXPECT_EQ(again.status().code(), Code::kCompacted);
  auto ahead = call<int64_t>([&](auto cb) { e().kv_compact(r5->revision + 10, cb); });
  ASSERT_FALSE(ahead);
  EXPECT_EQ(ahead.status().code(), Code::kOutOfRange);
  auto st = status();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->compact_revision, r4->revision);
  EXPECT_EQ(st->revision, r5->revision);
}

TEST_F(KvTest, PointGetSeesTheCurrentValueDuringTheCall) {
  // The value is a view into the store, valid only inside the callback: it
  // is copied there, on the shard's thread.
  auto point_get = [&](const std::string& key) -> std::string {
    auto got = call<std::string>([&](auto cb) {
      e().kv_get(key, [cb = std::move(cb)](Result<std::optional<std::string_view>> r) mutable {
        if (!r) return cb(r.status());
        cb(*r ? std::string(**r) : std::string("<none>"));
      });
    });
    EXPECT_TRUE(got) << got.status().to_string();
    return got ? *got : "<error>";
  };
  EXPECT_EQ(point_get("p"), "<none>");
  ASSERT_TRUE(put("p", "one"));
  ASSERT_TRUE(put("p", "two"));
  ASSERT_TRUE(put("q", std::string(5000, 'q')));
  EXPECT_EQ(point_get("p"), "two") << "the newest version, not the first";
  EXPECT_EQ(point_get("q"), std::string(5000, 'q'));
  ASSERT_TRUE(del("p"));
  EXPECT_EQ(point_get("p"), "<none>") << "a deleted key is gone";
  auto st = status();
  ASSERT_TRUE(st);
  ASSERT_TRUE(call<int64_t>([&](auto cb) { e().kv_compact(st->revision, cb); }));
  EXPECT_EQ(point_get("q"), std::string(5000, 'q')) << "compaction keeps the current value";
  open();  // recovered from the log
  EXPECT_EQ(point_get("q"), std::string(5000, 'q'));
  EXPECT_EQ(point_get("p"), "<none>");
}

TEST_F(KvTest, DeleteSingleAndRangeWithPrevKv) {
  for (const char* k : {"d/1", "d/2", "d/3", "e"}) ASSERT_TRUE(put(k, std::string("v") + k));
  auto one = del("d/2", "", true);
  ASSERT_TRUE(one);
  ASSERT_EQ(one->results.size(), 1u);
  EXPECT_EQ(one->results[0].deleted, 1);
  ASSERT_EQ(one->results[0].prev.size(), 1u);
  EXPECT_EQ(one->results[0].prev[0].key, "d/2");
  EXPECT_EQ(one->results[0].prev[0].value, "vd/2");
  auto many = del("d/", prefix_end("d/"), true);
  ASSERT_TRUE(many);
  EXPECT_EQ(many->results[0].deleted, 2);
  ASSERT_EQ(many->results[0].prev.size(), 2u);
  EXPECT_EQ(many->results[0].prev[0].key, "d/1");
  EXPECT_EQ(many->results[0].prev[1].key, "d/3");
  EXPECT_EQ(many->revision, one->revision + 1);
  auto quiet = del("e", "", false);
  ASSERT_TRUE(quiet);
  EXPECT_EQ(quiet->results[0].deleted, 1);
  EXPECT_TRUE(quiet->results[0].prev.empty());
  auto rest = range(std::string(1, '\0'), std::string(1, '\0'));
  ASSERT_TRUE(rest);
  EXPECT_TRUE(rest->kvs.empty());
}

TEST_F(KvTest, TransactionsCompareAndBranch) {
  auto p = put("k", "v1");
  ASSERT_TRUE(p);
  int64_t created = p->revision;
  ASSERT_TRUE(put("k", "v2"));  // version 2
  auto other = put("o", "x");
  ASSERT_TRUE(other);
  int64_t mod = created + 1;

  using T = KvCompare::Target;
  using O = KvCompare::Op;
  struct Case {
    KvCompare c;
    bool want;
  };
  std::vector<Case> cases = {
      {cmp(T::kVersion, O::kEqual, "k", 2), true},
      {cmp(T::kVersion, O::kEqual, "k", 1), false},
      {cmp(T::kVersion, O::kGreater, "k", 1), true},
      {cmp(T::kVersion, O::kLess, "k", 2), false},
      {cmp(T::kVersion, O::kNotEqual, "k", 3), true},
      {cmp(T::kVersion, O::kEqual, "missing", 0), true},  // a missing key has version 0
      {cmp(T::kCreate, O::kEqual, "k", created), true},
      {cmp(T::kCreate, O::kLess, "k", created), false},
      {cmp(T::kCreate, O::kEqual, "missing", 0), true},
      {cmp(T::kMod, O::kEqual, "k", mod), true},
      {cmp(T::kMod, O::kGreater, "k", mod), false},
      {cmp(T::kMod, O::kLess, "k", other->revision), true},
      {cmp(T::kMod, O::kNotEqual, "k", mod), false},
      {cmp(T::kValue, O::kEqual, "k", 0, "v2"), true},
      {cmp(T::kValue, O::kEqual, "k", 0, "v1"), false},
      {cmp(T::kValue, O::kGreater, "k", 0, "v1"), true},
      {cmp(T::kValue, O::kLess, "k", 0, "v1"), false},
      {cmp(T::kValue, O::kNotEqual, "k", 0, "zz"), true},
      {cmp(T::kValue, O::kEqual, "missing", 0, ""), false},  // a value compare on a missing key fails
  };
  // Over a range: every key must pass; an empty range compares like a
  // missing key.
  auto over = [](KvCompare c, std::string end) {
    c.range_end = std::move(end);
    return c;
  };
  cases.push_back({over(cmp(T::kVersion, O::kGreater, "a", 0), "z"), true});
  cases.push_back({over(cmp(T::kVersion, O::kEqual, "a", 2), "z"), false});  // o has version 1
  cases.push_back({over(cmp(T::kVersion, O::kGreater, "none/", 0), "none0"), false});
  cases.push_back({over(cmp(T::kVersion, O::kEqual, "none/", 0), "none0"), true});
  cases.push_back({over(cmp(T::kValue, O::kEqual, "none/", 0, ""), "none0"), false});
  cases.push_back({over(cmp(T::kCreate, O::kLess, "none/", 1), "none0"), true});
  for (size_t i = 0; i < cases.size(); ++i) {
    TxnRequest t;
    t.compare = {cases[i].c};
    t.success = {range_op("k")};
    t.failure = {range_op("o")};
    auto r = txn(t);
    ASSERT_TRUE(r) << r.status().to_string();
    EXPECT_EQ(r->succeeded, cases[i].want) << "case " << i;
    ASSERT_EQ(r->results.size(), 1u);
    ASSERT_EQ(r->results[0].range.kvs.size(), 1u);
    EXPECT_EQ(r->results[0].range.kvs[0].key, cases[i].want ? "k" : "o") << "case " << i;
    EXPECT_EQ(r->revision, other->revision);  // read-only: no new revision
  }

  // A compare-and-swap: both branches write.
  TxnRequest cas;
  cas.compare = {cmp(T::kValue, O::kEqual, "k", 0, "v2"), cmp(T::kVersion, O::kEqual, "k", 2)};
  cas.success = {put_op("k", "v3", true), put_op("log", "swapped")};
  cas.failure = {put_op("log", "lost")};
  auto won = txn(cas);
  ASSERT_TRUE(won);
  EXPECT_TRUE(won->succeeded);
  EXPECT_EQ(won->revision, other->revision + 1);
  ASSERT_EQ(won->results.size(), 2u);
  ASSERT_EQ(won->results[0].prev.size(), 1u);
  EXPECT_EQ(won->results[0].prev[0].value, "v2");
  auto lost = txn(cas);  // the value is v3 now
  ASSERT_TRUE(lost);
  EXPECT_FALSE(lost->succeeded);
  EXPECT_EQ(lost->revision, won->revision + 1);
  EXPECT_EQ(get("k"), "v3");
  EXPECT_EQ(get("log"), "lost");

  // Transactions issued back to back see each other.
  std::vector<std::shared_ptr<std::promise<Result<TxnResult>>>> ps;
  for (int i = 0; i < 20; ++i) {
    TxnRequest inc;
    inc.compare = {cmp(T::kVersion, O::kEqual, "counter", i)};
    inc.success = {put_op("counter", std::to_string(i + 1))};
    auto pr = std::make_shared<std::promise<Result<TxnResult>>>();
    ps.push_back(pr);
    e().kv_txn(inc, [pr](Result<TxnResult> r) { pr->set_value(std::move(r)); });
  }
  for (auto& pr : ps) {
    auto f = pr->get_future();
    ASSERT_EQ(f.wait_for(kCallTimeout), std::future_status::ready);
    auto r = f.get();
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->succeeded);
  }
  EXPECT_EQ(get("counter"), "20");
}

TEST_F(KvTest, DuplicateKeyInTxnRefused) {
  ASSERT_TRUE(put("k", "v"));
  auto before = status();
  ASSERT_TRUE(before);
  TxnRequest t;
  t.success = {put_op("k", "1"), put_op("k", "2")};
  auto r = txn(t);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().reason(), Reason::kDuplicateKey);

  TxnRequest pd;
  pd.success = {put_op("k", "1"), delete_op("k")};
  auto r2 = txn(pd);
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.status().code(), Code::kInvalidArgument);
  TxnRequest dp;
  dp.success = {delete_op("a", "z"), put_op("k", "1")};
  auto r3 = txn(dp);
  ASSERT_FALSE(r3);
  EXPECT_EQ(r3.status().code(), Code::kInvalidArgument);

  // Keys in different branches do not clash; neither do two deletes.
  TxnRequest ok;
  ok.success = {put_op("k", "s")};
  ok.failure = {put_op("k", "f")};
  ASSERT_TRUE(txn(ok));
  TxnRequest dd;
  dd.success = {delete_op("x"), delete_op("x")};
  ASSERT_TRUE(txn(dd));

  auto after = status();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->revision, before->revision + 1);
  EXPECT_EQ(get("k"), "s");
}

// Collects watch events; shared with the handler (a shard thread).
struct Watched {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<WatchEvent> events;
  bool ended = false;
  Status end_status;

  Engine::WatchHandler handler(std::shared_ptr<Watched> self) {
    return [self](std::vector<WatchEvent> evs, int64_t, std::function<void()> more) {
      {
        std::lock_guard lk(self->mu);
        for (auto& ev : evs) self->events.push_back(std::move(ev));
      }
      self->cv.notify_all();
      more();
    };
  }
  StatusCallback end(std::shared_ptr<Watched> self) {
    return [self](Status s) {
      {
        std::lock_guard lk(self->mu);
        self->ended = true;
        self->end_status = s;
      }
      self->cv.notify_all();
    };
  }
  bool wait_count(size_t n) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, std::chrono::seconds(5), [&] { return events.size() >= n; });
  }
  bool wait_end() {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, std::chrono::seconds(5), [&] { return ended; });
  }
  std::vector<std::string> summary() {
    std::lock_guard lk(mu);
    std::vector<std::string> out;
    for (auto& ev : events) {
      std::string s = (ev.type == WatchEvent::Type::kPut ? "put " : "del ") + ev.kv.key + "=" + ev.kv.value + "@" +
                      std::to_string(ev.kv.mod_revision);
      if (ev.prev) s += " prev=" + ev.prev->value;
      out.push_back(s);
    }
    return out;
  }
};

KvOp txn_op(std::vector<KvCompare> compare, std::vector<KvOp> success, std::vector<KvOp> failure = {}) {
  KvOp op;
  op.kind = KvOp::Kind::kTxn;
  TxnRequest& t = op.txn.emplace_back();
  t.compare = std::move(compare);
  t.success = std::move(success);
  t.failure = std::move(failure);
  return op;
}

// A transaction nested in another (etcd's request_txn): its compares see
// the store as it was before the transaction's first write, its writes
// share the transaction's one revision, and its result sits in the op's.
TEST_F(KvTest, NestedTransactionsBranchOnTheStateBeforeAnyWrite) {
  ASSERT_TRUE(put("a", "1"));
  using T = KvCompare::Target;
  using O = KvCompare::Op;
  TxnRequest t;
  t.compare = {cmp(T::kValue, O::kEqual, "a", 0, "1")};
  t.success = {put_op("b", "outer"),
               txn_op({cmp(T::kVersion, O::kEqual, "b", 0)},
                      {put_op("c", "then"), range_op("a"),
                       txn_op({cmp(T::kValue, O::kEqual, "a", 0, "2")}, {put_op("d", "deep")}, {delete_op("z")})},
                      {put_op("c", "else")})};
  t.failure = {put_op("failed", "x")};
  auto r = txn(t);
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_TRUE(r->succeeded);
  ASSERT_EQ(r->results.size(), 2u);
  ASSERT_EQ(r->results[1].txn.size(), 1u);
  const TxnResult& inner = r->results[1].txn[0];
  EXPECT_TRUE(inner.succeeded) << "b was missing before the transaction";
  ASSERT_EQ(inner.results.size(), 3u);
  ASSERT_EQ(inner.results[1].range.kvs.size(), 1u);
  EXPECT_EQ(inner.results[1].range.kvs[0].value, "1");
  ASSERT_EQ(inner.results[2].txn.size(), 1u);
  EXPECT_FALSE(inner.results[2].txn[0].succeeded);
  EXPECT_EQ(get("b"), "outer");
  EXPECT_EQ(get("c"), "then");
  EXPECT_EQ(get("d"), "<none>");
  EXPECT_EQ(get("failed"), "<none>");
  auto b = range("b"), c = range("c");
  ASSERT_TRUE(b && c);
  EXPECT_EQ(b->kvs[0].mod_revision, r->revision);
  EXPECT_EQ(c->kvs[0].mod_revision, r->revision) << "one revision for all of it";
  // A nested transaction alone, on its failure branch.
  TxnRequest alone;
  alone.success = {txn_op({cmp(T::kValue, O::kEqual, "a", 0, "2")}, {put_op("e", "then")}, {put_op("e", "else")})};
  ASSERT_TRUE(txn(alone));
  EXPECT_EQ(get("e"), "else");
}

// Transactions of many writes (SWAPDB's) are checked by another path than
// a few writes are; the rule is the same.
TEST_F(KvTest, ManyWritesFollowTheDuplicateKeyRule) {
  auto many = [](size_t n) {
    std::vector<KvOp> ops;
    for (size_t i = 0; i < n; ++i) ops.push_back(put_op("m/" + std::to_string(i), "v"));
    return ops;
  };
  auto outcome = [&](std::vector<KvOp> ops) {
    TxnRequest t;
    t.success = std::move(ops);
    auto r = txn(t);
    return r ? Reason::kNone : r.status().reason();
  };
  auto twice = many(40);
  twice.push_back(put_op("m/7", "again"));
  EXPECT_EQ(outcome(twice), Reason::kDuplicateKey);
  auto covered = many(40);
  covered.insert(covered.begin(), delete_op("m/3"));
  EXPECT_EQ(outcome(covered), Reason::kDuplicateKey);
  auto ranged = many(40);
  ranged.push_back(delete_op("m/", "m0"));
  EXPECT_EQ(outcome(ranged), Reason::kDuplicateKey);
  auto fine = many(40);
  fine.push_back(delete_op("other"));
  fine.push_back(delete_op("other"));
  EXPECT_EQ(outcome(fine), Reason::kNone);
  EXPECT_EQ(get("m/39"), "v");
}

// A range inside a transaction sees what the transaction wrote before it,
// as etcd's does: new keys, deleted ones, new values, counts and limits.
TEST_F(KvTest, RangesInATransactionSeeItsEarlierWrites) {
  ASSERT_TRUE(put("r/a", "1"));
  ASSERT_TRUE(put("r/c", "3"));
  TxnRequest t;
  KvOp limited = range_op("r/", "r0");
  limited.range.limit = 1;
  t.success = {put_op("r/b", "2"), delete_op("r/c"), range_op("r/", "r0"), put_op("r/a", "one"), range_op("r/a"),
               limited, range_op("r/c")};
  auto r = txn(t);
  ASSERT_TRUE(r) << r.status().to_string();
  const RangeResult& all = r->results[2].range;
  EXPECT_EQ(keys(all), (std::vector<std::string>{"r/a", "r/b"}));
  EXPECT_EQ(all.count, 2);
  EXPECT_EQ(all.kvs[0].value, "1") << "r/a is written later in the transaction";
  EXPECT_EQ(all.kvs[1].value, "2");
  const RangeResult& a = r->results[4].range;
  ASSERT_EQ(a.kvs.size(), 1u);
  EXPECT_EQ(a.kvs[0].value, "one");
  EXPECT_EQ(a.kvs[0].mod_revision, r->revision);
  EXPECT_EQ(a.kvs[0].version, 2);
  const RangeResult& one = r->results[5].range;
  EXPECT_EQ(keys(one), std::vector<std::string>{"r/a"});
  EXPECT_EQ(one.count, 2);
  EXPECT_TRUE(one.more);
  EXPECT_TRUE(r->results[6].range.kvs.empty()) << "deleted earlier in the transaction";
  EXPECT_EQ(get("r/a"), "one");
  EXPECT_EQ(get("r/c"), "<none>");
}

// A branch may not write a key twice through a nested transaction either;
// the two branches of one nested transaction never both run, so they may.
TEST_F(KvTest, NestedTransactionsFollowTheDuplicateKeyRule) {
  auto refused = [&](std::vector<KvOp> ops) {
    TxnRequest t;
    t.success = std::move(ops);
    auto r = txn(t);
    return !r && r.status().reason() == Reason::kDuplicateKey;
  };
  EXPECT_TRUE(refused({put_op("k", "1"), txn_op({}, {put_op("k", "2")})})) << "outer put, nested put";
  EXPECT_TRUE(refused({txn_op({}, {}, {put_op("k", "2")}), put_op("k", "1")})) << "nested put, outer put after";
  EXPECT_TRUE(refused({delete_op("a", "z"), txn_op({}, {put_op("k", "2")})})) << "outer delete covers it";
  EXPECT_TRUE(refused({txn_op({}, {delete_op("k")}), put_op("k", "1")})) << "nested delete covers the outer put";
  EXPECT_TRUE(refused({txn_op({}, {put_op("k", "1")}), txn_op({}, {}, {put_op("k", "2")})})) << "two nested";
  EXPECT_TRUE(refused({txn_op({}, {txn_op({}, {put_op("k", "1"), put_op("k", "2")})})})) << "deep inside";
  EXPECT_FALSE(refused({txn_op({}, {put_op("k", "then")}, {put_op("k", "else")})}));
  EXPECT_EQ(get("k"), "then");
  EXPECT_FALSE(refused({txn_op({}, {delete_op("k")}), txn_op({}, {delete_op("k")})})) << "deletes never clash";
  TxnRequest t;
  t.success = {txn_op({}, {put_op("", "no key")})};
  auto r = txn(t);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().reason(), Reason::kKeyMissing);
  EXPECT_EQ(get("k"), "<none>") << "deleted by the transaction before";
}

TEST_F(KvTest, WatchReplaysHistoryThenFollows) {
  auto r1 = put("w/a", "1");
  ASSERT_TRUE(r1);
  int64_t b = r1->revision;
  ASSERT_TRUE(put("w/b", "2"));
  ASSERT_TRUE(put("other", "x"));
  ASSERT_TRUE(put("w/a", "3"));
  ASSERT_TRUE(del("w/b"));

  auto all = std::make_shared<Watched>();
  WatchOptions o;
  o.key = "w/";
  o.range_end = prefix_end("w/");
  o.start_revision = b + 1;
  o.prev_kv = true;
  auto w = e().kv_watch(o, all->handler(all), all->end(all));
  ASSERT_TRUE(all->wait_count(3));
  auto one = std::make_shared<Watched>();
  WatchOptions k;
  k.key = "w/a";
  auto w2 = e().kv_watch(k, one->handler(one), one->end(one));  // from now on
  ASSERT_TRUE(put("w/c", "4"));
  ASSERT_TRUE(put("other", "y"));
  TxnRequest t;
  t.success = {put_op("w/a", "5"), put_op("w/d", "6")};
  ASSERT_TRUE(txn(t));
  ASSERT_TRUE(all->wait_count(6));
  ASSERT_TRUE(one->wait_count(1));
  auto s = [&](int64_t off) { return std::to_string(b + off); };
  EXPECT_EQ(all->summary(), (std::vector<std::string>{
                                "put w/b=2@" + s(1),
                                "put w/a=3@" + s(3) + " prev=1",
                                "del w/b=@" + s(4) + " prev=2",
                                "put w/c=4@" + s(5),
                                "put w/a=5@" + s(7) + " prev=3",
                                "put w/d=6@" + s(7),
                            }));
  EXPECT_EQ(one->summary(), (std::vector<std::string>{"put w/a=5@" + s(7)}));
  {
    std::lock_guard lk(all->mu);
    EXPECT_EQ(all->events[2].kv.version, 0);
    EXPECT_EQ(all->events[1].kv.version, 2);
    EXPECT_EQ(all->events[1].kv.create_revision, b);
  }
  w->cancel();
  w2->cancel();
  ASSERT_TRUE(all->wait_end());
  ASSERT_TRUE(one->wait_end());
  EXPECT_EQ(all->end_status.code(), Code::kUnavailable);
  ASSERT_TRUE(put("w/a", "after"));
  sleep_ms(20);
  EXPECT_EQ(all->summary().size(), 6u);
}

TEST_F(KvTest, WatchFromCompactedRevisionEnds) {
  auto r1 = put("k", "1");
  ASSERT_TRUE(r1);
  ASSERT_TRUE(put("k", "2"));
  auto r3 = put("k", "3");
  ASSERT_TRUE(r3);
  ASSERT_TRUE(call<int64_t>([&](auto cb) { e().kv_compact(r3->revision, cb); }));
  auto w = std::make_shared<Watched>();
  WatchOptions o;
  o.key = "k";
  o.start_revision = r1->revision;
  auto sub = e().kv_watch(o, w->handler(w), w->end(w));
  ASSERT_TRUE(w->wait_end());
  EXPECT_EQ(w->end_status.code(), Code::kCompacted);
  EXPECT_EQ(w->end_status.detail(), r3->revision);  // etcd tells the watcher where history starts
  EXPECT_TRUE(w->summary().empty());

  // From the compaction point itself: still there, as etcd keeps it.
  auto at = std::make_shared<Watched>();
  o.start_revision = r3->revision;
  auto sub2 = e().kv_watch(o, at->handler(at), at->end(at));
  ASSERT_TRUE(at->wait_count(1));
  ASSERT_TRUE(put("k", "4"));
  ASSERT_TRUE(at->wait_count(2));
  EXPECT_EQ(at->summary(), (std::vector<std::string>{"put k=3@" + std::to_string(r3->revision),
                                                     "put k=4@" + std::to_string(r3->revision + 1)}));
  sub2->cancel();
  ASSERT_TRUE(at->wait_end());
}

TEST_F(KvTest, EverythingSurvivesReopen) {
  auto r1 = put("a", "1");
  ASSERT_TRUE(r1);
  ASSERT_TRUE(put("b", "2"));
  ASSERT_TRUE(put("a", "3"));
  ASSERT_TRUE(del("b"));
  auto r5 = put("c", "5");
  ASSERT_TRUE(r5);
  ASSERT_TRUE(call<int64_t>([&](auto cb) { e().kv_compact(r1->revision + 2, cb); }));
  auto r6 = put("a", "6");
  ASSERT_TRUE(r6);
  auto snapshot = [&] {
    std::string out;
    for (int64_t rev : {int64_t{0}, r1->revision + 2, r5->revision}) {
      auto r = range(std::string(1, '\0'), std::string(1, '\0'), rev);
      EXPECT_TRUE(r);
      if (!r) continue;
      out += "@" + std::to_string(rev) + " rev " + std::to_string(r->revision) + ":";
      for (auto& kv : r->kvs) {
        out += " " + kv.key + "=" + kv.value + "/" + std::to_string(kv.create_revision) + "/" +
               std::to_string(kv.mod_revision) + "/" + std::to_string(kv.version);
      }
      out += "\n";
    }
    auto st = status();
    EXPECT_TRUE(st);
    if (st) {
      out += "status " + std::to_string(st->revision) + " " + std::to_string(st->compact_revision) + " " +
             std::to_string(st->keys) + "\n";
    }
    return out;
  };
  std::string before = snapshot();
  open();
  EXPECT_EQ(before, snapshot());
  auto old = range("a", "", r1->revision);
  ASSERT_FALSE(old);
  EXPECT_EQ(old.status().code(), Code::kCompacted);
  auto r7 = put("d", "7");
  ASSERT_TRUE(r7);
  EXPECT_EQ(r7->revision, r6->revision + 1);
  auto a = range("a");
  ASSERT_TRUE(a);
  ASSERT_EQ(a->kvs.size(), 1u);
  EXPECT_EQ(a->kvs[0].version, 3);
  EXPECT_EQ(a->kvs[0].create_revision, r1->revision);
  // A watch after the restart replays the history kept.
  auto w = std::make_shared<Watched>();
  WatchOptions o;
  o.key = std::string(1, '\0');
  o.range_end = std::string(1, '\0');
  o.start_revision = r5->revision;
  auto sub = e().kv_watch(o, w->handler(w), w->end(w));
  ASSERT_TRUE(w->wait_count(3));
  EXPECT_EQ(w->summary(), (std::vector<std::string>{"put c=5@" + std::to_string(r5->revision),
                                                    "put a=6@" + std::to_string(r6->revision),
                                                    "put d=7@" + std::to_string(r7->revision)}));
  sub->cancel();
  ASSERT_TRUE(w->wait_end());
}


// ------------------------------------------------------------------ deadlines

KvOp expiring_put(std::string key, std::string value, int64_t at_ms) {
  KvOp op = put_op(std::move(key), std::move(value));
  op.expire_ms = at_ms;
  return op;
}

class KvExpiryTest : public KvTest {
 protected:
  Result<TxnResult> put_until(const std::string& k, const std::string& v, int64_t at_ms) {
    TxnRequest t;
    t.success = {expiring_put(k, v, at_ms)};
    return txn(t);
  }
  int64_t deadline(const std::string& k) {
    auto d = call<int64_t>([&](auto cb) { e().kv_deadline(k, cb); });
    EXPECT_TRUE(d);
    return d ? *d : -3;
  }
  bool expire(const std::string& k, KvExpire x) {
    auto r = call<bool>([&](auto cb) { e().kv_expire(k, x, cb); });
    EXPECT_TRUE(r) << r.status().to_string();
    return r && *r;
  }
  KvExpiryStats stats() {
    auto r = call<KvExpiryStats>([&](auto cb) { e().kv_expiry_stats(cb); });
    EXPECT_TRUE(r);
    return r ? *r : KvExpiryStats{};
  }
};

// A key is gone for every reader from its deadline on, then deleted with a
// revision of its own, which a watcher sees as etcd's watchers see a
// lease's keys go.
TEST_F(KvExpiryTest, AnExpiredKeyVanishesAtOnceAndIsDeletedWithARevision) {
  auto w = std::make_shared<Watched>();
  WatchOptions o;
  o.key = "e/";
  o.range_end = prefix_end("e/");
  auto sub = e().kv_watch(o, w->handler(w), w->end(w));
  const int64_t at = now_ms() + 1000;
  auto put = put_until("e/a", "1", at);
  ASSERT_TRUE(put);
  ASSERT_TRUE(this->put("e/b", "2"));
  EXPECT_EQ(deadline("e/a"), at);
  EXPECT_EQ(deadline("e/b"), -1);
  EXPECT_EQ(deadline("e/none"), -2);
  auto r = range("e/a");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(r->kvs[0].expire_ms, at);
  EXPECT_EQ(stats().database(0).expiring, 1u);
  ASSERT_TRUE(eventually([&] { return now_ms() >= at; }));
  // Past the deadline: absent to reads, compares and writes alike.
  EXPECT_EQ(get("e/a"), "<none>");
  EXPECT_EQ(deadline("e/a"), -2);
  TxnRequest create;
  create.compare = {cmp(KvCompare::Target::kCreate, KvCompare::Op::kEqual, "e/a", 0)};
  create.success = {range_op("e/a")};
  auto c = txn(create);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->succeeded) << "an expired key compares as missing";
  // The delete comes with a revision after the puts.
  ASSERT_TRUE(w->wait_count(3));
  auto events = w->summary();
  EXPECT_EQ(events[2].substr(0, 9), "del e/a=@");
  {
    std::lock_guard lk(w->mu);
    EXPECT_GT(w->events[2].kv.mod_revision, put->revision + 1);
  }
  EXPECT_EQ(stats().expired, 1u);
  EXPECT_EQ(stats().database(0).expiring, 0u);
  auto st = status();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->keys, 1u);
  sub->cancel();
  ASSERT_TRUE(w->wait_end());
}

// NX, XX, GT and LT as Redis's EXPIRE has them; a change in place keeps the
// deadline, a new value drops it unless asked to keep it; a deadline in the
// past deletes the key.
TEST_F(KvExpiryTest, DeadlinesFollowRedisRules) {
  const int64_t hour = now_ms() + 3600'000;
  ASSERT_TRUE(put("k", "1"));
  EXPECT_FALSE(expire("k", {.at_ms = 0})) << "PERSIST of a key without one";
  EXPECT_FALSE(expire("k", {.at_ms = hour, .xx = true}));
  EXPECT_FALSE(expire("k", {.at_ms = hour, .gt = true})) << "none is later than any";
  EXPECT_TRUE(expire("k", {.at_ms = hour, .lt = true}));
  EXPECT_EQ(deadline("k"), hour);
  EXPECT_FALSE(expire("k", {.at_ms = hour + 5, .nx = true}));
  EXPECT_FALSE(expire("k", {.at_ms = hour + 5, .lt = true}));
  EXPECT_TRUE(expire("k", {.at_ms = hour + 5, .gt = true}));
  EXPECT_TRUE(expire("k", {.at_ms = hour + 1, .xx = true, .lt = true}));
  EXPECT_EQ(deadline("k"), hour + 1);
  EXPECT_FALSE(expire("missing", {.at_ms = hour}));
  // An update in place keeps it.
  auto incr = [](std::optional<std::string_view> cur) -> Result<KvUpdate> {
    KvUpdate u;
    u.write = KvUpdate::Write::kPut;
    u.value = std::string(cur.value_or("")) + "+";
    return u;
  };
  ASSERT_TRUE(call<KvUpdateResult>([&](auto cb) { e().kv_update("k", KvUpdater(incr), cb); }));
  EXPECT_EQ(deadline("k"), hour + 1);
  EXPECT_EQ(get("k"), "1+");
  // keep_ttl keeps it; a plain put drops it.
  KvOp keep = put_op("k", "2");
  keep.keep_ttl = true;
  TxnRequest t;
  t.success = {keep};
  ASSERT_TRUE(txn(t));
  EXPECT_EQ(deadline("k"), hour + 1);
  ASSERT_TRUE(put("k", "3"));
  EXPECT_EQ(deadline("k"), -1);
  // A deadline already past deletes.
  EXPECT_TRUE(expire("k", {.at_ms = 1}));
  EXPECT_EQ(get("k"), "<none>");
  auto st = status();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->keys, 0u);
}

// Keys expiring together are deleted in records of at most 1,024 deletes;
// a key whose deadline was renewed many times keeps its last.
TEST_F(KvExpiryTest, ManyKeysExpiringTogetherAreDeletedInBoundedRecords) {
  const int64_t at = now_ms() + 1500;  // the writes below come first, even under ASan
  TxnRequest t;
  for (int i = 0; i < 2500; ++i) t.success.push_back(expiring_put("many/" + std::to_string(i), "v", at));
  auto w = txn(t);
  ASSERT_TRUE(w);
  ASSERT_TRUE(put("renewed", "r"));
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(expire("renewed", {.at_ms = at + 3600'000 + i})) << i;
  ASSERT_TRUE(put("renewed", "r"));  // drops the deadline
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(expire("renewed", {.at_ms = at + 3600'000 + i}));
  auto before = status();
  ASSERT_TRUE(before);
  ASSERT_TRUE(eventually([&] { return stats().expired == 2500u; }));
  auto st = status();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->keys, 1u);
  EXPECT_EQ(st->revision, before->revision + 3) << "1,024 + 1,024 + 452 deletes";
  EXPECT_EQ(stats().database(0).expiring, 1u);
  EXPECT_EQ(deadline("renewed"), at + 3600'000 + 49);
}

// Deadlines are in the log: after a reopen a key keeps its own, and one
// that passed while the engine was closed is gone and deleted at the start.
TEST_F(KvExpiryTest, DeadlinesSurviveReopenAndPassWhileClosed) {
  const int64_t hour = now_ms() + 3600'000;
  ASSERT_TRUE(put_until("stay", "s", hour));
  const int64_t soon = now_ms() + 1000;  // not before the close, even under ASan
  ASSERT_TRUE(put_until("soon", "x", soon));
  auto before = status();
  ASSERT_TRUE(before);
  e_.reset();
  while (now_ms() <= soon) sleep_ms(20);
  open();
  EXPECT_EQ(deadline("stay"), hour);
  EXPECT_EQ(get("stay"), "s");
  EXPECT_EQ(get("soon"), "<none>");
  // The start's reaping writes the delete: one revision more.
  ASSERT_TRUE(eventually([&] {
    auto st = status();
    return st && st->revision == before->revision + 1;
  }));
  auto hist = range("soon", "", before->revision);
  ASSERT_TRUE(hist);
  ASSERT_EQ(hist->kvs.size(), 1u) << "the past still shows it";
  EXPECT_EQ(hist->kvs[0].value, "x");
  // And that delete is in the log too.
  open();
  auto st = status();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->revision, before->revision + 1);
  EXPECT_EQ(st->keys, 1u);
}

}  // namespace
}  // namespace redcar
