// Key expiry: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (with NX, XX, GT, LT),
// TTL, PTTL, EXPIRETIME, PEXPIRETIME and PERSIST, and the parsing of the
// times that SET, GETEX, SETEX and PSETEX take. A key's deadline belongs to
// its key-value version (KvStore), a stream's to the stream (its
// stream-config record, on the stream's shard): either way, changing it is
// one write on the shard that owns the name, which checks the option
// against the deadline there, so two clients' GT and LT cannot both win.
// A name is tried as a key first, then as a stream: it holds one or the
// other.
#include <algorithm>

#include "engine/common/clock.h"
#include "frontends/resp/command_table.h"
#include "frontends/resp/context.h"

namespace redcar::resp {

std::optional<Deadline> deadline_option(std::string_view word) {
  if (iequals(word, "ex")) return Deadline{};
  if (iequals(word, "px")) return Deadline{.millis = true};
  if (iequals(word, "exat")) return Deadline{.absolute = true};
  if (iequals(word, "pxat")) return Deadline{.millis = true, .absolute = true};
  return std::nullopt;
}

bool parse_deadline(std::string_view value, Deadline d, std::string_view command, bool allow_past, int64_t* at_ms,
                    std::string* error) {
  int64_t n = 0;
  if (!parse_int(value, &n)) {
    *error = "ERR value is not an integer or out of range";
    return false;
  }
  // Redis's checks, in its order: a time that is not positive (where the
  // command wants one), then one that overflows in milliseconds.
  bool bad = !allow_past && n <= 0;
  if (!bad && !d.millis) bad = __builtin_mul_overflow(n, int64_t{1000}, &n);
  if (!bad && !d.absolute) bad = __builtin_add_overflow(n, now_ms(), &n);
  if (bad) {
    *error = "ERR invalid expire time in '" + std::string(command) + "' command";
    return false;
  }
  // A time at or before the epoch is in the past all the same; 0 would
  // read as "no deadline".
  *at_ms = std::max<int64_t>(n, 1);
  return true;
}

namespace {

void reply_flag(const ReplyPtr& r, const Result<bool>& done) {
  if (!done) write_status_error(r->w(), done.status());
  else r->w().integer(*done ? 1 : 0);
  r->done();
}

// EXPIRE and PERSIST: the key's deadline, or else the stream's.
void set_deadline(Context& ctx, const ReplyPtr& r, std::string key, KvExpire e) {
  ctx.engine.kv_expire(key, e, back_to<bool>(r, [&ctx, r, key, e](Result<bool> done) {
    if (!done || *done) return reply_flag(r, done);
    // Not set: no such key, or one the option refused; then no stream of
    // that name holds one either.
    ctx.engine.stream_expire(key, e, back_to<bool>(r, [r](Result<bool> done) { reply_flag(r, done); }));
  }));
}

void expire_generic(Context& ctx, const ReplyPtr& r, Args a, Deadline d) {
  KvExpire e;
  std::string error;
  const std::string name = lower(a[0]);
  if (!parse_deadline(a[2], d, name, true, &e.at_ms, &error)) return reply_error(*r, error);
  bool nx = false, xx = false, gt = false, lt = false;
  for (size_t i = 3; i < a.size(); ++i) {
    if (iequals(a[i], "nx")) nx = true;
    else if (iequals(a[i], "xx")) xx = true;
    else if (iequals(a[i], "gt")) gt = true;
    else if (iequals(a[i], "lt")) lt = true;
    else return reply_error(*r, "ERR Unsupported option " + std::string(a[i]));
  }
  if (nx && (xx || gt || lt)) return reply_error(*r, "ERR NX and XX, GT or LT options at the same time are not compatible");
  if (gt && lt) return reply_error(*r, "ERR GT and LT options at the same time are not compatible");
  e.nx = nx;
  e.xx = xx;
  e.gt = gt;
  e.lt = lt;
  set_deadline(ctx, r, std::string(a[1]), e);
}

void cmd_expire(Context& ctx, const ReplyPtr& r, Args a) { expire_generic(ctx, r, a, {}); }
void cmd_pexpire(Context& ctx, const ReplyPtr& r, Args a) { expire_generic(ctx, r, a, {.millis = true}); }
void cmd_expireat(Context& ctx, const ReplyPtr& r, Args a) { expire_generic(ctx, r, a, {.absolute = true}); }
void cmd_pexpireat(Context& ctx, const ReplyPtr& r, Args a) {
  expire_generic(ctx, r, a, {.millis = true, .absolute = true});
}

// TTL and its kin: -2 no key, -1 no deadline, else the time left (or the
// deadline), rounded to seconds as Redis rounds it.
void reply_deadline(const ReplyPtr& r, int64_t at, bool millis, bool absolute) {
  if (at < 0) {
    r->w().integer(at);
    return r->done();
  }
  int64_t t = absolute ? at : std::max<int64_t>(0, at - now_ms());
  r->w().integer(millis ? t : (t + 500) / 1000);
  r->done();
}

void ttl_generic(Context& ctx, const ReplyPtr& r, Args a, bool millis, bool absolute) {
  std::string key(a[1]);
  ctx.engine.kv_deadline(key, back_to<int64_t>(r, [&ctx, r, key, millis, absolute](Result<int64_t> at) {
    if (!at) {
      write_status_error(r->w(), at.status());
      return r->done();
    }
    if (*at != -2) return reply_deadline(r, *at, millis, absolute);
    ctx.engine.stream_info(key, back_to<StreamInfo>(r, [r, millis, absolute](Result<StreamInfo> info) {
      if (!info) {
        write_status_error(r->w(), info.status());
        return r->done();
      }
      reply_deadline(r, !info->exists ? -2 : info->deadline_ms ? info->deadline_ms : -1, millis, absolute);
    }));
  }));
}

void cmd_ttl(Context& ctx, const ReplyPtr& r, Args a) { ttl_generic(ctx, r, a, false, false); }
void cmd_pttl(Context& ctx, const ReplyPtr& r, Args a) { ttl_generic(ctx, r, a, true, false); }
void cmd_expiretime(Context& ctx, const ReplyPtr& r, Args a) { ttl_generic(ctx, r, a, false, true); }
void cmd_pexpiretime(Context& ctx, const ReplyPtr& r, Args a) { ttl_generic(ctx, r, a, true, true); }

void cmd_persist(Context& ctx, const ReplyPtr& r, Args a) {
  set_deadline(ctx, r, std::string(a[1]), KvExpire{});  // at 0: no deadline
}

}  // namespace

void add_expiry_commands(std::vector<Command>& out) {
  out.push_back({"EXPIRE", -3, kWrite, cmd_expire, 1, 1, 1});
  out.push_back({"PEXPIRE", -3, kWrite, cmd_pexpire, 1, 1, 1});
  out.push_back({"EXPIREAT", -3, kWrite, cmd_expireat, 1, 1, 1});
  out.push_back({"PEXPIREAT", -3, kWrite, cmd_pexpireat, 1, 1, 1});
  out.push_back({"TTL", 2, kReadOnly, cmd_ttl, 1, 1, 1});
  out.push_back({"PTTL", 2, kReadOnly, cmd_pttl, 1, 1, 1});
  out.push_back({"EXPIRETIME", 2, kReadOnly, cmd_expiretime, 1, 1, 1});
  out.push_back({"PEXPIRETIME", 2, kReadOnly, cmd_pexpiretime, 1, 1, 1});
  out.push_back({"PERSIST", 2, kWrite, cmd_persist, 1, 1, 1});
}

}  // namespace redcar::resp
