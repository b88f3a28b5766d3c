// String commands beyond GET and SET: counters (INCR, DECR, INCRBY, DECRBY,
// INCRBYFLOAT), APPEND, STRLEN, GETRANGE, SETRANGE, GETSET, GETDEL, GETEX,
// SETNX and MSETNX. As in Redis, a change of the value in place keeps the
// key's deadline; a new value (GETSET) drops it. A read-modify-write is one Engine::kv_update: its function
// runs on the key-value shard against the key's staged value, so two
// clients' INCRs of one key never both read the same number, and pipelined
// ones need not wait for each other's flush. Texts of the errors are
// Redis 7.0's.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "frontends/resp/command_table.h"
#include "frontends/resp/context.h"
#include "frontends/resp/key_update.h"
#include "frontends/resp/numbers.h"

namespace redcar::resp {
namespace {

constexpr const char* kNotInteger = "value is not an integer or out of range";
constexpr const char* kNotFloat = "value is not a valid float";
constexpr const char* kTooBig = "string exceeds maximum allowed size (proto-max-bulk-len)";

// The errors an update refuses with: the front end's own words, carried by
// the Status it returns, and answered as "ERR " and them.
Status refuse(const char* text) { return Status(Code::kInvalidArgument, text); }

void incr_by(Context& ctx, const ReplyPtr& r, std::string_view key, int64_t delta) {
  update_key(
      ctx, r,
      std::string(key), KvType::kString,
      [delta](std::optional<std::string_view> cur) -> Result<KvUpdate> {
        int64_t v = 0;
        if (cur && !strict_int(*cur, &v)) return refuse(kNotInteger);
        int64_t next;
        if (__builtin_add_overflow(v, delta, &next)) return refuse("increment or decrement would overflow");
        KvUpdate u;
        u.write = KvUpdate::Write::kPut;
        u.value = std::to_string(next);
        return u;
      },
      [r](Result<KvUpdateResult> res) {
        if (!res) return reply_status_error(*r, res.status());
        int64_t v = 0;
        strict_int(*res->after, &v);
        r->w().integer(v);
        r->done();
      });
}

void cmd_incr(Context& ctx, const ReplyPtr& r, Args a) { incr_by(ctx, r, a[1], 1); }
void cmd_decr(Context& ctx, const ReplyPtr& r, Args a) { incr_by(ctx, r, a[1], -1); }

void cmd_incrby(Context& ctx, const ReplyPtr& r, Args a) {
  int64_t d;
  if (!strict_int(a[2], &d)) return reply_error(*r, std::string("ERR ") + kNotInteger);
  incr_by(ctx, r, a[1], d);
}

void cmd_decrby(Context& ctx, const ReplyPtr& r, Args a) {
  int64_t d;
  if (!strict_int(a[2], &d)) return reply_error(*r, std::string("ERR ") + kNotInteger);
  if (d == std::numeric_limits<int64_t>::min()) return reply_error(*r, "ERR decrement would overflow");
  incr_by(ctx, r, a[1], -d);
}

void cmd_incrbyfloat(Context& ctx, const ReplyPtr& r, Args a) {
  long double d;
  if (!parse_float(a[2], &d)) return reply_error(*r, std::string("ERR ") + kNotFloat);
  update_key(
      ctx, r,
      std::string(a[1]), KvType::kString,
      [d](std::optional<std::string_view> cur) -> Result<KvUpdate> {
        long double v = 0;
        if (cur && !parse_float(*cur, &v)) return refuse(kNotFloat);
        long double next = v + d;
        if (std::isnan(next) || std::isinf(next)) return refuse("increment would produce NaN or Infinity");
        KvUpdate u;
        u.write = KvUpdate::Write::kPut;
        u.value = format_float(next);
        return u;
      },
      [r](Result<KvUpdateResult> res) {
        if (!res) return reply_status_error(*r, res.status());
        r->w().bulk(*res->after);
        r->done();
      });
}

void cmd_append(Context& ctx, const ReplyPtr& r, Args a) {
  size_t limit = ctx.options.parse.max_bulk_bytes;
  update_key(
      ctx, r,
      std::string(a[1]), KvType::kString,
      [tail = std::string(a[2]), limit](std::optional<std::string_view> cur) -> Result<KvUpdate> {
        size_t have = cur ? cur->size() : 0;
        if (have + tail.size() > limit) return refuse(kTooBig);
        KvUpdate u;
        u.write = KvUpdate::Write::kPut;
        u.value.reserve(have + tail.size());
        if (cur) u.value.assign(*cur);
        u.value += tail;
        return u;
      },
      [r](Result<KvUpdateResult> res) {
        if (!res) return reply_status_error(*r, res.status());
        r->w().integer(static_cast<int64_t>(res->after->size()));
        r->done();
      });
}

// Runs `fn(value or null)` on the client's thread; a stream's or a hash's
// name answers WRONGTYPE, as GET does.
template <typename Fn>
void read_string(Context& ctx, const ReplyPtr& r, std::string key, Fn fn) {
  key_facts(ctx, r, std::move(key), [r, fn = std::move(fn)](KeyFacts& f) mutable {
    if (f.stream || f.hash) return reply_error(*r, kWrongTypeError);
    fn(f.string ? &*f.string : nullptr);
  });
}

void cmd_strlen(Context& ctx, const ReplyPtr& r, Args a) {
  read_string(ctx, r, std::string(a[1]), [r](const std::string* v) {
    r->w().integer(v ? static_cast<int64_t>(v->size()) : 0);
    r->done();
  });
}

void cmd_getrange(Context& ctx, const ReplyPtr& r, Args a) {
  int64_t start, end;
  if (!parse_int(a[2], &start) || !parse_int(a[3], &end)) return reply_error(*r, std::string("ERR ") + kNotInteger);
  read_string(ctx, r, std::string(a[1]), [r, start, end](const std::string* v) mutable {
    int64_t len = v ? static_cast<int64_t>(v->size()) : 0;
    // Redis's rules: both negative and start past end is empty; negative
    // counts from the end; clamp to the string.
    if (start < 0 && end < 0 && start > end) len = 0;
    if (start < 0) start = std::max<int64_t>(0, len + start);
    if (end < 0) end = std::max<int64_t>(0, len + end);
    if (end >= len) end = len - 1;
    if (len == 0 || start > end) r->w().bulk("");
    else r->w().bulk(std::string_view(*v).substr(static_cast<size_t>(start), static_cast<size_t>(end - start + 1)));
    r->done();
  });
}

void cmd_setrange(Context& ctx, const ReplyPtr& r, Args a) {
  int64_t offset;
  if (!parse_int(a[2], &offset)) return reply_error(*r, std::string("ERR ") + kNotInteger);
  if (offset < 0) return reply_error(*r, "ERR offset is out of range");
  size_t limit = ctx.options.parse.max_bulk_bytes;
  // An empty value writes nothing, whatever the offset: only its length.
  if (!a[3].empty() && static_cast<uint64_t>(offset) + a[3].size() > limit) {
    return reply_error(*r, std::string("ERR ") + kTooBig);
  }
  update_key(
      ctx, r,
      std::string(a[1]), KvType::kString,
      [off = static_cast<size_t>(offset), part = std::string(a[3])](std::optional<std::string_view> cur)
          -> Result<KvUpdate> {
        KvUpdate u;
        // Nothing to write into nothing leaves no key behind.
        if (part.empty()) return u;
        u.write = KvUpdate::Write::kPut;
        if (cur) u.value.assign(*cur);
        if (u.value.size() < off + part.size()) u.value.resize(off + part.size(), '\0');
        u.value.replace(off, part.size(), part);
        return u;
      },
      [r](Result<KvUpdateResult> res) {
        if (!res) return reply_status_error(*r, res.status());
        r->w().integer(res->after ? static_cast<int64_t>(res->after->size()) : 0);
        r->done();
      });
}

// The answer of GETSET, GETDEL and GETEX: the value the key had.
auto answer_before(const ReplyPtr& r) {
  return [r](Result<KvUpdateResult> res) {
    if (!res) return reply_status_error(*r, res.status());
    if (res->before) r->w().bulk(*res->before);
    else r->w().null();
    r->done();
  };
}

// GETSET and GETDEL: write (or delete) and answer what was there.
void swap_value(Context& ctx, const ReplyPtr& r, std::string_view key, std::optional<std::string> value) {
  update_key(
      ctx, r,
      std::string(key), KvType::kString,
      [value = std::move(value)](std::optional<std::string_view> cur) -> Result<KvUpdate> {
        KvUpdate u;
        if (value) {
          u.write = KvUpdate::Write::kPut;
          u.value = *value;
          u.expire_ms = 0;  // a new value, as SET writes it: no deadline
        } else if (cur) {
          u.write = KvUpdate::Write::kDelete;
        }
        return u;
      },
      answer_before(r));
}

void cmd_getset(Context& ctx, const ReplyPtr& r, Args a) { swap_value(ctx, r, a[1], std::string(a[2])); }
void cmd_getdel(Context& ctx, const ReplyPtr& r, Args a) { swap_value(ctx, r, a[1], std::nullopt); }

// GETEX key [EX s | PX ms | EXAT t | PXAT t | PERSIST]: the value, and a
// new deadline (or none) if one is asked for.
void cmd_getex(Context& ctx, const ReplyPtr& r, Args a) {
  std::optional<int64_t> at_ms;
  for (size_t i = 2; i < a.size(); ++i) {
    if (at_ms) return reply_syntax_error(*r);
    if (iequals(a[i], "persist")) {
      at_ms = 0;
    } else if (std::optional<Deadline> d = deadline_option(a[i]); d && i + 1 < a.size()) {
      int64_t at = 0;
      std::string error;
      if (!parse_deadline(a[++i], *d, "getex", false, &at, &error)) return reply_error(*r, error);
      at_ms = at;
    } else {
      return reply_syntax_error(*r);
    }
  }
  update_key(
      ctx, r,
      std::string(a[1]), KvType::kString,
      [at_ms](std::optional<std::string_view> cur) -> Result<KvUpdate> {
        KvUpdate u;
        if (!cur || !at_ms) return u;
        u.write = KvUpdate::Write::kPut;
        u.value.assign(*cur);
        u.expire_ms = *at_ms;
        return u;
      },
      answer_before(r));
}

void cmd_setnx(Context& ctx, const ReplyPtr& r, Args a) {
  update_key(
      ctx, r,
      std::string(a[1]), KvType::kString,
      [value = std::string(a[2])](std::optional<std::string_view> cur) -> Result<KvUpdate> {
        KvUpdate u;
        if (!cur) {
          u.write = KvUpdate::Write::kPut;
          u.value = value;
        }
        return u;
      },
      [r](Result<KvUpdateResult> res) {
        // A key of another type (a hash) exists: nothing is set.
        if (!res && res.status().code() == Code::kWrongType) return r->w().integer(0), r->done();
        if (!res) return reply_status_error(*r, res.status());
        r->w().integer(res->before ? 0 : 1);
        r->done();
      },
      [](Reply& rr) { rr.w().integer(0); });
}

// MSETNX: every key set, in one transaction, or none when any exists.
void cmd_msetnx(Context& ctx, const ReplyPtr& r, Args a) {
  if (a.size() % 2 != 1) return reply_wrong_arity(*r, "msetnx");
  TxnRequest t;
  t.all_types = true;
  for (size_t i = 1; i + 1 < a.size(); i += 2) {
    KvCompare c;
    c.target = KvCompare::Target::kCreate;
    c.op = KvCompare::Op::kEqual;
    c.key = std::string(a[i]);
    c.number = 0;
    t.compare.push_back(std::move(c));
    // A key named twice is written once, with its last value, as Redis does.
    auto same = std::find_if(t.success.begin(), t.success.end(), [&](const KvOp& o) { return o.range.key == a[i]; });
    KvOp& put = same != t.success.end() ? *same : t.success.emplace_back();
    put.kind = KvOp::Kind::kPut;
    put.range.key = std::string(a[i]);
    put.value = std::string(a[i + 1]);
  }
  // A stream's name is a key that exists too.
  std::vector<std::string> names;
  for (const KvCompare& c : t.compare) names.push_back(c.key);
  exists_both(ctx, std::move(names), [&ctx, r, t = std::move(t)](Result<std::vector<std::pair<bool, bool>>> found) mutable {
    bool stream = found && std::any_of(found->begin(), found->end(), [](auto& f) { return f.second; });
    if (!found || stream) {
      return on_client(r, [r, found = std::move(found)] {
        if (!found) write_status_error(r->w(), found.status());
        else r->w().integer(0);
        r->done();
      });
    }
    ctx.engine.kv_txn(std::move(t), back_to<TxnResult>(r, [r](Result<TxnResult> res) {
      if (!res) write_status_error(r->w(), res.status());
      else r->w().integer(res->succeeded ? 1 : 0);
      r->done();
    }));
  });
}

}  // namespace

void add_string_commands(std::vector<Command>& out) {
  out.push_back({"INCR", 2, kWrite | kStaged, cmd_incr, 1, 1, 1});
  out.push_back({"DECR", 2, kWrite | kStaged, cmd_decr, 1, 1, 1});
  out.push_back({"INCRBY", 3, kWrite | kStaged, cmd_incrby, 1, 1, 1});
  out.push_back({"DECRBY", 3, kWrite | kStaged, cmd_decrby, 1, 1, 1});
  out.push_back({"INCRBYFLOAT", 3, kWrite | kStaged, cmd_incrbyfloat, 1, 1, 1});
  out.push_back({"APPEND", 3, kWrite | kStaged, cmd_append, 1, 1, 1});
  out.push_back({"STRLEN", 2, kReadOnly, cmd_strlen, 1, 1, 1});
  out.push_back({"GETRANGE", 4, kReadOnly, cmd_getrange, 1, 1, 1});
  out.push_back({"SUBSTR", 4, kReadOnly, cmd_getrange, 1, 1, 1});
  out.push_back({"SETRANGE", 4, kWrite | kStaged, cmd_setrange, 1, 1, 1});
  out.push_back({"GETSET", 3, kWrite | kStaged, cmd_getset, 1, 1, 1});
  out.push_back({"GETDEL", 2, kWrite | kStaged, cmd_getdel, 1, 1, 1});
  out.push_back({"GETEX", -2, kWrite | kStaged, cmd_getex, 1, 1, 1});
  out.push_back({"SETNX", 3, kWrite | kStaged, cmd_setnx, 1, 1, 1});
  out.push_back({"MSETNX", -3, kWrite | kStaged, cmd_msetnx, 1, -1, 2});
}

}  // namespace redcar::resp
