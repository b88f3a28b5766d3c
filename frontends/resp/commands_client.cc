// CLIENT and its subcommands: the connection's own (ID, SETNAME, GETNAME,
// SETINFO, INFO, REPLY, NO-EVICT, NO-TOUCH, TRACKING, GETREDIR,
// TRACKINGINFO) and the server-wide ones that visit every client on its own
// thread (LIST, KILL) or hold commands back (PAUSE, UNPAUSE).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>

#include "frontends/resp/client_registry.h"
#include "frontends/resp/command_table.h"
#include "frontends/resp/context.h"

namespace redcar::resp {
namespace {

void ok(const ReplyPtr& r) {
  r->w().simple("OK");
  r->done();
}

bool valid_name(std::string_view name) {
  for (char c : name) {
    if (c < '!' || c > '~') return false;
  }
  return true;
}

bool on_off(std::string_view v, bool* out) {
  if (iequals(v, "on")) *out = true;
  else if (iequals(v, "off")) *out = false;
  else return false;
  return true;
}

// What CLIENT KILL's filters select; `skip_me` keeps the caller.
struct KillFilter {
  bool old_form = false;
  std::optional<uint64_t> id;
  std::string addr, laddr, user, type;
  std::optional<int64_t> max_age;
  bool skip_me = true;

