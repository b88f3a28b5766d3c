// Consumer-group commands: XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM,
// XAUTOCLAIM, and XINFO (which reports groups and consumers too).
#include <boost/asio/post.hpp>
#include <chrono>

#include "frontends/resp/command_table.h"
#include "frontends/resp/databases.h"
#include "frontends/resp/context.h"
#include "frontends/resp/stream_read.h"
#include "frontends/resp/stream_reply.h"

namespace redcar::resp {
namespace {

const char* kInvalidId = "ERR Invalid stream ID specified as stream command argument";

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The names a missing-group error reports, and in which words.
struct GroupNames {
  std::string key;
  std::string group;
  NoGroupText text;
};

// A group command's error: WRONGTYPE when no stream but a string key holds
// the name, as in Redis; else in the command's words.
void reply_group_error(Context& ctx, const ReplyPtr& r, const Status& s, std::string key, std::string group,
                       NoGroupText text) {
  if (s.code() == Code::kNotFound && (s.reason() == Reason::kNoStream || s.reason() == Reason::kNoGroup)) {
    return reply_missing_stream(ctx, r, key, [s, key, group, text](ReplyWriter& w) {
      write_group_error(w, s, key, group, text);
    });
  }
  write_group_error(r->w(), s, key, group, text);
  r->done();
}

// A count (XACK, XGROUP DESTROY): 0 may also mean that a string key holds
// the name, which Redis answers WRONGTYPE.
template <typename T>
Callback<T> group_count_reply(Context& ctx, const ReplyPtr& r, GroupNames names) {
  return back_to<T>(r, [&ctx, r, names = std::move(names)](Result<T> res) {
    if (!res) return reply_group_error(ctx, r, res.status(), names.key, names.group, names.text);
    auto n = static_cast<int64_t>(*res);
    if (n == 0) return reply_missing_stream(ctx, r, names.key, [](ReplyWriter& w) { w.integer(0); });
    r->w().integer(n);
    r->done();
  });
}

template <typename T>
Callback<T> group_reply(Context& ctx, const ReplyPtr& r, GroupNames names, std::function<void(ReplyWriter&, T&)> write) {
  return back_to<T>(r, [&ctx, r, names = std::move(names), write = std::move(write)](Result<T> res) {
    if (!res) return reply_group_error(ctx, r, res.status(), names.key, names.group, names.text);
    write(r->w(), *res);
    r->done();
  });
}

const char* kXGroupNeedsKey =
    "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM "
    "option to create an empty stream automatically.";

void cmd_xgroup(Context& ctx, const ReplyPtr& r, Args a) {
  std::string sub = lower(a[1]);
  auto names = [&](NoGroupText text) {
    return GroupNames{a.size() > 2 ? std::string(a[2]) : "", a.size() > 3 ? std::string(a[3]) : "", text};
  };
  auto need = [&](size_t min, size_t max) {
    if (a.size() < min || a.size() > max) {
      reply_unknown_subcommand(ctx, *r, a);
      return false;
    }
    return true;
  };
  if (sub == "create") {
    if (!need(5, 8)) return;
    StreamId id = StreamId::max();
    if (a[4] != "$" && !StreamId::parse(a[4], 0, &id)) return reply_error(*r, kInvalidId);
    bool mkstream = false;
    std::optional<uint64_t> entries_read;
    for (size_t i = 5; i < a.size(); ++i) {
      if (iequals(a[i], "mkstream")) {
        mkstream = true;
      } else if (iequals(a[i], "entriesread") && i + 1 < a.size()) {
        uint64_t v;
        if (!parse_uint(a[++i], &v)) return reply_error(*r, "ERR value is not an integer or out of range");
        entries_read = v;
      } else {
        return reply_syntax_error(*r);
      }
    }
    // A string key's name is no stream's, even with MKSTREAM.
    return string_key_exists(
        ctx, r, std::string(a[2]),
        [&ctx, r, key = std::string(a[2]), group = std::string(a[3]), id, mkstream, entries_read](bool held) {
          if (held) return reply_error(*r, "WRONGTYPE Operation against a key holding the wrong kind of value");
          ctx.engine.group_create(key, group, id, mkstream, entries_read, back_to<bool>(r, [r](Result<bool> res) {
                                    if (res) r->w().simple("OK");
                                    else if (res.status().reason() == Reason::kNoStream) r->w().error(kXGroupNeedsKey);
                                    else write_status_error(r->w(), res.status());
                                    r->done();
                                  }));
        });
  }
  if (sub == "destroy") {
    if (!need(4, 4)) return;
    return ctx.engine.group_destroy(std::string(a[2]), std::string(a[3]),
                                    group_count_reply<bool>(ctx, r, names(NoGroupText::kGroupForKey)));
  }
  if (sub == "setid") {
    if (!need(5, 7)) return;
    StreamId id = StreamId::max();
    if (a[4] != "$" && !StreamId::parse(a[4], 0, &id)) return reply_error(*r, kInvalidId);
    std::optional<uint64_t> entries_read;
    if (a.size() == 7) {
      uint64_t v;
      if (!iequals(a[5], "entriesread") || !parse_uint(a[6], &v)) return reply_syntax_error(*r);
      entries_read = v;
    } else if (a.size() != 5) {
      return reply_syntax_error(*r);
    }
    return ctx.engine.group_set_id(std::string(a[2]), std::string(a[3]), id, entries_read,
                                   group_reply<bool>(ctx, r, names(NoGroupText::kGroupForKey),
                                                     [](ReplyWriter& w, bool&) { w.simple("OK"); }));
  }
  if (sub == "createconsumer") {
    if (!need(5, 5)) return;
    return ctx.engine.consumer_create(std::string(a[2]), std::string(a[3]), std::string(a[4]),
                                      group_reply<bool>(ctx, r, names(NoGroupText::kGroupForKey),
                                                        [](ReplyWriter& w, bool& b) { w.integer(b ? 1 : 0); }));
  }
  if (sub == "delconsumer") {
    if (!need(5, 5)) return;
    return ctx.engine.consumer_delete(
        std::string(a[2]), std::string(a[3]), std::string(a[4]),
        group_reply<uint64_t>(ctx, r, names(NoGroupText::kGroupForKey),
                              [](ReplyWriter& w, uint64_t& n) { w.integer(static_cast<int64_t>(n)); }));
  }
  if (sub == "help") {
    r->w().array(1);
    r->w().simple("XGROUP <subcommand>: CREATE, SETID, DESTROY, CREATECONSUMER, DELCONSUMER");
    return r->done();
  }
  reply_unknown_subcommand(ctx, *r, a);
}

// XREADGROUP GROUP g c [COUNT n] [BLOCK ms] [NOACK] STREAMS key... id...
struct GroupRead : BlockedRead {
  using BlockedRead::BlockedRead;
  std::string group, consumer;
  StreamReadArgs args;
  std::vector<std::vector<GroupEntry>> results;
  size_t remaining = 0;
  bool reading = false;
  std::vector<std::function<void()>> wakes;  // subscription batches not yet answered by a read
};

void group_answer(const std::shared_ptr<GroupRead>& st, bool timed_out) {
  if (!st->settle()) return;
  auto& w = st->reply()->w();
  // A history read (an ID, not ">") answers for its stream even when empty.
  std::vector<size_t> shown;
  for (size_t i = 0; i < st->args.keys.size(); ++i) {
    if (st->args.ids[i] != ">" || !st->results[i].empty()) shown.push_back(i);
  }
  if (shown.empty() || timed_out) {
    w.null_array();
    return st->reply()->done();
  }
  write_streams(w, shown.size(), [&](size_t k) {
    size_t i = shown[k];
    w.bulk(user_key(st->args.keys[i]));
    w.array(st->results[i].size());
    for (auto& ge : st->results[i]) {
      if (ge.event) {
        write_entry(w, *ge.event);
      } else {
        w.array(2);
        w.bulk_id(ge.id.ms, ge.id.seq);
        w.null_array();
      }
    }
  });
  st->reply()->done();
}

void group_read_round(Context& ctx, const std::shared_ptr<GroupRead>& st);

// A blocked reader follows its streams from before its first read, so an
// entry appended at any moment either shows in a read or wakes it. Each
// wake runs one more read round. The subscriptions hold the read until it
// settles (which cancels them).
void group_follow(Context& ctx, const std::shared_ptr<GroupRead>& st) {
  auto ex = st->reply()->executor();
  for (auto& key : st->args.keys) {
    SubscribeOptions so;
    so.from = SubscribeOptions::From::kEnd;
    auto handler = [&ctx, st, ex](std::vector<EventPtr>, std::function<void()> more) {
      boost::asio::post(ex, [&ctx, st, more = std::move(more)] {
        if (st->answered()) return;
        st->wakes.push_back(more);
        if (!st->reading) group_read_round(ctx, st);
      });
    };
    st->follow(ctx.engine.subscribe(key, so, handler, [](Status) {}));
  }
}

void group_read_round(Context& ctx, const std::shared_ptr<GroupRead>& st) {
  const ReplyPtr& r = st->reply();
  st->reading = true;
  // Wakes seen so far are answered by this round; later ones start another.
  auto wakes = std::move(st->wakes);
  st->wakes.clear();
  st->remaining = st->args.keys.size();
  for (size_t i = 0; i < st->args.keys.size(); ++i) {
    GroupReadOptions o;
    o.group = st->group;
    o.consumer = st->consumer;
    o.count = st->args.count;
    o.no_ack = st->args.noack;
    if (st->args.ids[i] != ">") {
      o.history = true;
      StreamId::parse(st->args.ids[i], 0, &o.after);
    }
    auto done = [&ctx, st, i, wakes](Result<std::vector<GroupEntry>> res) {
      if (st->answered()) return;
      if (!res) {
        st->settle();
        return reply_group_error(ctx, st->reply(), res.status(), st->args.keys[i], st->group,
                                 NoGroupText::kKeyOrGroupInReadGroup);
      }
      st->results[i] = std::move(*res);
      if (--st->remaining > 0) return;
      st->reading = false;
      bool any = false;
      for (size_t j = 0; j < st->args.keys.size(); ++j) any |= st->args.ids[j] != ">" || !st->results[j].empty();
      if (any || !st->args.block_ms) return group_answer(st, false);
      // Nothing for us (another reader took it): wait for the next append.
      for (auto& more : wakes) more();
      if (!st->wakes.empty()) group_read_round(ctx, st);
    };
    ctx.engine.group_read(st->args.keys[i], o, back_to<std::vector<GroupEntry>>(r, std::move(done)));
  }
}

// The general path: any streams, new entries or history, blocking or not.
void start_group_read(Context& ctx, ReplyPtr r, std::string_view group, std::string_view consumer,
                      StreamReadArgs args) {
  auto st = std::make_shared<GroupRead>(std::move(r));
  st->group = group;
  st->consumer = consumer;
  st->args = std::move(args);
  st->results.resize(st->args.keys.size());
  if (st->args.block_ms) {
    st->time_out_after(*st->args.block_ms, [st] { group_answer(st, true); });
    st->end_when_client_leaves();
    group_follow(ctx, st);
  }
  group_read_round(ctx, st);
}

void answer_lent_read(Context& ctx, Reply* r, size_t mark, std::optional<int64_t> block, Result<uint64_t> n) {
  ReplyWriter& w = r->w();
  const GroupReadLent& q = r->lent_group_read();
  if (n && *n > 0) {
    w.close_array();
    return r->done();
  }
  w.take_back(mark);
  if (!n) return reply_group_error(ctx, ReplyPtr(r), n.status(), q.stream, q.opt.group,
                                   NoGroupText::kKeyOrGroupInReadGroup);
  if (!block) {
    w.null_array();
    return r->done();
  }
  // Nothing new: the blocking path waits, following the stream from before
  // its first read, so that an entry appended from now on wakes it.
  StreamReadArgs args;
  args.count = q.opt.count;
  args.noack = q.opt.no_ack;
  args.block_ms = block;
  args.keys = {q.stream};
  args.ids = {">"};
  start_group_read(ctx, ReplyPtr(r), q.opt.group, q.opt.consumer, std::move(args));
}

// New entries of one stream, the read a consumer's loop makes: the entries
// are written from the log as the engine lends them, on the stream's shard
// (as XRANGE's are), into a request the reply lends and reuses, so that the
// read copies no event and allocates nothing but the pending entries it
// makes. The answer's header waits until it is known whether anything was
// delivered (nothing: a null reply, or the blocking path when BLOCK asks).
void read_new_lent(Context& ctx, const ReplyPtr& r, Args a, const StreamReadArgs& args) {
  GroupReadLent& q = r->lent_group_read();
  q.stream.assign(args.keys[0]);
  q.opt.group.assign(a[2]);
  q.opt.consumer.assign(a[3]);
  q.opt.count = args.count;
  q.opt.no_ack = args.noack;
  q.opt.history = false;
  ReplyWriter& w = r->w();
  const size_t mark = w.written();
  if (w.protocol() == 3) {
    w.map(1);
  } else {
    w.array(1);
    w.array(2);
  }
  w.bulk(user_key(q.stream));
  w.open_array();
  Reply* out = r.get();
  q.visit = [out](const EventView& e) {
    out->w().count_element();
    write_entry(out->w(), e);
    return true;
  };
  ctx.engine.group_read_lent(&q, [&ctx, r = ReplyPtr(r), mark, block = args.block_ms](Result<uint64_t> n) mutable {
    Reply* reply = r.get();
    on_client(std::move(r), [&ctx, reply, mark, block, n = std::move(n)]() mutable {
      answer_lent_read(ctx, reply, mark, block, std::move(n));
    });
  });
}

void cmd_xreadgroup(Context& ctx, const ReplyPtr& r, Args a) {
  if (!iequals(a[1], "group")) return reply_syntax_error(*r);
  // Parsed into arguments kept by the client's thread, whose strings are
  // reused from one request to the next.
  thread_local StreamReadArgs args;
  args.count = UINT64_MAX;
  args.block_ms.reset();
  args.noack = false;
  if (!parse_stream_read(*r, a, 4, StreamReadKind::kXReadGroup, &args)) return;
  if (args.keys.size() == 1 && args.ids[0] == ">") {
    read_new_lent(ctx, r, a, args);
    // A huge name is not kept for the thread's life.
    if (args.keys[0].capacity() > 1024) args = StreamReadArgs();
    return;
  }
  // The general path takes the arguments; the next request parses into fresh ones.
  start_group_read(ctx, r, a[2], a[3], std::move(args));
  args = StreamReadArgs();
}

bool parse_ids(Args a, size_t from, size_t to, std::vector<StreamId>* out) {
  for (size_t i = from; i < to; ++i) {
    StreamId id;
    if (!StreamId::parse(a[i], 0, &id)) return false;
    out->push_back(id);
  }
  return true;
}

void cmd_xack(Context& ctx, const ReplyPtr& r, Args a) {
  std::vector<StreamId> ids;
  if (!parse_ids(a, 3, a.size(), &ids)) return reply_error(*r, kInvalidId);
  ctx.engine.group_ack(std::string(a[1]), std::string(a[2]), std::move(ids),
                       group_count_reply<uint64_t>(ctx, r, {std::string(a[1]), std::string(a[2]), NoGroupText::kKeyOrGroup}));
}

void cmd_xpending(Context& ctx, const ReplyPtr& r, Args a) {
  if (a.size() == 3) {
    return ctx.engine.group_pending_summary(
        std::string(a[1]), std::string(a[2]),
        group_reply<PendingSummary>(ctx, r, {std::string(a[1]), std::string(a[2]), NoGroupText::kKeyOrGroup}, [](ReplyWriter& w, PendingSummary& p) {
          w.array(4);
          w.integer(static_cast<int64_t>(p.count));
          if (p.count == 0) {
            w.null();
            w.null();
            w.null_array();
            return;
          }
          w.bulk_id(p.lowest.ms, p.lowest.seq);
          w.bulk_id(p.highest.ms, p.highest.seq);
          w.array(p.per_consumer.size());
          for (auto& [c, n] : p.per_consumer) {
            w.array(2);
            w.bulk(c);
            w.bulk(std::to_string(n));
          }
        }));
  }
  PendingQuery q;
  q.group = std::string(a[2]);
  size_t i = 3;
  if (i + 1 < a.size() && iequals(a[i], "idle")) {
    if (!parse_int(a[i + 1], &q.min_idle_ms)) return reply_error(*r, "ERR value is not an integer or out of range");
    i += 2;
  }
  if (a.size() - i < 3 || a.size() - i > 4) return reply_syntax_error(*r);
  bool lo_ex, hi_ex;
  if (!parse_range_bound(a[i], true, &q.from, &lo_ex) || !parse_range_bound(a[i + 1], false, &q.to, &hi_ex)) {
    return reply_error(*r, kInvalidId);
  }
  if (lo_ex) q.from = q.from.next();
  if (hi_ex) q.to = q.to.prev();
  int64_t count;
  if (!parse_int(a[i + 2], &count)) return reply_error(*r, "ERR value is not an integer or out of range");
  q.count = count < 0 ? 0 : static_cast<uint64_t>(count);
  if (a.size() - i == 4) q.consumer = std::string(a[i + 3]);
  ctx.engine.group_pending(std::string(a[1]), q,
                           group_reply<std::vector<PendingEntry>>(ctx, r, {std::string(a[1]), q.group, NoGroupText::kKeyOrGroup}, [](ReplyWriter& w, std::vector<PendingEntry>& v) {
                             int64_t now = now_ms();
                             w.array(v.size());
                             for (auto& p : v) {
                               w.array(4);
                               w.bulk_id(p.id.ms, p.id.seq);
                               w.bulk(p.consumer);
                               w.integer(std::max<int64_t>(0, now - p.delivered_ms));
                               w.integer(static_cast<int64_t>(p.delivery_count));
                             }
                           }));
}

void cmd_xclaim(Context& ctx, const ReplyPtr& r, Args a) {
  ClaimOptions o;
  o.group = std::string(a[2]);
  o.consumer = std::string(a[3]);
  if (!parse_int(a[4], &o.min_idle_ms)) return reply_error(*r, "ERR Invalid min-idle-time argument for XCLAIM");
  size_t i = 5;
  for (; i < a.size(); ++i) {
    StreamId id;
    if (!StreamId::parse(a[i], 0, &id)) break;
    o.ids.push_back(id);
  }
  for (; i < a.size(); ++i) {
    std::string opt = lower(a[i]);
    int64_t v;
    if (opt == "idle" && i + 1 < a.size()) {
      if (!parse_int(a[++i], &v)) return reply_error(*r, "ERR Invalid IDLE option argument for XCLAIM");
      o.idle_ms = std::max<int64_t>(0, v);
    } else if (opt == "time" && i + 1 < a.size()) {
      if (!parse_int(a[++i], &v)) return reply_error(*r, "ERR Invalid TIME option argument for XCLAIM");
      o.idle_ms = std::max<int64_t>(0, now_ms() - v);
    } else if (opt == "retrycount" && i + 1 < a.size()) {
      if (!parse_int(a[++i], &v) || v < 0) return reply_error(*r, "ERR Invalid RETRYCOUNT option argument for XCLAIM");
      o.retry_count = static_cast<uint64_t>(v);
    } else if (opt == "force") {
      o.force = true;
    } else if (opt == "justid") {
      o.just_id = true;
    } else if (opt == "lastid" && i + 1 < a.size()) {
      ++i;
    } else {
      return reply_error(*r, "ERR Unrecognized XCLAIM option '" + std::string(a[i]) + "'");
    }
  }
  GroupNames names{std::string(a[1]), o.group, NoGroupText::kKeyOrGroup};
  ctx.engine.group_claim(std::string(a[1]), o, group_reply<ClaimResult>(ctx, r, names, [just = o.just_id](ReplyWriter& w, ClaimResult& c) {
                           if (just) {
                             w.array(c.claimed_ids.size());
                             for (auto& id : c.claimed_ids) w.bulk_id(id.ms, id.seq);
                           } else {
                             write_entries(w, c.events);
                           }
                         }));
}

void cmd_xautoclaim(Context& ctx, const ReplyPtr& r, Args a) {
  ClaimOptions o;
  o.autoclaim = true;
  o.group = std::string(a[2]);
  o.consumer = std::string(a[3]);
  if (!parse_int(a[4], &o.min_idle_ms)) return reply_error(*r, "ERR Invalid min-idle-time argument for XAUTOCLAIM");
  bool ex;
  if (!parse_range_bound(a[5], true, &o.start, &ex)) return reply_error(*r, kInvalidId);
  if (ex) o.start = o.start.next();
  for (size_t i = 6; i < a.size(); ++i) {
    if (iequals(a[i], "count") && i + 1 < a.size()) {
      int64_t c;
      if (!parse_int(a[++i], &c) || c < 1 || c > (INT64_MAX / 10)) {
        return reply_error(*r, "ERR COUNT must be > 0");
      }
      o.count = static_cast<uint64_t>(c);
    } else if (iequals(a[i], "justid")) {
      o.just_id = true;
    } else {
      return reply_syntax_error(*r);
    }
  }
  GroupNames names{std::string(a[1]), o.group, NoGroupText::kKeyOrGroup};
  ctx.engine.group_claim(std::string(a[1]), o, group_reply<ClaimResult>(ctx, r, names, [just = o.just_id](ReplyWriter& w, ClaimResult& c) {
                           w.array(3);
                           w.bulk_id(c.next_start.ms, c.next_start.seq);
                           if (just) {
                             w.array(c.claimed_ids.size());
                             for (auto& id : c.claimed_ids) w.bulk_id(id.ms, id.seq);
                           } else {
                             write_entries(w, c.events);
                           }
                           w.array(c.deleted_ids.size());
                           for (auto& id : c.deleted_ids) w.bulk_id(id.ms, id.seq);
                         }));
}

void write_group_info(ReplyWriter& w, const GroupInfo& g) {
  w.map(6);
  w.bulk("name");
  w.bulk(g.name);
  w.bulk("consumers");
  w.integer(static_cast<int64_t>(g.consumers));
  w.bulk("pending");
  w.integer(static_cast<int64_t>(g.pending));
  w.bulk("last-delivered-id");
  w.bulk_id(g.last_delivered.ms, g.last_delivered.seq);
  w.bulk("entries-read");
  if (g.has_entries_read) w.integer(static_cast<int64_t>(g.entries_read));
  else w.null();
  w.bulk("lag");
  if (g.lag) w.integer(static_cast<int64_t>(*g.lag));
  else w.null();
}

// The fields XINFO STREAM starts with, FULL or not. redcar keeps no radix
// tree: its two figures are what Redis's would be for nodes of 100 entries.
void write_stream_fields(ReplyWriter& w, const StreamInfo& info) {
  w.bulk("length");
  w.integer(static_cast<int64_t>(info.length));
  w.bulk("radix-tree-keys");
  w.integer(static_cast<int64_t>(info.length / 100 + (info.length ? 1 : 0)));
  w.bulk("radix-tree-nodes");
  w.integer(static_cast<int64_t>(info.length / 100 + 2));
  w.bulk("last-generated-id");
  w.bulk_id(info.last_id.ms, info.last_id.seq);
  w.bulk("max-deleted-entry-id");
  w.bulk_id(info.max_deleted_id.ms, info.max_deleted_id.seq);
  w.bulk("entries-added");
  w.integer(static_cast<int64_t>(info.entries_added));
  w.bulk("recorded-first-entry-id");
  w.bulk_id(info.first_id.ms, info.first_id.seq);
}

// XINFO STREAM key FULL [COUNT n]: the stream's first n entries (10 unless
// told, 0 for all) and each group with its pending entries and consumers,
// each consumer with its own (n of each), as Redis 7.0 answers. Read step by
// step on the client's thread: the stream, its entries, then per group its
// pending list, its consumers and each consumer's pending list.
class FullInfo : public std::enable_shared_from_this<FullInfo> {
 public:
  FullInfo(Context& ctx, ReplyPtr r, std::string key, uint64_t count)
      : ctx_(ctx), r_(std::move(r)), key_(std::move(key)), count_(count == 0 ? UINT64_MAX : count) {}

