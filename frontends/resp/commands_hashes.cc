// Hash commands: HSET, HMSET, HSETNX, HGET, HMGET, HGETALL, HDEL, HEXISTS,
// HLEN, HKEYS, HVALS, HINCRBY, HINCRBYFLOAT, HSTRLEN, HRANDFIELD, HSCAN,
// with Redis 7.0's replies and error texts.
//
// A hash is a key of the key-value view of type KvType::kHash, its value
// the fields' encoding (engine/common/hash_value.h). A write is one
// Engine::kv_update: its edit runs on the key-value shard against the
// staged value, so two clients' HINCRBYs of one field never read the same
// number, and the hash keeps its deadline as Redis's does. The last HDEL
// deletes the key. A read writes its answer on the key-value shard's
// thread, straight from the stored value, as GET does.
#include <algorithm>
#include <cmath>
#include <memory>
#include <random>

#include "engine/common/hash_value.h"
#include "frontends/resp/command_table.h"
#include "frontends/resp/context.h"
#include "frontends/resp/key_update.h"
#include "frontends/resp/numbers.h"
#include "frontends/resp/pubsub.h"

namespace redcar::resp {

const char* hash_encoding(std::string_view encoded) {
  // Redis 7.0's hash-max-listpack-entries and -value defaults.
  constexpr size_t kListpackEntries = 128, kListpackValue = 64;
  HashValue h;
  if (!h.decode(encoded) || h.size() > kListpackEntries) return "hashtable";
  bool small = true;
  h.each([&](std::string_view f, std::string_view v) {
    small = small && f.size() <= kListpackValue && v.size() <= kListpackValue;
  });
  return small ? "listpack" : "hashtable";
}

namespace {

Status corrupt_hash() { return Status(Code::kCorruption, "a hash's stored value does not decode"); }
Status refuse(const char* text) { return Status(Code::kInvalidArgument, text); }

// Runs `fn(hash or null)`, which writes the answer. A hash is shown where
// it is stored, on the key-value shard's thread, and only done() goes back
// to the client's; a key that holds nothing may be a stream's name, which
// answers WRONGTYPE, as one that holds a string does.
template <typename Fn>
void read_hash(Context& ctx, const ReplyPtr& r, std::string_view key, Fn fn) {
  ctx.engine.kv_get(std::string(key), KvType::kHash,
                    [&ctx, r = ReplyPtr(r), key = std::string(key), fn](Result<std::optional<std::string_view>> v) mutable {
                      if (v && *v) {
                        ctx.state.command_stats.lookup(true);
                        HashValue h;
                        if (!h.decode(**v)) write_status_error(r->w(), corrupt_hash());
                        else fn(&h);
                        return done_on_client(std::move(r));
                      }
                      if (!v) {
                        write_status_error(r->w(), v.status());
                        return done_on_client(std::move(r));
                      }
                      ctx.engine.stream_info(key, back_to<StreamInfo>(r, [&ctx, r, fn](Result<StreamInfo> info) mutable {
                        ctx.state.command_stats.lookup(false);
                        if (!info) write_status_error(r->w(), info.status());
                        else if (info->exists) r->w().error(kWrongTypeError);
                        else fn(nullptr);
                        r->done();
                      }));
                    });
}

// What a write's edit found, for its answer.
struct Outcome {
  int64_t count = 0;
  std::string text;
  bool changed = false;  // write the hash back
};

// One read-modify-write of the hash at `key`: `edit(hash, outcome)` runs
// on the key-value shard (a missing key shows an empty hash); then
// `answer(reply, outcome)` on the client's thread.
template <typename Edit, typename Answer>
void edit_hash(Context& ctx, const ReplyPtr& r, std::string_view key, Edit edit, Answer answer) {
  auto out = std::make_shared<Outcome>();
  auto fn = [edit, out](std::optional<std::string_view> cur) -> Result<KvUpdate> {
    HashValue h;
    if (cur && !h.decode(*cur)) return corrupt_hash();
    *out = Outcome();
    if (Status s = edit(h, *out); !s) return s;
    KvUpdate u;
    if (!out->changed) return u;
    if (h.empty()) {
      u.write = cur ? KvUpdate::Write::kDelete : KvUpdate::Write::kNone;
    } else {
      u.write = KvUpdate::Write::kPut;
      u.value = h.encode();
    }
    return u;
  };
  update_key(ctx, r, std::string(key), KvType::kHash, fn, [r, out, answer](Result<KvUpdateResult> res) {
    if (!res) return reply_status_error(*r, res.status());
    answer(*r, *out);
    r->done();
  });
}

// The field/value pairs of a call, from argument `from` on, owned (the
// edit runs after the request's buffer may be reused).
std::vector<std::string> owned(Args a, size_t from) { return std::vector<std::string>(a.begin() + from, a.end()); }

void hset(Context& ctx, const ReplyPtr& r, Args a, bool answer_ok) {
  if (a.size() < 4 || a.size() % 2 != 0) return reply_wrong_arity(*r, answer_ok ? "hmset" : "hset");
  edit_hash(
      ctx, r, a[1],
      [pairs = owned(a, 2)](HashValue& h, Outcome& out) {
        for (size_t i = 0; i + 1 < pairs.size(); i += 2) out.count += h.set(pairs[i], pairs[i + 1]) ? 1 : 0;
        out.changed = true;
        return Status::ok();
      },
      [answer_ok](Reply& rr, const Outcome& out) {
        if (answer_ok) rr.w().simple("OK");
        else rr.w().integer(out.count);
      });
}

void cmd_hset(Context& ctx, const ReplyPtr& r, Args a) { hset(ctx, r, a, false); }
void cmd_hmset(Context& ctx, const ReplyPtr& r, Args a) { hset(ctx, r, a, true); }

void cmd_hsetnx(Context& ctx, const ReplyPtr& r, Args a) {
  edit_hash(
      ctx, r, a[1],
      [field = std::string(a[2]), value = std::string(a[3])](HashValue& h, Outcome& out) {
        if (h.find(field)) return Status::ok();
        h.set(field, value);
        out.count = 1;
        out.changed = true;
        return Status::ok();
      },
      [](Reply& rr, const Outcome& out) { rr.w().integer(out.count); });
}

void cmd_hdel(Context& ctx, const ReplyPtr& r, Args a) {
  edit_hash(
      ctx, r, a[1],
      [fields = owned(a, 2)](HashValue& h, Outcome& out) {
        for (const std::string& f : fields) out.count += h.erase(f) ? 1 : 0;
        out.changed = out.count > 0;
        return Status::ok();
      },
      [](Reply& rr, const Outcome& out) { rr.w().integer(out.count); });
}

void cmd_hincrby(Context& ctx, const ReplyPtr& r, Args a) {
  int64_t delta;
  if (!strict_int(a[3], &delta)) return reply_error(*r, "ERR value is not an integer or out of range");
  edit_hash(
      ctx, r, a[1],
      [field = std::string(a[2]), delta](HashValue& h, Outcome& out) {
        int64_t v = 0;
        if (const std::string_view* cur = h.find(field); cur && !strict_int(*cur, &v)) {
          return refuse("hash value is not an integer");
        }
        if (__builtin_add_overflow(v, delta, &out.count)) return refuse("increment or decrement would overflow");
        out.text = std::to_string(out.count);
        h.set(field, out.text);
        out.changed = true;
        return Status::ok();
      },
      [](Reply& rr, const Outcome& out) { rr.w().integer(out.count); });
}

void cmd_hincrbyfloat(Context& ctx, const ReplyPtr& r, Args a) {
  long double delta;
  if (!parse_float(a[3], &delta)) return reply_error(*r, "ERR value is not a valid float");
  edit_hash(
      ctx, r, a[1],
      [field = std::string(a[2]), delta](HashValue& h, Outcome& out) {
        long double v = 0;
        if (const std::string_view* cur = h.find(field); cur && !parse_float(*cur, &v)) {
          return refuse("hash value is not a float");
        }
        long double next = v + delta;
        if (std::isnan(next) || std::isinf(next)) return refuse("increment would produce NaN or Infinity");
        out.text = format_float(next);
        h.set(field, out.text);
        out.changed = true;
        return Status::ok();
      },
      [](Reply& rr, const Outcome& out) { rr.w().bulk(out.text); });
}

void cmd_hget(Context& ctx, const ReplyPtr& r, Args a) {
  read_hash(ctx, r, a[1], [r, field = std::string(a[2])](const HashValue* h) {
    const std::string_view* v = h ? h->find(field) : nullptr;
    if (v) r->w().bulk(*v);
    else r->w().null();
  });
}

void cmd_hmget(Context& ctx, const ReplyPtr& r, Args a) {
  read_hash(ctx, r, a[1], [r, fields = owned(a, 2)](const HashValue* h) {
    r->w().array(fields.size());
    for (const std::string& f : fields) {
      const std::string_view* v = h ? h->find(f) : nullptr;
      if (v) r->w().bulk(*v);
      else r->w().null();
    }
  });
}

void cmd_hgetall(Context& ctx, const ReplyPtr& r, Args a) {
  read_hash(ctx, r, a[1], [r](const HashValue* h) {
    r->w().map(h ? h->size() : 0);
    if (h) h->each([&](std::string_view f, std::string_view v) {
        r->w().bulk(f);
        r->w().bulk(v);
      });
  });
}

void cmd_hkeys(Context& ctx, const ReplyPtr& r, Args a) {
  read_hash(ctx, r, a[1], [r](const HashValue* h) {
    r->w().array(h ? h->size() : 0);
    if (h) h->each([&](std::string_view f, std::string_view) { r->w().bulk(f); });
  });
}

void cmd_hvals(Context& ctx, const ReplyPtr& r, Args a) {
  read_hash(ctx, r, a[1], [r](const HashValue* h) {
    r->w().array(h ? h->size() : 0);
    if (h) h->each([&](std::string_view, std::string_view v) { r->w().bulk(v); });
  });
}

void cmd_hlen(Context& ctx, const ReplyPtr& r, Args a) {
  read_hash(ctx, r, a[1], [r](const HashValue* h) { r->w().integer(h ? static_cast<int64_t>(h->size()) : 0); });
}

void cmd_hexists(Context& ctx, const ReplyPtr& r, Args a) {
  read_hash(ctx, r, a[1], [r, field = std::string(a[2])](const HashValue* h) {
    r->w().integer(h && h->find(field) ? 1 : 0);
  });
}

void cmd_hstrlen(Context& ctx, const ReplyPtr& r, Args a) {
  read_hash(ctx, r, a[1], [r, field = std::string(a[2])](const HashValue* h) {
    const std::string_view* v = h ? h->find(field) : nullptr;
    r->w().integer(v ? static_cast<int64_t>(v->size()) : 0);
  });
}

constexpr int64_t kMostPicks = int64_t{1} << 22;

// HRANDFIELD key [count [WITHVALUES]]: without a count one field (or nil);
// a positive count that many distinct fields (all of a smaller hash); a
// negative one that many picks, repeats allowed.
void cmd_hrandfield(Context& ctx, const ReplyPtr& r, Args a) {
  if (a.size() > 4) return reply_syntax_error(*r);
  int64_t count = 0;
  const bool has_count = a.size() >= 3;
  if (has_count && !parse_int(a[2], &count)) return reply_error(*r, "ERR value is not an integer or out of range");
  const bool with_values = a.size() == 4;
  if (with_values && !iequals(a[3], "withvalues")) return reply_syntax_error(*r);
  // A negative count repeats picks: its answer is built whole, so it is
  // bounded (Redis 7.0 answers any count, and a huge one exhausts memory).
  if (has_count && count < -kMostPicks) return reply_error(*r, "ERR value is out of range");
  read_hash(ctx, r, a[1], [r, count, has_count, with_values](const HashValue* h) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    auto& w = r->w();
    if (!has_count) {
      if (!h) return w.null();
      size_t pick = rng() % h->size(), i = 0;
      h->each([&](std::string_view f, std::string_view) {
        if (i++ == pick) w.bulk(f);
      });
      return;
    }
    std::vector<std::pair<std::string_view, std::string_view>> fields;
    if (h) h->each([&](std::string_view f, std::string_view v) { fields.emplace_back(f, v); });
    std::vector<size_t> chosen;
    if (!fields.empty() && count < 0) {
      for (int64_t i = 0; i < -count; ++i) chosen.push_back(rng() % fields.size());
    } else if (!fields.empty()) {
      for (size_t i = 0; i < fields.size(); ++i) chosen.push_back(i);
      std::shuffle(chosen.begin(), chosen.end(), rng);
      chosen.resize(std::min<size_t>(chosen.size(), static_cast<size_t>(count)));
    }
    // RESP3 pairs each field with its value; RESP2 lays them out flat.
    const bool pairs = with_values && w.protocol() == 3;
    w.array(with_values && !pairs ? chosen.size() * 2 : chosen.size());
    for (size_t i : chosen) {
      if (pairs) w.array(2);
      w.bulk(fields[i].first);
      if (with_values) w.bulk(fields[i].second);
    }
  });
}

// Where a field falls in HSCAN's order: a stable hash of its name (FNV-1a,
// 63 bits, never 0), so a cursor names a place that fields coming and
// going around it do not move, and a field there throughout a scan is
// returned.
uint64_t scan_order(std::string_view field) {
  uint64_t x = 1469598103934665603ull;
  for (unsigned char c : field) x = (x ^ c) * 1099511628211ull;
  x >>= 1;
  return x == 0 ? 1 : x;
}

// HSCAN key cursor [MATCH pattern] [COUNT count]. A hash Redis would keep
// as a listpack comes whole with cursor 0, as Redis answers; a bigger one
// in pages in scan_order.
void cmd_hscan(Context& ctx, const ReplyPtr& r, Args a) {
  uint64_t cursor;
  if (!parse_uint(a[2], &cursor)) return reply_error(*r, "ERR invalid cursor");
  std::string pattern = "*";
  int64_t count = 10;
  for (size_t i = 3; i < a.size(); i += 2) {
    if (i + 1 >= a.size()) return reply_syntax_error(*r);
    if (iequals(a[i], "match")) {
      pattern = std::string(a[i + 1]);
    } else if (iequals(a[i], "count")) {
      if (!parse_int(a[i + 1], &count)) return reply_error(*r, "ERR value is not an integer or out of range");
      if (count < 1) return reply_syntax_error(*r);
    } else {
      return reply_syntax_error(*r);
    }
  }
  read_hash(ctx, r, a[1], [r, cursor, pattern, count](const HashValue* h) {
    auto& w = r->w();
    std::vector<std::pair<std::string_view, std::string_view>> page;
    uint64_t next = 0;
    if (h && h->size() <= 128) {
      h->each([&](std::string_view f, std::string_view v) { page.emplace_back(f, v); });
    } else if (h) {
      std::vector<std::pair<uint64_t, std::pair<std::string_view, std::string_view>>> order;
      h->each([&](std::string_view f, std::string_view v) {
        if (uint64_t o = scan_order(f); o >= cursor) order.push_back({o, {f, v}});
      });
      std::sort(order.begin(), order.end(), [](auto& x, auto& y) { return x.first < y.first; });
      size_t take = std::min(order.size(), static_cast<size_t>(count));
      // A page never splits fields of one order value.
      while (take < order.size() && take > 0 && order[take].first == order[take - 1].first) ++take;
      for (size_t i = 0; i < take; ++i) page.push_back(order[i].second);
      if (take < order.size()) next = order[take].first;
    }
    std::erase_if(page, [&](auto& p) { return !glob_match(pattern, p.first); });
    w.array(2);
    w.bulk(std::to_string(next));
    w.array(page.size() * 2);
    for (auto& [f, v] : page) {
      w.bulk(f);
      w.bulk(v);
    }
  });
}

}  // namespace

