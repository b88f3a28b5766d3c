// Key commands over the engine's key-value view: a Redis string key is an
// etcd key, so what SET writes etcdctl reads. Hashes are keys of the same
// view that etcd does not see (KvType), and streams share the key space:
// TYPE, EXISTS, DEL, KEYS and SCAN see all three. Every transaction of
// these commands sets all_types, so that a hash counts as a key.
#include <algorithm>
#include <boost/asio/post.hpp>
#include <memory>
#include <random>
#include <tuple>

#include "frontends/resp/command_table.h"
#include "frontends/resp/context.h"
#include "frontends/resp/databases.h"

namespace redcar::resp {
namespace {

// The value is written into the reply on the key-value shard's thread,
// straight from the store (the reply is this request's alone until done()),
// and only done() goes back to the client's thread.
void cmd_get(Context& ctx, const ReplyPtr& r, Args a) {
  // The key goes to the engine, and stays here for a miss.
  ctx.engine.kv_get(std::string(a[1]), [&ctx, r = ReplyPtr(r), key = std::string(a[1])](
                                           Result<std::optional<std::string_view>> res) mutable {
    if (res && *res) ctx.state.command_stats.lookup(true);
    if (res && !*res) {
      // A miss: the name may be a stream (a hit of the wrong type).
      return ctx.engine.stream_info(key, back_to<StreamInfo>(r, [&ctx, r](Result<StreamInfo> info) {
        bool stream = info && info->exists;
        ctx.state.command_stats.lookup(stream);
        if (stream) r->w().error("WRONGTYPE Operation against a key holding the wrong kind of value");
        else r->w().null();
        r->done();
      }));
    }
    if (!res) write_status_error(r->w(), res.status());
    else r->w().bulk(**res);
    done_on_client(std::move(r));
  });
}

// A lent op made as new, its strings keeping their capacity.
void reuse(KvOp& op) {
  std::string key = std::move(op.range.key), value = std::move(op.value);
  op = KvOp();
  key.clear();
  value.clear();
  op.range.key = std::move(key);
  op.value = std::move(value);
}

struct SetFlags {
  bool nx = false, xx = false, get = false;
};

// SET's answer once its put is done: the value it replaced with GET, else OK.
void answer_set(Reply& r, const TxnResult& res, SetFlags f) {
  if (!f.get) return r.w().simple("OK");
  const auto& prev = res.results[0].prev;
  if (!prev.empty()) r.w().bulk(prev[0].value);
  else r.w().null();
}

// SET of a key that holds no string: a stream's name is replaced by the
// string, as Redis's SET replaces a key of any type (GET on it is
// WRONGTYPE, NX leaves it, as a key that exists); then the put, whose
// request is still the reply's lent one. Between the look and the put
// another client may create the stream; the put then stands beside it.
void set_new_key(Context& ctx, const ReplyPtr& r, SetFlags f) {
  std::string key = r->lent_txn().success[0].range.key;
  ctx.engine.stream_info(key, back_to<StreamInfo>(r, [&ctx, r, f, key](Result<StreamInfo> info) {
    if (!info) {
      write_status_error(r->w(), info.status());
      return r->done();
    }
    auto put = [&ctx, r, f] {
      TxnRequest& t = r->lent_txn();
      t.compare.clear();
      t.failure.clear();
      if (f.nx) {
        // Still absent, against other clients' SET NX.
        KvCompare absent;
        absent.target = KvCompare::Target::kCreate;
        absent.key = t.success[0].range.key;
        t.compare.push_back(std::move(absent));
      }
      ctx.engine.kv_txn_lent(&t, back_to<TxnResult>(r, [r, f](Result<TxnResult> res) {
        if (!res) {
          write_status_error(r->w(), res.status());
        } else if (!res->succeeded) {
          r->w().null();  // NX, and a string came meanwhile
        } else {
          answer_set(*r, *res, f);
        }
        r->done();
      }));
    };
    if (!info->exists) {
      if (f.xx) {
        r->w().null();
        return r->done();
      }
      return put();
    }
    if (f.get) return reply_error(*r, "WRONGTYPE Operation against a key holding the wrong kind of value");
    if (f.nx) {
      r->w().null();
      return r->done();
    }
    ctx.engine.delete_stream(key, back_to<bool>(r, [r, put](Result<bool> gone) {
      if (!gone) {
        write_status_error(r->w(), gone.status());
        return r->done();
      }
      put();
    }));
  }));
}

void cmd_set(Context& ctx, const ReplyPtr& r, Args a) {
  bool nx = false, xx = false, get = false, keep_ttl = false, expires = false;
  int64_t at_ms = 0;
  for (size_t i = 3; i < a.size(); ++i) {
    std::string_view o = a[i];
    if (iequals(o, "nx")) {
      nx = true;
    } else if (iequals(o, "xx")) {
      xx = true;
    } else if (iequals(o, "get")) {
      get = true;
    } else if (iequals(o, "keepttl")) {
      if (expires) return reply_syntax_error(*r);
      keep_ttl = true;
    } else if (std::optional<Deadline> d = deadline_option(o); d && i + 1 < a.size()) {
      if (expires || keep_ttl) return reply_syntax_error(*r);
      expires = true;
      std::string error;
      if (!parse_deadline(a[++i], *d, "set", false, &at_ms, &error)) return reply_error(*r, error);
    } else {
      return reply_syntax_error(*r);
    }
  }
  if (nx && xx) return reply_syntax_error(*r);
  // The request is written into the reply's own, whose strings keep their
  // capacity from one request to the next, and lent to the engine.
  TxnRequest& t = r->lent_txn();
  t.all_types = true;
  t.failure.clear();
  t.success.resize(1);
  KvOp& put = t.success[0];
  reuse(put);
  put.kind = KvOp::Kind::kPut;
  put.range.key.assign(a[1]);
  put.value.assign(a[2]);
  put.prev_kv = get;
  put.expire_ms = at_ms;
  put.keep_ttl = keep_ttl;
  const SetFlags f{.nx = nx, .xx = xx, .get = get};
  if (nx) {
    // Sets nothing where a string is: a read first.
    TxnRequest read;
    read.all_types = true;
    read.success.push_back(put);
    read.success[0].kind = KvOp::Kind::kRange;
    return ctx.engine.kv_txn(std::move(read), back_to<TxnResult>(r, [&ctx, r, f](Result<TxnResult> res) {
      if (!res) {
        write_status_error(r->w(), res.status());
        return r->done();
      }
      const auto& kvs = res->results[0].range.kvs;
      if (kvs.empty()) return set_new_key(ctx, r, f);
      if (f.get && kvs[0].type != KvType::kString) return reply_error(*r, kWrongTypeError);
      if (f.get) r->w().bulk(kvs[0].value);
      else r->w().null();
      r->done();
    }));
  }
  // Where a string is, it is replaced in one step: the usual case. A key
  // without one may be a stream's name (set_new_key).
  t.compare.resize(1);  // its key keeps its capacity too
  KvCompare& held = t.compare[0];
  held.target = KvCompare::Target::kCreate;
  held.op = KvCompare::Op::kGreater;
  held.key.assign(put.range.key);
  held.number = 0;
  ctx.engine.kv_txn_lent(&t, back_to<TxnResult>(r, [&ctx, r, f](Result<TxnResult> res) {
    if (!res) {
      write_status_error(r->w(), res.status());
      return r->done();
    }
    if (!res->succeeded) return set_new_key(ctx, r, f);
    answer_set(*r, *res, f);
    r->done();
  }));
}

// SETEX key seconds value and PSETEX key milliseconds value: SET with EX
// or PX, and their own names in the error.
void set_expiring(Context& ctx, const ReplyPtr& r, Args a, bool millis) {
  int64_t at_ms = 0;
  std::string error;
  if (!parse_deadline(a[2], {.millis = millis}, millis ? "psetex" : "setex", false, &at_ms, &error)) {
    return reply_error(*r, error);
  }
  const std::string at = std::to_string(at_ms);
  const std::string_view set[] = {"SET", a[1], a[3], "PXAT", at};
  cmd_set(ctx, r, set);
}
void cmd_setex(Context& ctx, const ReplyPtr& r, Args a) { set_expiring(ctx, r, a, false); }
void cmd_psetex(Context& ctx, const ReplyPtr& r, Args a) { set_expiring(ctx, r, a, true); }

// MSET replaces whatever its keys hold, as SET does: where every key holds
// a string, one transaction; otherwise the streams among them are deleted
// first (set_new_key says what may come between).
void cmd_mset(Context& ctx, const ReplyPtr& r, Args a) {
  if (a.size() % 2 != 1) return reply_wrong_arity(*r, "mset");
  auto t = std::make_shared<TxnRequest>();
  t->all_types = true;
  for (size_t i = 1; i + 1 < a.size(); i += 2) {
    // Redis lets a later pair win; etcd refuses a key twice in one txn.
    std::string key(a[i]);
    for (auto& op : t->success) {
      if (op.range.key == key) op.kind = KvOp::Kind::kRange;
    }
    KvOp put;
    put.kind = KvOp::Kind::kPut;
    put.range.key = std::move(key);
    put.value = std::string(a[i + 1]);
    t->success.push_back(std::move(put));
  }
  for (const KvOp& op : t->success) {
    if (op.kind != KvOp::Kind::kPut) continue;
    KvCompare held;
    held.target = KvCompare::Target::kCreate;
    held.op = KvCompare::Op::kGreater;
    held.key = op.range.key;
    t->compare.push_back(std::move(held));
  }
  auto answer = [r](Result<TxnResult> res) {
    if (!res) write_status_error(r->w(), res.status());
    else r->w().simple("OK");
    r->done();
  };
  ctx.engine.kv_txn_lent(t.get(), back_to<TxnResult>(r, [&ctx, r, t, answer](Result<TxnResult> res) {
    if (!res || res->succeeded) return answer(std::move(res));
    std::vector<std::string> names;
    for (const KvCompare& c : t->compare) names.push_back(c.key);
    t->compare.clear();
    exists_both(ctx, names, [&ctx, r, t, names, answer](Result<std::vector<std::pair<bool, bool>>> found) {
      if (!found) return on_client(r, [answer, s = found.status()] { answer(s); });
      auto streams = std::make_shared<std::vector<std::string>>();
      for (size_t i = 0; i < names.size(); ++i) {
        if ((*found)[i].second) streams->push_back(names[i]);
      }
      auto put = [&ctx, r, t, answer] {
        ctx.engine.kv_txn_lent(t.get(), back_to<TxnResult>(r, [t, answer](Result<TxnResult> res) {
          answer(std::move(res));
        }));
      };
      if (streams->empty()) return put();
      auto left = std::make_shared<std::atomic<size_t>>(streams->size());
      auto error = std::make_shared<Status>();
      for (const std::string& name : *streams) {
        ctx.engine.delete_stream(name, back_to<bool>(r, [left, error, put, answer](Result<bool> gone) {
          if (!gone) *error = gone.status();
          if (--*left > 0) return;
          if (!error->is_ok()) return answer(*error);
          put();
        }));
      }
    });
  }));
}

void cmd_mget(Context& ctx, const ReplyPtr& r, Args a) {
  TxnRequest t;
  for (size_t i = 1; i < a.size(); ++i) {
    KvOp rd;
    rd.kind = KvOp::Kind::kRange;
    rd.range.key = std::string(a[i]);
    t.success.push_back(std::move(rd));
  }
  ctx.engine.kv_txn(std::move(t), back_to<TxnResult>(r, [&ctx, r](Result<TxnResult> res) {
    if (!res) {
      write_status_error(r->w(), res.status());
    } else {
      r->w().array(res->results.size());
      for (auto& op : res->results) {
        ctx.state.command_stats.lookup(!op.range.kvs.empty());
        if (op.range.kvs.empty()) r->w().null();
        else r->w().bulk(op.range.kvs[0].value);
      }
    }
    r->done();
  }));
}

void cmd_exists(Context& ctx, const ReplyPtr& r, Args a) {
  std::vector<std::string> names(a.begin() + 1, a.end());
  exists_both(ctx, names, [r](Result<std::vector<std::pair<bool, bool>>> res) {
    boost::asio::post(r->executor(), [r, res = std::move(res)] {
      if (!res) {
        write_status_error(r->w(), res.status());
      } else {
        int64_t n = 0;
        for (auto& [str, stream] : *res) n += str || stream;
        r->w().integer(n);
      }
      r->done();
    });
  });
}

void cmd_type(Context& ctx, const ReplyPtr& r, Args a) {
  TxnRequest read;
  read.all_types = true;
  KvOp& rd = read.success.emplace_back();
  rd.kind = KvOp::Kind::kRange;
  rd.range.key = std::string(a[1]);
  rd.range.keys_only = true;
  ctx.engine.kv_txn(std::move(read), back_to<TxnResult>(r, [&ctx, r, key = std::string(a[1])](Result<TxnResult> res) {
    if (!res) {
      write_status_error(r->w(), res.status());
      return r->done();
    }
    if (const auto& kvs = res->results[0].range.kvs; !kvs.empty()) {
      r->w().simple(kvs[0].type == KvType::kHash ? "hash" : "string");
      return r->done();
    }
    ctx.engine.stream_info(key, back_to<StreamInfo>(r, [r](Result<StreamInfo> info) {
      if (!info) write_status_error(r->w(), info.status());
      else r->w().simple(info->exists ? "stream" : "none");
      r->done();
    }));
  }));
}

void cmd_del(Context& ctx, const ReplyPtr& r, Args a) {
  struct State {
    int64_t deleted = 0;
    size_t remaining;
    Status error;
  };
  auto st = std::make_shared<State>();
  st->remaining = 2 * (a.size() - 1);
  auto finish = [st, r] {
    if (--st->remaining > 0) return;
    if (!st->error.is_ok()) write_status_error(r->w(), st->error);
    else r->w().integer(st->deleted);
    r->done();
  };
  for (size_t i = 1; i < a.size(); ++i) {
    std::string key(a[i]);
    TxnRequest del;
    del.all_types = true;
    KvOp& op = del.success.emplace_back();
    op.kind = KvOp::Kind::kDelete;
    op.range.key = key;
    ctx.engine.kv_txn(std::move(del), back_to<TxnResult>(r, [st, finish](Result<TxnResult> res) {
      if (!res) st->error = res.status();
      else if (!res->results.empty()) st->deleted += res->results[0].deleted;
      finish();
    }));
    ctx.engine.delete_stream(key, back_to<bool>(r, [st, finish](Result<bool> res) {
      if (!res) st->error = res.status();
      else st->deleted += *res ? 1 : 0;
      finish();
    }));
  }
}

// All keys (strings, hashes and streams) of the client's database matching
// `pattern`, sorted, as the client names them; `type` keeps only "string",
// "hash" or "stream" keys when set.
void all_keys(Context& ctx, const ReplyPtr& r, std::string pattern, std::function<void(Result<std::vector<std::string>>)> done,
              std::string type = {}) {
  const unsigned db = r->client().db;
  RangeRequest req;
  if (db == 0) {
    req.key = std::string(1, '\0');
    req.range_end = std::string(1, '\0');
  } else {
    std::tie(req.key, req.range_end) = database_range(db);
  }
  req.keys_only = true;
  req.all_types = true;
  ctx.engine.kv_range(req, back_to<RangeResult>(r, [&ctx, r, db, pattern, type, done = std::move(done)](Result<RangeResult> kv) mutable {
    if (!kv) return done(kv.status());
    std::vector<std::string> keys;
    for (auto& k : kv->kvs) {
      const char* held = k.type == KvType::kHash ? "hash" : "string";
      if (redis_database_of(k.key) != db || (!type.empty() && type != held)) continue;
      std::string_view name = user_key(k.key);
      if (glob_match(pattern, name)) keys.emplace_back(name);
    }
    ctx.engine.list_streams(stored_key(db, ""), back_to<std::vector<std::string>>(
                                    r, [db, pattern, type, keys = std::move(keys), done = std::move(done)](
                                           Result<std::vector<std::string>> streams) mutable {
                                      if (!streams) return done(streams.status());
                                      if (!type.empty() && type != "stream") streams->clear();
                                      for (auto& n : *streams) {
                                        if (redis_database_of(n) != db) continue;
                                        std::string_view name = user_key(n);
                                        if (glob_match(pattern, name)) keys.emplace_back(name);
                                      }
                                      std::sort(keys.begin(), keys.end());
                                      keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
                                      done(std::move(keys));
                                    }));
  }));
}

void cmd_keys(Context& ctx, const ReplyPtr& r, Args a) {
  all_keys(ctx, r, std::string(a[1]), [r](Result<std::vector<std::string>> keys) {
    if (!keys) {
      write_status_error(r->w(), keys.status());
    } else {
      r->w().array(keys->size());
      for (auto& k : *keys) r->w().bulk(k);
    }
    r->done();
  });
}

void cmd_randomkey(Context& ctx, const ReplyPtr& r, Args) {
  all_keys(ctx, r, "*", [r](Result<std::vector<std::string>> keys) {
    if (!keys) {
      write_status_error(r->w(), keys.status());
    } else if (keys->empty()) {
      r->w().null();
    } else {
      static thread_local std::mt19937_64 rng{std::random_device{}()};
      r->w().bulk((*keys)[rng() % keys->size()]);
    }
    r->done();
  });
}

void cmd_dbsize(Context& ctx, const ReplyPtr& r, Args) {
  count_keys(ctx, r, [r](Result<uint64_t> n) {
    if (!n) write_status_error(r->w(), n.status());
    else r->w().integer(static_cast<int64_t>(*n));
    r->done();
  });
}

// SCAN cursor [MATCH pattern] [COUNT n] [TYPE t]. The cursor is the index
// into the sorted key list; a full iteration sees every key that existed
// throughout it, as Redis promises.
void cmd_scan(Context& ctx, const ReplyPtr& r, Args a) {
  uint64_t cursor;
  if (!parse_uint(a[1], &cursor)) return reply_error(*r, "ERR invalid cursor");
  std::string pattern = "*";
  std::string type;
  uint64_t count = 10;
  for (size_t i = 2; i < a.size(); i += 2) {
    if (i + 1 >= a.size()) return reply_syntax_error(*r);
    std::string o = lower(a[i]);
    if (o == "match") pattern = std::string(a[i + 1]);
    else if (o == "count") {
      if (!parse_uint(a[i + 1], &count) || count == 0) return reply_syntax_error(*r);
    } else if (o == "type") {
      type = lower(a[i + 1]);
    }
    else return reply_syntax_error(*r);
  }
  if (!type.empty() && type != "string" && type != "hash" && type != "stream") type = "none";
  all_keys(ctx, r, "*", [r, cursor, count, pattern, type](Result<std::vector<std::string>> keys) {
    if (!keys) {
      write_status_error(r->w(), keys.status());
      return r->done();
    }
    uint64_t end = std::min<uint64_t>(keys->size(), cursor + count);
    std::vector<std::string> page;
    for (uint64_t i = cursor; i < end; ++i) {
      if (glob_match(pattern, (*keys)[i])) page.push_back((*keys)[i]);
    }
    r->w().array(2);
    if (type == "none") page.clear();
    r->w().bulk(end >= keys->size() ? "0" : std::to_string(end));
    r->w().array(page.size());
    for (auto& k : page) r->w().bulk(k);
    r->done();
  }, type == "none" ? std::string() : type);
}

}  // namespace

void exists_both(Context& ctx, std::vector<std::string> names,
                 std::function<void(Result<std::vector<std::pair<bool, bool>>>)> done) {
  struct State {
    std::vector<std::pair<bool, bool>> found;  // (string, stream)
    size_t remaining;
    Status error;
    std::function<void(Result<std::vector<std::pair<bool, bool>>>)> done;
  };
  auto st = std::make_shared<State>();
  st->found.resize(names.size());
  st->remaining = names.size() + 1;
  st->done = std::move(done);
  auto finish = [st] {
    if (--st->remaining > 0) return;
    if (!st->error.is_ok()) return st->done(st->error);
    st->done(std::move(st->found));
  };
  TxnRequest t;
  t.all_types = true;
  for (auto& n : names) {
    KvOp rd;
    rd.kind = KvOp::Kind::kRange;
    rd.range.key = n;
    rd.range.count_only = true;
    t.success.push_back(std::move(rd));
  }
  // The gathering runs on whichever shard answers; the state is only
  // touched under the remaining-count discipline, so post everything to one
  // executor: the kv shard's.
  auto ex = ctx.engine.context(ctx.engine.kv_shard()).get_executor();
  ctx.engine.kv_txn(std::move(t), on<TxnResult>(ex, [st, finish](Result<TxnResult> res) {
    if (!res) st->error = res.status();
    else for (size_t i = 0; i < res->results.size(); ++i) st->found[i].first = res->results[i].range.count > 0;
    finish();
  }));
  for (size_t i = 0; i < names.size(); ++i) {
    ctx.engine.stream_info(names[i], on<StreamInfo>(ex, [st, finish, i](Result<StreamInfo> info) {
      if (!info) st->error = info.status();
      else st->found[i].second = info->exists;
      finish();
    }));
  }
}

void key_facts(Context& ctx, const ReplyPtr& r, std::string key, std::function<void(KeyFacts&)> then) {
  ctx.engine.kv_get(key, [&ctx, r, key, then = std::move(then)](Result<std::optional<std::string_view>> v) mutable {
    if (!v && v.status().code() == Code::kWrongType) {
      // Not a string: a hash (on this thread, where the store is).
      return ctx.engine.kv_get(key, KvType::kHash, [r, then = std::move(then)](Result<std::optional<std::string_view>> h) mutable {
        KeyFacts f;
        if (h && *h) f.hash = std::string(**h);
        on_client(std::move(r), [then = std::move(then), f = std::move(f)]() mutable { then(f); });
      });
    }
    if (!v) {
      // The task holds the reply; the error is written through it there.
      Reply* out = r.get();
      return on_client(std::move(r), [out, s = v.status()] {
        write_status_error(out->w(), s);
        out->done();
      });
    }
    if (*v) {
      KeyFacts f;
      f.string = std::string(**v);
      return on_client(std::move(r), [then = std::move(then), f = std::move(f)]() mutable { then(f); });
    }
    ctx.engine.stream_info(key, back_to<StreamInfo>(r, [r, then = std::move(then)](Result<StreamInfo> info) mutable {
      if (!info) {
        write_status_error(r->w(), info.status());
        return r->done();
      }
      KeyFacts f;
      if (info->exists) f.stream = std::move(*info);
      then(f);
    }));
  });
}

const char* string_encoding(std::string_view value) {
  int64_t n;
  if (value.size() <= 20 && parse_int(value, &n)) return "int";
  return value.size() <= 44 ? "embstr" : "raw";
}

void string_key_exists(Context& ctx, const ReplyPtr& r, std::string key, std::function<void(bool)> then) {
  ctx.engine.kv_get(std::move(key), [r, then = std::move(then)](Result<std::optional<std::string_view>> v) mutable {
    bool held = v ? v->has_value() : v.status().code() == Code::kWrongType;
    on_client(std::move(r), [then = std::move(then), held] { then(held); });
  });
}

void reply_missing_stream(Context& ctx, const ReplyPtr& r, std::string key, std::function<void(ReplyWriter&)> empty) {
  string_key_exists(ctx, r, std::move(key), [r, empty = std::move(empty)](bool held) {
    if (held) r->w().error(kWrongTypeError);
    else empty(r->w());
    r->done();
  });
}

// A key holds a key-value type or a stream, never both (a new stream is
// refused over a key), so the two counts add up.
void count_keys(Context& ctx, const ReplyPtr& r, std::function<void(Result<uint64_t>)> done) {
  const unsigned db = r->client().db;
  ctx.engine.kv_expiry_stats(back_to<KvExpiryStats>(r, [&ctx, r, db, done = std::move(done)](Result<KvExpiryStats> kv) mutable {
    if (!kv) return done(kv.status());
    uint64_t keys = kv->database(db).keys;
    ctx.engine.list_streams(stored_key(db, ""), back_to<std::vector<std::string>>(
                                    r, [db, keys, done = std::move(done)](Result<std::vector<std::string>> s) {
                                      if (!s) return done(s.status());
                                      done(keys + std::count_if(s->begin(), s->end(), [db](const std::string& n) {
                                             return redis_database_of(n) == db;
                                           }));
                                    }));
  }));
}

void add_key_commands(std::vector<Command>& out) {
  out.push_back({"GET", 2, kReadOnly, cmd_get, 1, 1, 1});
  out.push_back({"SET", -3, kWrite | kStaged, cmd_set, 1, 1, 1});
  out.push_back({"SETEX", 4, kWrite | kStaged, cmd_setex, 1, 1, 1});
  out.push_back({"PSETEX", 4, kWrite | kStaged, cmd_psetex, 1, 1, 1});
  out.push_back({"MGET", -2, kReadOnly, cmd_mget, 1, -1, 1});
  out.push_back({"MSET", -3, kWrite | kStaged, cmd_mset, 1, -1, 2});
  out.push_back({"DEL", -2, kWrite | kStaged, cmd_del, 1, -1, 1});
  out.push_back({"EXISTS", -2, kReadOnly, cmd_exists, 1, -1, 1});
  out.push_back({"TYPE", 2, kReadOnly, cmd_type, 1, 1, 1});
  out.push_back({"KEYS", 2, kReadOnly, cmd_keys});
  out.push_back({"DBSIZE", 1, kReadOnly, cmd_dbsize});
  // UNLINK frees nothing later than DEL would: a delete is one record.
  out.push_back({"UNLINK", -2, kWrite | kStaged, cmd_del, 1, -1, 1});
  // TOUCH counts the keys that exist (no access times are kept to update).
  out.push_back({"TOUCH", -2, kReadOnly, cmd_exists, 1, -1, 1});
  out.push_back({"RANDOMKEY", 1, kReadOnly, cmd_randomkey});
  out.push_back({"SCAN", -2, kReadOnly, cmd_scan});
}

}  // namespace redcar::resp