  void start() {
    ctx_.engine.stream_info(key_, back_to<StreamInfo>(r_, [self = shared_from_this()](Result<StreamInfo> info) {
      if (!info) return self->fail(info.status());
      if (!info->exists) {
        return reply_missing_stream(self->ctx_, self->r_, self->key_, [](ReplyWriter& w) { w.error("ERR no such key"); });
      }
      self->info_ = std::move(*info);
      self->groups_.resize(self->info_.groups.size());
      ReadSpec spec;
      spec.count = self->count_;
      self->ctx_.engine.read(self->key_, spec, back_to<ReadResult>(self->r_, [self](Result<ReadResult> got) {
        if (!got) return self->fail(got.status());
        self->entries_ = std::move(got->events);
        self->group(0);
      }));
    }));
  }

 private:
  struct Group {
    std::vector<PendingEntry> pending;
    std::vector<ConsumerInfo> consumers;
    std::vector<std::vector<PendingEntry>> consumer_pending;
  };

  PendingQuery query(size_t g, std::string consumer = {}) const {
    PendingQuery q;
    q.group = info_.groups[g].name;
    q.count = count_;
    q.consumer = std::move(consumer);
    return q;
  }

  void group(size_t g) {
    if (g == groups_.size()) return finish();
    auto self = shared_from_this();
    ctx_.engine.group_pending(key_, query(g), back_to<std::vector<PendingEntry>>(r_, [self, g](auto got) {
      if (!got) return self->fail(got.status());
      self->groups_[g].pending = std::move(*got);
      self->ctx_.engine.group_consumers(
          self->key_, self->info_.groups[g].name,
          back_to<std::vector<ConsumerInfo>>(self->r_, [self, g](Result<std::vector<ConsumerInfo>> cs) {
            if (!cs) return self->fail(cs.status());
            self->groups_[g].consumers = std::move(*cs);
            self->groups_[g].consumer_pending.resize(self->groups_[g].consumers.size());
            self->consumer(g, 0);
          }));
    }));
  }

