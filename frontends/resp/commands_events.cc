// The event-store verbs that share a name with a Redis command, served on a
// listener started with --resp-dialect events:
//   subscribe STREAM[:FROM[:TO]]   catch up from FROM (default 0), then follow
//                                  live appends; end after TO when given.
//   subscribe *                    every stream, from the beginning.
// Each event arrives as a push: ["event", stream, number, id, type, data];
// a subscription that reaches TO ends with ["end", stream, TO].
// (publish STREAM EVENT-NAME DATA, last-event-number and stream-names are
// in commands_streams.cc.)
#include <boost/asio/post.hpp>

#include "frontends/resp/command_table.h"
#include "frontends/resp/context.h"
#include "frontends/resp/databases.h"

namespace redcar::resp {

namespace {

struct Target {
  std::string stream;
  bool all = false;
  uint64_t from = 0;
  std::optional<uint64_t> to;
};

bool parse_target(std::string_view text, Target* t) {
  if (text == "*") {
    t->all = true;
    return true;
  }
  // Numbers are taken from the right, so stream names may hold colons.
  auto take_number = [](std::string_view& s, uint64_t* out) {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return false;
    if (!parse_uint(s.substr(colon + 1), out)) return false;
    s = s.substr(0, colon);
    return true;
  };
  uint64_t a, b;
  std::string_view s = text;
  if (take_number(s, &b)) {
    std::string_view s2 = s;
    if (take_number(s2, &a)) {
      t->from = a;
      t->to = b;
      s = s2;
    } else {
      t->from = b;
    }
  }
  if (s.empty()) return false;
  t->stream = std::string(s);
  return true;
}

void push_events(const ClientPtr& sess, std::vector<EventPtr> evs, std::function<void()> more,
                 std::optional<uint64_t> to) {
  std::string bytes;
  ReplyWriter w(bytes, sess->protocol);
  bool ended = false;
  std::string stream;
  for (auto& e : evs) {
    w.push(6);
    w.bulk("event");
    w.bulk(user_key(e->stream));
    w.integer(static_cast<int64_t>(e->number));
    w.bulk_id(e->id.ms, e->id.seq);
    w.bulk(e->payload.type);
    w.bulk(e->payload.data);
    if (to && e->number >= *to) {
      ended = true;
      stream = e->stream;
    }
  }
  if (ended) {
    w.push(3);
    w.bulk("end");
    w.bulk(user_key(stream));
    w.integer(static_cast<int64_t>(*to));
  }
  sess->push(std::move(bytes));
  sess->when_writable(std::move(more));
}

}  // namespace

void dispatch_es_subscribe(Context& ctx, const ReplyPtr& r, Args a) {
  auto sess = r->client_ptr();
  std::vector<Target> targets;
  for (size_t i = 1; i < a.size(); ++i) {
    Target t;
    if (!parse_target(a[i], &t)) return reply_error(*r, "ERR bad subscription '" + std::string(a[i]) + "': want STREAM[:FROM[:TO]] or *");
    targets.push_back(std::move(t));
  }
  r->w().push(3);
  r->w().bulk("subscribe");
  r->w().bulk(std::string(a[1]));
  r->w().integer(static_cast<int64_t>(targets.size()));
  r->done();
  auto ex = sess->executor();
  const unsigned db = sess->db;  // the client's database's streams (databases.h)
  for (auto& t : targets) {
    auto handler = [sess, ex, db, to = t.to](std::vector<EventPtr> evs, std::function<void()> more) {
      boost::asio::post(ex, [sess, db, evs = std::move(evs), more = std::move(more), to]() mutable {
        if (sess->closed()) return;
        std::erase_if(evs, [db](const EventPtr& e) { return redis_database_of(e->stream) != db; });
        push_events(sess, std::move(evs), std::move(more), to);
      });
    };
    std::shared_ptr<Subscription> sub;
    if (t.all) {
      sub = ctx.engine.subscribe_all(stored_key(db, ""), true, handler, [](Status) {});
    } else {
      SubscribeOptions so;
      so.from = SubscribeOptions::From::kNumber;
      so.number = t.from;
      so.to = t.to;
      sub = ctx.engine.subscribe(stored_key(db, t.stream), so, handler, [](Status) {});
    }
    sess->on_close.push_back([sub] { sub->cancel(); });
    sess->channels.push_back("stream:" + (t.all ? std::string("*") : t.stream));
  }
}

}  // namespace redcar::resp