void add_hash_commands(std::vector<Command>& out) {
  out.push_back({"HSET", -4, kWrite | kStaged, cmd_hset, 1, 1, 1});
  out.push_back({"HMSET", -4, kWrite | kStaged, cmd_hmset, 1, 1, 1});
  out.push_back({"HSETNX", 4, kWrite | kStaged, cmd_hsetnx, 1, 1, 1});
  out.push_back({"HDEL", -3, kWrite | kStaged, cmd_hdel, 1, 1, 1});
  out.push_back({"HINCRBY", 4, kWrite | kStaged, cmd_hincrby, 1, 1, 1});
  out.push_back({"HINCRBYFLOAT", 4, kWrite | kStaged, cmd_hincrbyfloat, 1, 1, 1});
  out.push_back({"HGET", 3, kReadOnly, cmd_hget, 1, 1, 1});
  out.push_back({"HMGET", -3, kReadOnly, cmd_hmget, 1, 1, 1});
  out.push_back({"HGETALL", 2, kReadOnly, cmd_hgetall, 1, 1, 1});
  out.push_back({"HKEYS", 2, kReadOnly, cmd_hkeys, 1, 1, 1});
  out.push_back({"HVALS", 2, kReadOnly, cmd_hvals, 1, 1, 1});
  out.push_back({"HLEN", 2, kReadOnly, cmd_hlen, 1, 1, 1});
  out.push_back({"HEXISTS", 3, kReadOnly, cmd_hexists, 1, 1, 1});
  out.push_back({"HSTRLEN", 3, kReadOnly, cmd_hstrlen, 1, 1, 1});
  out.push_back({"HRANDFIELD", -2, kReadOnly, cmd_hrandfield, 1, 1, 1});
  out.push_back({"HSCAN", -3, kReadOnly, cmd_hscan, 1, 1, 1});
}

}  // namespace redcar::resp
