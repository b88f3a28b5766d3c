// Stream commands: XADD, XRANGE, XREVRANGE, XLEN, XDEL, XTRIM, XREAD, XSETID,
// XINFO STREAM, and the event-store verbs (publish, last-event-number,
// stream-names).
#include <boost/asio/post.hpp>

#include "frontends/resp/command_table.h"
#include "frontends/resp/databases.h"
#include "frontends/resp/context.h"
#include "frontends/resp/stream_read.h"
#include "frontends/resp/stream_reply.h"

namespace redcar::resp {

namespace {
// [id, [field, value, ...]]. XADD writes fields and no type; the event
// verbs and the native API write a type, a body, and maybe attributes (as
// fields). `each_field(fn)` calls fn(name, value) for every field.
template <typename EachField>
void write_entry_of(ReplyWriter& w, StreamId id, std::string_view type, std::string_view data, size_t fields,
                    EachField&& each_field) {
  w.array(2);
  w.bulk_id(id.ms, id.seq);
  bool typed = !type.empty() || fields == 0;
  w.array(fields * 2 + (typed ? 4 : 0));
  if (typed) {
    w.bulk("type");
    w.bulk(type);
    w.bulk("data");
    w.bulk(data);
  }
  each_field([&w](std::string_view name, std::string_view value) {
    w.bulk(name);
    w.bulk(value);
  });
}
}  // namespace

void write_entry(ReplyWriter& w, const Event& e) {
  const auto& p = e.payload;
  write_entry_of(w, e.id, p.type, p.data, p.fields.size(), [&p](auto&& fn) {
    for (auto& f : p.fields) fn(f.name, f.value);
  });
}

void write_entry(ReplyWriter& w, const EventView& e) {
  write_entry_of(w, e.id, e.type, e.data, e.fields.size(), [&e](auto&& fn) {
    EventView::Fields fields = e.fields;
    std::string_view name, value;
    while (fields.next(&name, &value)) fn(name, value);
  });
}

void write_entries(ReplyWriter& w, const std::vector<Event>& events) {
  w.array(events.size());
  for (auto& e : events) write_entry(w, e);
}

bool parse_range_bound(std::string_view text, bool start, StreamId* out, bool* exclusive) {
  *exclusive = false;
  if (text == "-") {
    *out = StreamId::min();
    return true;
  }
  if (text == "+") {
    *out = StreamId::max();
    return true;
  }
  if (!text.empty() && text[0] == '(') {
    *exclusive = true;
    text.remove_prefix(1);
  }
  return StreamId::parse(text, start ? 0 : UINT64_MAX, out);
}

namespace {

const char* kInvalidId = "ERR Invalid stream ID specified as stream command argument";

// Parses [=|~] threshold [LIMIT n] after MAXLEN/MINID at a[i].
bool parse_trim(Args a, size_t& i, TrimSpec* t, std::string* err) {
  std::string kind = lower(a[i]);
  if (kind != "maxlen" && kind != "minid") return false;
  t->kind = kind == "maxlen" ? TrimSpec::Kind::kMaxCount : TrimSpec::Kind::kMinId;
  ++i;
  if (i < a.size() && (a[i] == "=" || a[i] == "~")) {
    t->approximate = a[i] == "~";
    ++i;
  }
  if (i >= a.size()) {
    *err = "ERR syntax error";
    return true;
  }
  if (t->kind == TrimSpec::Kind::kMaxCount) {
    int64_t v;
    if (!parse_int(a[i], &v)) {
      *err = "ERR value is not an integer or out of range";
      return true;
    }
    if (v < 0) {
      *err = "ERR The MAXLEN argument must be >= 0.";
      return true;
    }
    t->value = static_cast<uint64_t>(v);
  } else if (!StreamId::parse(a[i], 0, &t->min_id)) {
    *err = kInvalidId;
    return true;
  }
  ++i;
  if (i + 1 < a.size() && iequals(a[i], "limit")) {
    int64_t lim;
    if (!parse_int(a[i + 1], &lim) || lim < 0) {
      *err = "ERR The LIMIT argument must be >= 0.";
      return true;
    }
    if (!t->approximate) {
      *err = "ERR syntax error, LIMIT cannot be used without the special ~ option";
      return true;
    }
    t->limit = static_cast<uint64_t>(lim);
    i += 2;
  }
  return true;
}

void cmd_xadd(Context& ctx, const ReplyPtr& r, Args a) {
  AppendOptions opt;
  size_t i = 2;
  while (i < a.size()) {
    if (iequals(a[i], "nomkstream")) {
      opt.no_create = true;
      ++i;
      continue;
    }
    std::string err;
    if (parse_trim(a, i, &opt.trim, &err)) {
      if (!err.empty()) return reply_error(*r, err);
      continue;
    }
    break;
  }
  if (i >= a.size()) return reply_wrong_arity(*r, "xadd");
  std::string_view id = a[i++];
  if (id == "*") {
    opt.id_mode = IdMode::kAuto;
  } else if (id.size() > 2 && id.substr(id.size() - 2) == "-*") {
    opt.id_mode = IdMode::kAutoSeq;
    if (!StreamId::parse(id.substr(0, id.size() - 2), 0, &opt.id)) return reply_error(*r, kInvalidId);
  } else {
    opt.id_mode = IdMode::kExplicit;
    if (!StreamId::parse(id, 0, &opt.id)) return reply_error(*r, kInvalidId);
  }
  if (i >= a.size() || (a.size() - i) % 2 != 0) return reply_wrong_arity(*r, "xadd");
  // The event is written into the reply's own, which keeps the capacity
  // of its strings from one request to the next, and lent to the engine.
  std::vector<EventData>& events = r->lent_events();
  events.resize(1);
  EventData& ev = events[0];
  ev.type.clear();
  ev.data.clear();
  ev.idempotency_id.clear();
  ev.content_type.clear();
  ev.fields.resize((a.size() - i) / 2);
  for (Field& f : ev.fields) {
    f.name.assign(a[i++]);
    f.value.assign(a[i++]);
  }
  // A new stream may not take a name a string key holds: the engine checks
  // that in the same call.
  opt.refuse_over_key = true;
  ctx.engine.append_lent(std::string(a[1]), &events, std::move(opt),
                    back_to<AppendResult>(r, [r](Result<AppendResult> res) {
                      if (!res) write_status_error(r->w(), res.status());
                      else if (res->skipped) r->w().null();
                      else r->w().bulk_id(res->first_id.ms, res->first_id.seq);
                      r->done();
                    }));
}

void range(Context& ctx, const ReplyPtr& r, Args a, bool reverse) {
  std::string_view lo_text = reverse ? a[3] : a[2];
  std::string_view hi_text = reverse ? a[2] : a[3];
  ReadSpec spec;
  spec.by_id = true;
  spec.reverse = reverse;
  bool lo_ex, hi_ex;
  if (!parse_range_bound(lo_text, true, &spec.from_id, &lo_ex) ||
      !parse_range_bound(hi_text, false, &spec.to_id, &hi_ex)) {
    return reply_error(*r, kInvalidId);
  }
  if (lo_ex) {
    if (spec.from_id == StreamId::max()) return reply_error(*r, "ERR invalid start ID for the interval");
    spec.from_id = spec.from_id.next();
  }
  if (hi_ex) {
    if (spec.to_id == StreamId::min()) return reply_error(*r, "ERR invalid end ID for the interval");
    spec.to_id = spec.to_id.prev();
  }
  if (a.size() == 6 && iequals(a[4], "count")) {
    int64_t c;
    if (!parse_int(a[5], &c)) return reply_error(*r, "ERR value is not an integer or out of range");
    spec.count = c < 0 ? 0 : static_cast<uint64_t>(c);
  } else if (a.size() != 4) {
    return reply_syntax_error(*r);
  }
  if (spec.count == 0 || spec.from_id > spec.to_id) {
    r->w().array(0);
    return r->done();
  }
  auto empty = [](ReplyWriter& w) { w.array(0); };
  // Kept in the reply, for an empty answer's look at the string keys.
  r->kept_key().assign(a[1]);
  if (reverse) {
    return ctx.engine.read(std::string(a[1]), spec, back_to<ReadResult>(r, [&ctx, r, empty](Result<ReadResult> res) {
      if (res && res->events.empty()) return reply_missing_stream(ctx, r, r->kept_key(), empty);
      if (!res) write_status_error(r->w(), res.status());
      else write_entries(r->w(), res->events);
      r->done();
    }));
  }
  // Forwards, the entries are written from the log as the read lends them,
  // on the stream's shard; only done() goes back to the client's thread.
  // The visitor holds no reference: the one `done` holds keeps the reply.
  r->w().open_array();
  Reply* out = r.get();
  ctx.engine.read_views(
      std::string(a[1]), spec,
      [out](const EventView& e) {
        out->w().count_element();
        write_entry(out->w(), e);
        return true;
      },
      [&ctx, r = ReplyPtr(r), empty](Status st) mutable {
        if (st && r->w().open_count() == 0) {
          // Nothing: no entries in range, no stream, or a string key.
          r->w().drop_open_array();
          return reply_missing_stream(ctx, r, r->kept_key(), empty);
        }
        if (st) {
          r->w().close_array();
        } else {
          r->w().drop_open_array();
          write_status_error(r->w(), st);
        }
        done_on_client(std::move(r));
      });
}

void cmd_xrange(Context& ctx, const ReplyPtr& r, Args a) { range(ctx, r, a, false); }
void cmd_xrevrange(Context& ctx, const ReplyPtr& r, Args a) { range(ctx, r, a, true); }

void cmd_xlen(Context& ctx, const ReplyPtr& r, Args a) {
  ctx.engine.stream_info(std::string(a[1]), back_to<StreamInfo>(r, [&ctx, r, key = std::string(a[1])](Result<StreamInfo> res) {
    if (res && !res->exists) return reply_missing_stream(ctx, r, key, [](ReplyWriter& w) { w.integer(0); });
    if (!res) write_status_error(r->w(), res.status());
    else r->w().integer(static_cast<int64_t>(res->length));
    r->done();
  }));
}

void cmd_xdel(Context& ctx, const ReplyPtr& r, Args a) {
  std::vector<StreamId> ids;
  for (size_t i = 2; i < a.size(); ++i) {
    StreamId id;
    if (!StreamId::parse(a[i], 0, &id)) return reply_error(*r, kInvalidId);
    ids.push_back(id);
  }
  ctx.engine.delete_events(std::string(a[1]), std::move(ids), back_to<uint64_t>(r, [&ctx, r, key = std::string(a[1])](Result<uint64_t> res) {
    if (res && *res == 0) return reply_missing_stream(ctx, r, key, [](ReplyWriter& w) { w.integer(0); });
    if (!res) write_status_error(r->w(), res.status());
    else r->w().integer(static_cast<int64_t>(*res));
    r->done();
  }));
}

void cmd_xtrim(Context& ctx, const ReplyPtr& r, Args a) {
  TrimSpec t;
  size_t i = 2;
  std::string err;
  if (!parse_trim(a, i, &t, &err)) return reply_syntax_error(*r);
  if (!err.empty()) return reply_error(*r, err);
  if (i != a.size()) return reply_syntax_error(*r);
  ctx.engine.trim(std::string(a[1]), t, back_to<uint64_t>(r, [&ctx, r, key = std::string(a[1])](Result<uint64_t> res) {
    if (res && *res == 0) return reply_missing_stream(ctx, r, key, [](ReplyWriter& w) { w.integer(0); });
    if (!res) write_status_error(r->w(), res.status());
    else r->w().integer(static_cast<int64_t>(*res));
    r->done();
  }));
}

void cmd_xsetid(Context& ctx, const ReplyPtr& r, Args a) {
  StreamId last;
  if (!StreamId::parse(a[2], 0, &last)) return reply_error(*r, kInvalidId);
  std::optional<uint64_t> added;
  std::optional<StreamId> maxdel;
  for (size_t i = 3; i + 1 < a.size(); i += 2) {
    if (iequals(a[i], "entriesadded")) {
      uint64_t v;
      if (!parse_uint(a[i + 1], &v)) return reply_error(*r, "ERR value is not an integer or out of range");
      added = v;
    } else if (iequals(a[i], "maxdeletedid")) {
      StreamId v;
      if (!StreamId::parse(a[i + 1], 0, &v)) return reply_error(*r, kInvalidId);
      maxdel = v;
    } else {
      return reply_syntax_error(*r);
    }
  }
  ctx.engine.set_last_id(std::string(a[1]), last, added, maxdel, back_to<bool>(r, [&ctx, r, key = std::string(a[1])](Result<bool> res) {
    if (!res && res.status().code() == Code::kNotFound) {
      return reply_missing_stream(ctx, r, key, [](ReplyWriter& w) { w.error("ERR no such key"); });
    }
    else if (!res) write_status_error(r->w(), res.status());
    else r->w().simple("OK");
    r->done();
  }));
}

// XREAD [COUNT n] [BLOCK ms] STREAMS key... id...
struct XRead : BlockedRead {
  using BlockedRead::BlockedRead;
  StreamReadArgs args;
  std::vector<StreamId> after;  // entries with IDs above these; "$": the stream's last ID
  std::vector<ReadResult> results;
  size_t remaining = 0;
};
using Hits = std::vector<std::pair<std::string, std::vector<Event>>>;

void xread_answer(const std::shared_ptr<XRead>& st, Hits hits) {
  if (!st->settle()) return;
  auto& w = st->reply()->w();
  if (hits.empty()) {
    w.null_array();
  } else {
    write_streams(w, hits.size(), [&](size_t i) {
      w.bulk(user_key(hits[i].first));
      write_entries(w, hits[i].second);
    });
  }
  st->reply()->done();
}

// Follows each stream from the number after what the read saw: nothing
// appended in between can slip past. The subscriptions hold the read until
// it settles (which cancels them).
void xread_wait(Context& ctx, const std::shared_ptr<XRead>& st) {
  auto ex = st->reply()->executor();
  for (size_t i = 0; i < st->args.keys.size(); ++i) {
    SubscribeOptions so;
    so.from = SubscribeOptions::From::kNumber;
    so.number = st->results[i].next_number;
    std::string key = st->args.keys[i];
    StreamId after = st->args.ids[i] == "$" ? st->results[i].last_id : st->after[i];
    uint64_t count = st->args.count;
    auto handler = [st, key, after, count, ex](std::vector<EventPtr> evs, std::function<void()>) {
      std::vector<Event> got;
      for (auto& e : evs) {
        if (e->id > after && got.size() < count) got.push_back(*e);
      }
      if (got.empty()) return;
      boost::asio::post(ex, [st, key, got = std::move(got)]() mutable { xread_answer(st, Hits{{key, std::move(got)}}); });
    };
    st->follow(ctx.engine.subscribe(key, so, handler, [](Status) {}));
  }
  st->end_when_client_leaves();
  st->time_out_after(*st->args.block_ms, [st] { xread_answer(st, {}); });
}

// Every key read: answers what was found, or waits (BLOCK). A key that
// holds a string rather than a stream makes the read WRONGTYPE, as in Redis.
void xread_found(Context& ctx, const std::shared_ptr<XRead>& st) {
  std::vector<std::string> missing;
  for (size_t j = 0; j < st->args.keys.size(); ++j) {
    if (!st->results[j].exists) missing.push_back(st->args.keys[j]);
  }
  auto go_on = [&ctx, st] {
    Hits hits;
    for (size_t j = 0; j < st->args.keys.size(); ++j) {
      if (!st->results[j].events.empty()) hits.push_back({st->args.keys[j], std::move(st->results[j].events)});
    }
    if (!hits.empty() || !st->args.block_ms) return xread_answer(st, std::move(hits));
    xread_wait(ctx, st);
  };
  if (missing.empty()) return go_on();
  const ReplyPtr& r = st->reply();
  exists_both(ctx, std::move(missing), [r, st, go_on](Result<std::vector<std::pair<bool, bool>>> found) {
    on_client(r, [st, go_on, found = std::move(found)] {
      if (st->answered()) return;
      bool string = false;
      if (found) {
        for (auto& [str, stream] : *found) string = string || (str && !stream);
      }
      if (!found || string) {
        st->settle();
        if (!found) write_status_error(st->reply()->w(), found.status());
        else st->reply()->w().error("WRONGTYPE Operation against a key holding the wrong kind of value");
        return st->reply()->done();
      }
      go_on();
    });
  });
}

void cmd_xread(Context& ctx, const ReplyPtr& r, Args a) {
  auto st = std::make_shared<XRead>(r);
  if (!parse_stream_read(*r, a, 1, StreamReadKind::kXRead, &st->args)) return;
  size_t n = st->args.keys.size();
  st->after.resize(n);
  st->results.resize(n);
  st->remaining = n;
  for (size_t k = 0; k < n; ++k) {
    bool dollar = st->args.ids[k] == "$";
    if (!dollar) StreamId::parse(st->args.ids[k], 0, &st->after[k]);
    ReadSpec spec;
    spec.by_id = true;
    spec.count = dollar ? 0 : st->args.count;  // "$": only where the stream stands
    spec.from_id = dollar ? StreamId::max() : st->after[k].next();
    ctx.engine.read(st->args.keys[k], spec, back_to<ReadResult>(r, [&ctx, st, k](Result<ReadResult> res) {
      if (st->answered()) return;
      if (!res) {
        st->settle();
        write_status_error(st->reply()->w(), res.status());
        return st->reply()->done();
      }
      st->results[k] = std::move(*res);
      if (--st->remaining > 0) return;
      xread_found(ctx, st);
    }));
  }
}

// --- event-store verbs ---

void cmd_es_publish(Context& ctx, const ReplyPtr& r, Args a) {
  EventData ev;
  ev.type = std::string(a[2]);
  ev.data = std::string(a[3]);
  std::vector<EventData> evs;
  evs.push_back(std::move(ev));
  // PUBLISH names a channel to Redis, so dispatch() left it as it came.
  ctx.engine.append(stored_key(r->client().db, a[1]), std::move(evs), {}, back_to<AppendResult>(r, [r](Result<AppendResult> res) {
    if (!res) write_status_error(r->w(), res.status());
    else r->w().integer(static_cast<int64_t>(res->first_number));
    r->done();
  }));
}

void cmd_last_event_number(Context& ctx, const ReplyPtr& r, Args a) {
  ctx.engine.stream_info(std::string(a[1]), back_to<StreamInfo>(r, [r](Result<StreamInfo> res) {
    if (!res) write_status_error(r->w(), res.status());
    else if (!res->exists || res->next_number == 0) r->w().null();
    else r->w().integer(static_cast<int64_t>(res->next_number - 1));
    r->done();
  }));
}

void cmd_stream_names(Context& ctx, const ReplyPtr& r, Args a) {
  const unsigned db = r->client().db;
  std::string prefix = stored_key(db, a.size() > 1 ? a[1] : "");
  ctx.engine.list_streams(prefix, back_to<std::vector<std::string>>(r, [r, db](Result<std::vector<std::string>> res) {
    if (!res) {
      write_status_error(r->w(), res.status());
    } else {
      std::erase_if(*res, [db](const std::string& n) { return redis_database_of(n) != db; });
      r->w().array(res->size());
      for (auto& n : *res) r->w().bulk(user_key(n));
    }
    r->done();
  }));
}

}  // namespace

void dispatch_es_publish(Context& ctx, const ReplyPtr& r, Args a) { cmd_es_publish(ctx, r, a); }

void add_stream_commands(std::vector<Command>& out) {
  out.push_back({"XADD", -5, kWrite | kStaged, cmd_xadd, 1, 1, 1});
  out.push_back({"XRANGE", -4, kReadOnly, cmd_xrange, 1, 1, 1});
  out.push_back({"XREVRANGE", -4, kReadOnly, cmd_xrevrange, 1, 1, 1});
  out.push_back({"XLEN", 2, kReadOnly, cmd_xlen, 1, 1, 1});
  out.push_back({"XDEL", -3, kWrite, cmd_xdel, 1, 1, 1});
  out.push_back({"XTRIM", -4, kWrite, cmd_xtrim, 1, 1, 1});
  out.push_back({"XSETID", -3, kWrite, cmd_xsetid, 1, 1, 1});
  out.push_back({"XREAD", -4, kReadOnly | kBlocking, cmd_xread, 0, 0, 0, {}, keys_after_streams});
  out.push_back({"LAST-EVENT-NUMBER", 2, kReadOnly, cmd_last_event_number, 1, 1, 1});
  out.push_back({"STREAM-NAMES", -1, kReadOnly, cmd_stream_names});
}

}  // namespace redcar::resp