  void consumer(size_t g, size_t c) {
    Group& grp = groups_[g];
    if (c == grp.consumers.size()) return group(g + 1);
    auto self = shared_from_this();
    ctx_.engine.group_pending(key_, query(g, grp.consumers[c].name),
                              back_to<std::vector<PendingEntry>>(r_, [self, g, c](auto got) {
                                if (!got) return self->fail(got.status());
                                self->groups_[g].consumer_pending[c] = std::move(*got);
                                self->consumer(g, c + 1);
                              }));
  }

  void fail(const Status& s) {
    write_status_error(r_->w(), s);
    r_->done();
  }

  void finish() {
    auto& w = r_->w();
    const StreamInfo& info = info_;
    w.map(9);
    write_stream_fields(w, info);
    w.bulk("entries");
    write_entries(w, entries_);
    w.bulk("groups");
    w.array(groups_.size());
    for (size_t g = 0; g < groups_.size(); ++g) {
      const GroupInfo& gi = info.groups[g];
      const Group& grp = groups_[g];
      w.map(7);
      w.bulk("name");
      w.bulk(gi.name);
      w.bulk("last-delivered-id");
      w.bulk_id(gi.last_delivered.ms, gi.last_delivered.seq);
      w.bulk("entries-read");
      if (gi.has_entries_read) w.integer(static_cast<int64_t>(gi.entries_read));
      else w.null();
      w.bulk("lag");
      if (gi.lag) w.integer(static_cast<int64_t>(*gi.lag));
      else w.null();
      w.bulk("pel-count");
      w.integer(static_cast<int64_t>(gi.pending));
      w.bulk("pending");
      w.array(grp.pending.size());
      for (const PendingEntry& p : grp.pending) {
        w.array(4);
        w.bulk_id(p.id.ms, p.id.seq);
        w.bulk(p.consumer);
        w.integer(p.delivered_ms);
        w.integer(static_cast<int64_t>(p.delivery_count));
      }
      w.bulk("consumers");
      w.array(grp.consumers.size());
      for (size_t c = 0; c < grp.consumers.size(); ++c) {
        const ConsumerInfo& ci = grp.consumers[c];
        w.map(4);
        w.bulk("name");
        w.bulk(ci.name);
        w.bulk("seen-time");
        w.integer(ci.seen_ms);
        w.bulk("pel-count");
        w.integer(static_cast<int64_t>(ci.pending));
        w.bulk("pending");
        w.array(grp.consumer_pending[c].size());
        for (const PendingEntry& p : grp.consumer_pending[c]) {
          w.array(3);
          w.bulk_id(p.id.ms, p.id.seq);
          w.integer(p.delivered_ms);
          w.integer(static_cast<int64_t>(p.delivery_count));
        }
      }
    }
    r_->done();
  }

