// Pub/sub: PUBLISH, SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE, PUNSUBSCRIBE, the
// shard channels' SPUBLISH, SSUBSCRIBE, SUNSUBSCRIBE, and PUBSUB's
// introspection.
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

using Kind = PubSub::Kind;

std::vector<std::string>& list_of(Client& c, Kind kind) {
  return kind == Kind::kPattern ? c.patterns : kind == Kind::kShard ? c.shard_channels : c.channels;
}

// The count each confirmation carries: shard channels count apart.
size_t count_of(const Client& c, Kind kind) {
  return kind == Kind::kShard ? c.shard_channels.size() : c.channels.size() + c.patterns.size();
}

void subscribe(Context& ctx, const ReplyPtr& r, Args a, Kind kind) {
  Client& sess = r->client();
  auto& list = list_of(sess, kind);
  const char* verb = kind == Kind::kPattern ? "psubscribe" : kind == Kind::kShard ? "ssubscribe" : "subscribe";
  for (size_t i = 1; i < a.size(); ++i) {
    std::string name(a[i]);
    if (std::find(list.begin(), list.end(), name) == list.end()) {
      list.push_back(name);
      ctx.pubsub.subscribe(r->client_ptr(), name, kind);
    }
    confirm(*r, verb, name, count_of(sess, kind));
  }
  r->done();
}

void unsubscribe(Context& ctx, const ReplyPtr& r, Args a, Kind kind) {
  Client& sess = r->client();
  auto& list = list_of(sess, kind);
  std::vector<std::string> names;
  if (a.size() == 1) names = list;
  else for (size_t i = 1; i < a.size(); ++i) names.emplace_back(a[i]);
  const char* kind_name =
      kind == Kind::kPattern ? "punsubscribe" : kind == Kind::kShard ? "sunsubscribe" : "unsubscribe";
  if (names.empty()) confirm(*r, kind_name, "", count_of(sess, kind), true);
  for (auto& n : names) {
    list.erase(std::remove(list.begin(), list.end(), n), list.end());
    ctx.pubsub.unsubscribe(sess, n, kind);
    confirm(*r, kind_name, n, count_of(sess, kind));
  }
  r->done();
}

void cmd_subscribe(Context& ctx, const ReplyPtr& r, Args a) {
  if (ctx.options.events_dialect) return dispatch_es_subscribe(ctx, r, a);
  subscribe(ctx, r, a, Kind::kChannel);
}
void cmd_psubscribe(Context& ctx, const ReplyPtr& r, Args a) { subscribe(ctx, r, a, Kind::kPattern); }
void cmd_ssubscribe(Context& ctx, const ReplyPtr& r, Args a) { subscribe(ctx, r, a, Kind::kShard); }
void cmd_unsubscribe(Context& ctx, const ReplyPtr& r, Args a) { unsubscribe(ctx, r, a, Kind::kChannel); }
void cmd_punsubscribe(Context& ctx, const ReplyPtr& r, Args a) { unsubscribe(ctx, r, a, Kind::kPattern); }
void cmd_sunsubscribe(Context& ctx, const ReplyPtr& r, Args a) { unsubscribe(ctx, r, a, Kind::kShard); }

void cmd_spublish(Context& ctx, const ReplyPtr& r, Args a) {
  r->w().integer(static_cast<int64_t>(ctx.pubsub.publish(std::string(a[1]), std::string(a[2]), Kind::kShard)));
  r->done();
}

void cmd_pubsub(Context& ctx, const ReplyPtr& r, Args a) {
  std::string sub = lower(a[1]);
  auto& w = r->w();
  if ((sub == "channels" || sub == "shardchannels") && a.size() <= 3) {
    auto names = ctx.pubsub.active(sub == "channels" ? Kind::kChannel : Kind::kShard,
                                   a.size() == 3 ? std::string(a[2]) : std::string());
    w.array(names.size());
    for (auto& n : names) w.bulk(n);
    return r->done();
  }
  if (sub == "numsub" || sub == "shardnumsub") {
    Kind kind = sub == "numsub" ? Kind::kChannel : Kind::kShard;
    // A flat array in both protocols, as Redis answers it.
    w.array(2 * (a.size() - 2));
    for (size_t i = 2; i < a.size(); ++i) {
      w.bulk(a[i]);
      w.integer(static_cast<int64_t>(ctx.pubsub.subscribers(kind, std::string(a[i]))));
    }
    return r->done();
  }
  if (sub == "numpat" && a.size() == 2) {
    w.integer(static_cast<int64_t>(ctx.pubsub.pattern_count()));
    return r->done();
  }
  if (sub == "help" && a.size() == 2) {
    static const char* kHelp[] = {
        "PUBSUB <subcommand> [<arg> ...]:",
        "CHANNELS [<pattern>] | SHARDCHANNELS [<pattern>] -- the channels (shard channels) with a subscriber",
        "NUMSUB [<channel> ...] | SHARDNUMSUB [<channel> ...] -- each channel's subscriber count",
        "NUMPAT -- how many patterns have a subscriber",
        "HELP -- this text",
    };
    return reply_help(*r, kHelp);
  }
  reply_unknown_subcommand(ctx, *r, a);
}

}  // namespace

void add_pubsub_commands(std::vector<Command>& out) {
  out.push_back({"PUBLISH", -3, kPubSubOk | kWrite | kStaged, cmd_publish});
  out.push_back({"SUBSCRIBE", -2, kPubSubOk, cmd_subscribe});
  out.push_back({"PSUBSCRIBE", -2, kPubSubOk, cmd_psubscribe});
  out.push_back({"UNSUBSCRIBE", -1, kPubSubOk, cmd_unsubscribe});
  out.push_back({"PUNSUBSCRIBE", -1, kPubSubOk, cmd_punsubscribe});
  out.push_back({"SPUBLISH", 3, kPausedAsWrite | kChannelKeys, cmd_spublish, 1, 1, 1});
  out.push_back({"SSUBSCRIBE", -2, kPubSubOk | kChannelKeys, cmd_ssubscribe, 1, -1, 1});
  out.push_back({"SUNSUBSCRIBE", -1, kPubSubOk | kChannelKeys, cmd_sunsubscribe, 1, -1, 1});
  out.push_back({"PUBSUB", -2, 0, cmd_pubsub, 0, 0, 0, "channels help numpat numsub shardchannels shardnumsub"});
}

}  // namespace redcar::resp
