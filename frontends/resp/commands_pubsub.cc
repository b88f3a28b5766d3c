// Pub/sub: PUBLISH, SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE, PUNSUBSCRIBE.
// Messages are not stored (as in Redis); streams are the durable way.
// Under --resp-dialect events, PUBLISH with three arguments is the
// event-store verb `publish STREAM EVENT-NAME DATA`.
#include "frontends/resp/command_table.h"
#include "frontends/resp/context.h"

namespace redcar::resp {

void dispatch_es_publish(Context& ctx, const ReplyPtr& r, Args a);
void dispatch_es_subscribe(Context& ctx, const ReplyPtr& r, Args a);

namespace {

void cmd_publish(Context& ctx, const ReplyPtr& r, Args a) {
  if (a.size() == 4 && ctx.options.events_dialect) return dispatch_es_publish(ctx, r, a);
  if (a.size() != 3) return reply_wrong_arity(*r, "publish");
  r->w().integer(static_cast<int64_t>(ctx.pubsub.publish(std::string(a[1]), std::string(a[2]))));
  r->done();
}

void confirm(Reply& r, const char* kind, std::string_view name, size_t count, bool null_name = false) {
  auto& w = r.w();
  w.push(3);
  w.bulk(kind);
  if (null_name) w.null();
  else w.bulk(name);
  w.integer(static_cast<int64_t>(count));
}

void subscribe(Context& ctx, const ReplyPtr& r, Args a, bool pattern) {
  Client& sess = r->client();
  auto& list = pattern ? sess.patterns : sess.channels;
  for (size_t i = 1; i < a.size(); ++i) {
    std::string name(a[i]);
    if (std::find(list.begin(), list.end(), name) == list.end()) {
      list.push_back(name);
      ctx.pubsub.subscribe(r->client_ptr(), name, pattern);
    }
    confirm(*r, pattern ? "psubscribe" : "subscribe", name, sess.channels.size() + sess.patterns.size());
  }
  r->done();
}

void unsubscribe(Context& ctx, const ReplyPtr& r, Args a, bool pattern) {
  Client& sess = r->client();
  auto& list = pattern ? sess.patterns : sess.channels;
  std::vector<std::string> names;
  if (a.size() == 1) names = list;
  else for (size_t i = 1; i < a.size(); ++i) names.emplace_back(a[i]);
  const char* kind = pattern ? "punsubscribe" : "unsubscribe";
  if (names.empty()) confirm(*r, kind, "", sess.channels.size() + sess.patterns.size(), true);
  for (auto& n : names) {
    list.erase(std::remove(list.begin(), list.end(), n), list.end());
    ctx.pubsub.unsubscribe(sess, n, pattern);
    confirm(*r, kind, n, sess.channels.size() + sess.patterns.size());
  }
  r->done();
}

void cmd_subscribe(Context& ctx, const ReplyPtr& r, Args a) {
  if (ctx.options.events_dialect) return dispatch_es_subscribe(ctx, r, a);
  subscribe(ctx, r, a, false);
}
void cmd_psubscribe(Context& ctx, const ReplyPtr& r, Args a) { subscribe(ctx, r, a, true); }
void cmd_unsubscribe(Context& ctx, const ReplyPtr& r, Args a) { unsubscribe(ctx, r, a, false); }
void cmd_punsubscribe(Context& ctx, const ReplyPtr& r, Args a) { unsubscribe(ctx, r, a, true); }

}  // namespace

void add_pubsub_commands(std::vector<Command>& out) {
  out.push_back({"PUBLISH", -3, kPubSubOk | kWrite | kStaged, cmd_publish});
  out.push_back({"SUBSCRIBE", -2, kPubSubOk, cmd_subscribe});
  out.push_back({"PSUBSCRIBE", -2, kPubSubOk, cmd_psubscribe});
  out.push_back({"UNSUBSCRIBE", -1, kPubSubOk, cmd_unsubscribe});
  out.push_back({"PUNSUBSCRIBE", -1, kPubSubOk, cmd_punsubscribe});
}

}  // namespace redcar::resp