  Context& ctx_;
  ReplyPtr r_;
  std::string key_;
  uint64_t count_;
  StreamInfo info_;
  std::vector<Event> entries_;
  std::vector<Group> groups_;
};

void cmd_xinfo(Context& ctx, const ReplyPtr& r, Args a) {
  std::string sub = lower(a[1]);
  if (sub == "help") {
    r->w().array(1);
    r->w().simple("XINFO <subcommand>: STREAM <key> [FULL], GROUPS <key>, CONSUMERS <key> <group>");
    return r->done();
  }
  if (sub == "stream" && a.size() >= 4 && iequals(a[3], "full")) {
    uint64_t count = 10;
    if (a.size() == 6 && iequals(a[4], "count")) {
      int64_t n;
      if (!parse_int(a[5], &n)) return reply_error(*r, "ERR value is not an integer or out of range");
      count = n < 0 ? 0 : static_cast<uint64_t>(n);
    } else if (a.size() != 4) {
      return reply_syntax_error(*r);
    }
    return std::make_shared<FullInfo>(ctx, r, std::string(a[2]), count)->start();
  }
  if ((sub == "stream" && a.size() == 3) || (sub == "groups" && a.size() == 3)) {
    std::string key(a[2]);
    bool stream = sub == "stream";
    return ctx.engine.stream_info(key, back_to<StreamInfo>(r, [&ctx, r, key, stream](Result<StreamInfo> info) {
      if (!info) {
        write_status_error(r->w(), info.status());
        return r->done();
      }
      if (!info->exists) {
        return reply_missing_stream(ctx, r, key, [](ReplyWriter& w) { w.error("ERR no such key"); });
      }
      if (!stream) {
        r->w().array(info->groups.size());
        for (auto& g : info->groups) write_group_info(r->w(), g);
        return r->done();
      }
      // First and last entries need reads.
      ReadSpec last;
      last.reverse = true;
      last.count = 1;
      ReadSpec first;
      first.count = 1;
      ctx.engine.read(key, first, back_to<ReadResult>(r, [&ctx, r, key, info = *info, last](Result<ReadResult> f) mutable {
        ctx.engine.read(key, last, back_to<ReadResult>(r, [r, info, f = std::move(f)](Result<ReadResult> l) {
          auto& w = r->w();
          w.map(10);
          write_stream_fields(w, info);
          w.bulk("groups");
          w.integer(static_cast<int64_t>(info.groups.size()));
          w.bulk("first-entry");
          if (f && !f->events.empty()) write_entry(w, f->events.front());
          else w.null();
          w.bulk("last-entry");
          if (l && !l->events.empty()) write_entry(w, l->events.front());
          else w.null();
          r->done();
        }));
      }));
    }));
  }
  if (sub == "consumers" && a.size() == 4) {
    return ctx.engine.group_consumers(
        std::string(a[2]), std::string(a[3]),
        group_reply<std::vector<ConsumerInfo>>(ctx, r, {std::string(a[2]), std::string(a[3]), NoGroupText::kGroupForKey}, [](ReplyWriter& w, std::vector<ConsumerInfo>& v) {
          int64_t now = now_ms();
          w.array(v.size());
          for (auto& c : v) {
            w.map(4);
            w.bulk("name");
            w.bulk(c.name);
            w.bulk("pending");
            w.integer(static_cast<int64_t>(c.pending));
            w.bulk("idle");
            w.integer(std::max<int64_t>(0, now - c.seen_ms));
            w.bulk("inactive");
            w.integer(c.active_ms < 0 ? -1 : std::max<int64_t>(0, now - c.active_ms));
          }
        }));
  }
  reply_unknown_subcommand(ctx, *r, a);
}

}  // namespace

void add_group_commands(std::vector<Command>& out) {
  out.push_back({"XGROUP", -2, kWrite, cmd_xgroup, 2, 2, 1, "create createconsumer delconsumer destroy help setid"});
  out.push_back({"XREADGROUP", -7, kWrite | kBlocking | kGroupStaged, cmd_xreadgroup, 0, 0, 0, {}, keys_after_streams});
  out.push_back({"XACK", -4, kWrite | kStaged | kGroupStaged, cmd_xack, 1, 1, 1});
  out.push_back({"XPENDING", -3, kReadOnly, cmd_xpending, 1, 1, 1});
  out.push_back({"XCLAIM", -6, kWrite | kGroupStaged, cmd_xclaim, 1, 1, 1});
  out.push_back({"XAUTOCLAIM", -6, kWrite | kGroupStaged, cmd_xautoclaim, 1, 1, 1});
  out.push_back({"XINFO", -2, kReadOnly, cmd_xinfo, 2, 2, 1, "consumers groups help stream"});
}

}  // namespace redcar::resp