  bool selects(const Client& c, uint64_t me) const {
    if (skip_me && c.id == me) return false;
    if (id && c.id != *id) return false;
    if (!addr.empty() && c.peer != addr) return false;
    if (!laddr.empty() && c.local != laddr) return false;
    if (!user.empty() && user != c.user) return false;
    if (!type.empty()) {
      bool pubsub = c.subscribed();
      if (type == "pubsub" ? !pubsub : type == "normal" ? pubsub : true) return false;
    }
    if (max_age) {
      int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch()).count();
      if ((now - c.created_ms) / 1000 < *max_age) return false;
    }
    return true;
  }
};

// Parses CLIENT KILL's arguments (a[2] on); an error text or "".
std::string parse_kill(Args a, KillFilter* f) {
  if (a.size() == 3) {
    f->old_form = true;
    f->addr = std::string(a[2]);
    f->skip_me = false;
    return "";
  }
  if (a.size() % 2 != 0) return "ERR syntax error";
  for (size_t i = 2; i + 1 < a.size(); i += 2) {
    std::string opt = lower(a[i]);
    std::string_view v = a[i + 1];
    if (opt == "id") {
      uint64_t id;
      if (!parse_uint(v, &id) || id == 0) return "ERR client-id should be greater than 0";
      f->id = id;
    } else if (opt == "addr") {
      f->addr = std::string(v);
    } else if (opt == "laddr") {
      f->laddr = std::string(v);
    } else if (opt == "user") {
      f->user = std::string(v);
    } else if (opt == "type") {
      f->type = lower(v);
      if (f->type == "slave") f->type = "replica";
      if (f->type != "normal" && f->type != "pubsub" && f->type != "master" && f->type != "replica") {
        return "ERR Unknown client type '" + std::string(v) + "'";
      }
    } else if (opt == "skipme") {
      if (iequals(v, "yes")) f->skip_me = true;
      else if (iequals(v, "no")) f->skip_me = false;
      else return "ERR syntax error";
    } else if (opt == "maxage") {
      int64_t age;
      if (!parse_int(v, &age)) return "ERR value is not an integer or out of range";
      f->max_age = age;
    } else {
      return "ERR syntax error";
    }
  }
  return "";
}

void client_list(Context& ctx, const ReplyPtr& r, Args a) {
  std::string type;
  std::vector<uint64_t> ids;
  for (size_t i = 2; i < a.size(); ++i) {
    if (iequals(a[i], "type") && i + 1 < a.size()) {
      type = lower(a[++i]);
      if (type != "normal" && type != "pubsub" && type != "master" && type != "replica" && type != "slave") {
        return reply_error(*r, "ERR Unknown client type '" + std::string(a[i]) + "'");
      }
    } else if (iequals(a[i], "id") && i + 1 < a.size()) {
      for (++i; i < a.size(); ++i) {
        uint64_t id;
        if (!parse_uint(a[i], &id) || id == 0) return reply_error(*r, "ERR Invalid client ID");
        ids.push_back(id);
      }
    } else {
      return reply_syntax_error(*r);
    }
  }
  struct Lines {
    std::mutex mu;
    std::map<uint64_t, std::string> by_id;
  };
  auto lines = std::make_shared<Lines>();
  ctx.state.clients.visit_all(
      [lines, type, ids](Client& c) {
        if (!ids.empty() && std::find(ids.begin(), ids.end(), c.id) == ids.end()) return;
        if (type == "pubsub" && !c.subscribed()) return;
        if (type == "normal" && c.subscribed()) return;
        if (type == "master" || type == "replica" || type == "slave") return;
        std::string line = client_line(c);
        std::lock_guard lk(lines->mu);
        lines->by_id[c.id] = std::move(line);
      },
      r->client().loop(),
      [r, lines] {
        std::string out;
        for (auto& [id, line] : lines->by_id) out += line + "\n";
        reply_text(*r, out);
      });
}

void client_kill(Context& ctx, const ReplyPtr& r, Args a) {
  KillFilter f;
  if (std::string err = parse_kill(a, &f); !err.empty()) return reply_error(*r, err);
  auto killed = std::make_shared<std::atomic<int64_t>>(0);
  auto self = std::make_shared<std::atomic<bool>>(false);
  uint64_t me = r->client().id;
  ctx.state.clients.visit_all(
      [f, me, killed, self](Client& c) {
        if (!f.selects(c, me)) return;
        ++*killed;
        // The caller hears how many went before it goes itself.
        if (c.id == me) *self = true;
        else c.kill();
      },
      r->client().loop(),
      [r, killed, self, old = f.old_form] {
        if (!old) {
          r->w().integer(killed->load());
          r->done();
        } else if (killed->load() == 0) {
          reply_error(*r, "ERR No such client");
        } else {
          ok(r);
        }
        if (*self) r->client().kill_after_reply();
      });
}

void client_pause(Context& ctx, const ReplyPtr& r, Args a) {
  int64_t ms;
  if (!parse_int(a[2], &ms)) return reply_error(*r, "ERR timeout is not an integer or out of range");
  if (ms < 0) return reply_error(*r, "ERR timeout is negative");
  if (ms > (int64_t{1} << 40)) return reply_error(*r, "ERR timeout is out of range");
  bool writes_only = false;
  if (a.size() == 4) {
    if (iequals(a[3], "write")) writes_only = true;
    else if (!iequals(a[3], "all")) return reply_syntax_error(*r);
  } else if (a.size() > 4) {
    return reply_syntax_error(*r);
  }
  ctx.state.clients.pause(ClientRegistry::now_ms() + ms, writes_only);
  ok(r);
}

const char* kClientHelp[] = {
    "CLIENT <subcommand> [<arg> ...]:",
    "ID | GETNAME | INFO -- this connection's id, name, or CLIENT LIST line",
    "SETNAME <name> | SETINFO LIB-NAME|LIB-VER <value> -- name this connection or its library",
    "LIST [TYPE NORMAL|PUBSUB|MASTER|REPLICA] [ID <id> ...] -- one line per connection",
    "KILL <ip:port> | KILL [ID <id>] [ADDR <ip:port>] [LADDR <ip:port>] [USER <name>] [TYPE <type>]",
    "    [SKIPME yes|no] [MAXAGE <seconds>] -- close the connections that match all filters",
    "PAUSE <milliseconds> [WRITE|ALL] | UNPAUSE -- hold back every command, or the writes, for a time",
    "REPLY ON|OFF|SKIP -- answer every command, none, or not the next one",
    "NO-EVICT ON|OFF | NO-TOUCH ON|OFF -- accepted (redcar evicts nothing and keeps no LRU)",
    "TRACKING OFF | GETREDIR | TRACKINGINFO -- client-side caching is not offered: OFF only",
    "HELP -- this text",
};

void cmd_client(Context& ctx, const ReplyPtr& r, Args a) {
  Client& c = r->client();
  std::string sub = lower(a[1]);
  size_t n = a.size();
  if (sub == "id" && n == 2) {
    r->w().integer(static_cast<int64_t>(c.id));
    return r->done();
  }
  if (sub == "setname" && n == 3) {
    if (!valid_name(a[2])) {
      return reply_error(*r, "ERR Client names cannot contain spaces, newlines or special characters.");
    }
    c.name = std::string(a[2]);
    return ok(r);
  }
  if (sub == "getname" && n == 2) {
    if (c.name.empty()) r->w().null();
    else r->w().bulk(c.name);
    return r->done();
  }
  if (sub == "setinfo" && n == 4) {
    std::string attr = lower(a[2]);
    if (attr != "lib-name" && attr != "lib-ver") {
      return reply_error(*r, "ERR Unrecognized option '" + std::string(a[2]) + "'");
    }
    if (!valid_name(a[3])) {
      return reply_error(*r, "ERR " + attr + " cannot contain spaces, newlines or special characters.");
    }
    (attr == "lib-name" ? c.lib_name : c.lib_ver) = std::string(a[3]);
    return ok(r);
  }
  if (sub == "info" && n == 2) return reply_text(*r, client_line(c) + "\n");
  if (sub == "list") return client_list(ctx, r, a);
  if (sub == "kill" && n >= 3) return client_kill(ctx, r, a);
  if (sub == "pause" && (n == 3 || n == 4)) return client_pause(ctx, r, a);
  if (sub == "unpause" && n == 2) {
    ctx.state.clients.unpause();
    return ok(r);
  }
  if (sub == "reply" && n == 3) {
    std::string mode = lower(a[2]);
    if (mode == "on") {
      c.reply_mode = Client::ReplyMode::kOn;
      r->set_silent(false);
      return ok(r);
    }
    if (mode == "off" || mode == "skip") {
      // SKIP while OFF changes nothing: the replies stay off.
      if (mode == "off" || c.reply_mode != Client::ReplyMode::kOff) {
        c.reply_mode = mode == "off" ? Client::ReplyMode::kOff : Client::ReplyMode::kSkipNext;
      }
      r->set_silent(true);
      return ok(r);
    }
    return reply_syntax_error(*r);
  }
  if ((sub == "no-evict" || sub == "no-touch") && n == 3) {
    bool on;
    if (!on_off(a[2], &on)) return reply_syntax_error(*r);
    (sub == "no-evict" ? c.no_evict : c.no_touch) = on;
    return ok(r);
  }
  if (sub == "tracking" && n >= 3) {
    bool on;
    if (!on_off(a[2], &on)) return reply_syntax_error(*r);
    if (on) return reply_error(*r, "ERR client-side caching (CLIENT TRACKING ON) is not supported by redcar");
    return ok(r);
  }
  if (sub == "caching" && n == 3) {
    return reply_error(*r, "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled");
  }
  if (sub == "getredir" && n == 2) {
    r->w().integer(-1);
    return r->done();
  }
  if (sub == "trackinginfo" && n == 2) {
    auto& w = r->w();
    w.map(3);
    w.bulk("flags");
    w.set(1);
    w.bulk("off");
    w.bulk("redirect");
    w.integer(-1);
    w.bulk("prefixes");
    w.array(0);
    return r->done();
  }
  if (sub == "help" && n == 2) {
    return reply_help(*r, kClientHelp);
  }
  reply_unknown_subcommand(ctx, *r, a);
}

}  // namespace

void add_client_commands(std::vector<Command>& out) {
  out.push_back({"CLIENT", -2, 0, cmd_client, 0, 0, 0,
                 "caching getname getredir help id info kill list no-evict no-touch pause reply setinfo setname "
                 "tracking trackinginfo unpause"});
}

}  // namespace redcar::resp
