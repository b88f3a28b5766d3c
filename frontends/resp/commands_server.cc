// Connection and server commands: PING, ECHO, HELLO, AUTH, SELECT, RESET,
// COMMAND, CONFIG, TIME, LASTSAVE, SAVE, BGSAVE, BGREWRITEAOF, WAIT, DEBUG;
// QUIT is the session's. CLIENT is in commands_client.cc, INFO, SLOWLOG
// and LATENCY in commands_info.cc.
#include <spdlog/spdlog.h>

#include <chrono>
#include <algorithm>
#include <cstdlib>
#include <functional>
#include <optional>

#include "frontends/resp/command_table.h"
#include "frontends/resp/context.h"
#include "frontends/resp/stream_read.h"

namespace redcar::resp {
namespace {

void cmd_ping(Context&, const ReplyPtr& r, Args a) {
  if (a.size() > 2) return reply_wrong_arity(*r, "ping");
  if (r->client().subscribed() && r->protocol() == 2) {
    r->w().array(2);
    r->w().bulk("pong");
    r->w().bulk(a.size() == 2 ? a[1] : "");
  } else if (a.size() == 2) {
    r->w().bulk(a[1]);
  } else {
    r->w().simple("PONG");
  }
  r->done();
}

void cmd_echo(Context&, const ReplyPtr& r, Args a) {
  r->w().bulk(a[1]);
  r->done();
}

// Logs the client in as `user` (ACL users, acl.h); false, with the
// refusal in the ACL LOG, when the pair does not match.
bool log_in(Context& ctx, Client& c, std::string_view user, std::string_view pass) {
  if (!ctx.state.acl.authenticate(user, pass)) {
    ctx.state.acl.log("auth", "toplevel", "AUTH", std::string(user), client_line(c));
    return false;
  }
  c.user = std::string(user);
  c.acl_version = 0;  // read the user before the next command
  c.authenticated = true;
  return true;
}

void cmd_auth(Context& ctx, const ReplyPtr& r, Args a) {
  if (a.size() > 3) return reply_syntax_error(*r);
  if (a.size() == 2 && ctx.state.acl.default_is_open()) {
    return reply_error(*r, "ERR AUTH <password> called without any password configured for the default user. "
                           "Are you sure your configuration is correct?");
  }
  std::string_view user = a.size() == 3 ? a[1] : "default";
  std::string_view pass = a.size() == 3 ? a[2] : a[1];
  if (!log_in(ctx, r->client(), user, pass)) {
    return reply_error(*r, "WRONGPASS invalid username-password pair or user is disabled.");
  }
  r->w().simple("OK");
  r->done();
}

void cmd_hello(Context& ctx, const ReplyPtr& r, Args a) {
  Client& sess = r->client();
  int proto = sess.protocol;
  size_t i = 1;
  if (a.size() > 1) {
    int64_t v;
    if (!parse_int(a[1], &v)) return reply_error(*r, "ERR Protocol version is not an integer or out of range");
    if (v != 2 && v != 3) return reply_error(*r, "NOPROTO unsupported protocol version");
    proto = static_cast<int>(v);
    i = 2;
  }
  for (; i < a.size(); ++i) {
    if (iequals(a[i], "auth") && i + 2 < a.size()) {
      if (!log_in(ctx, sess, a[i + 1], a[i + 2])) {
        return reply_error(*r, "WRONGPASS invalid username-password pair or user is disabled.");
      }
      i += 2;
    } else if (iequals(a[i], "setname") && i + 1 < a.size()) {
      sess.name = std::string(a[++i]);
    } else {
      return reply_error(*r, "ERR Syntax error in HELLO option '" + std::string(a[i]) + "'");
    }
  }
  if (!sess.authenticated) return reply_error(*r, "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
  sess.protocol = proto;
  r->w().set_protocol(proto);
  auto& w = r->w();
  w.map(7);
  w.bulk("server");
  w.bulk("redis");
  w.bulk("version");
  w.bulk("7.0.0");
  w.bulk("proto");
  w.integer(proto);
  w.bulk("id");
  w.integer(static_cast<int64_t>(sess.id));
  w.bulk("mode");
  w.bulk("standalone");
  w.bulk("role");
  w.bulk("master");
  w.bulk("modules");
  w.array(0);
  r->done();
}

void cmd_select(Context& ctx, const ReplyPtr& r, Args a) {
  int64_t db;
  if (!parse_int(a[1], &db)) return reply_error(*r, "ERR value is not an integer or out of range");
  if (db < 0 || db >= static_cast<int64_t>(ctx.options.databases)) return reply_error(*r, "ERR DB index is out of range");
  r->client().db = static_cast<unsigned>(db);
  r->w().simple("OK");
  r->done();
}

}  // namespace

std::vector<size_t> keys_after_streams(Args a) {
  std::vector<size_t> out;
  for (size_t i = 1; i < a.size(); ++i) {
    if (!iequals(a[i], "streams")) continue;
    size_t n = (a.size() - i - 1) / 2;
    for (size_t k = 0; k < n; ++k) out.push_back(i + 1 + k);
    break;
  }
  return out;
}

std::vector<size_t> key_positions(const Command& c, Args a) {
  if (c.keys_of) return c.keys_of(a);
  std::vector<size_t> out;
  if (c.first_key <= 0) return out;
  int64_t last = c.last_key < 0 ? static_cast<int64_t>(a.size()) + c.last_key : c.last_key;
  for (int64_t i = c.first_key; i <= last && i < static_cast<int64_t>(a.size()); i += std::max(1, c.key_step)) {
    out.push_back(static_cast<size_t>(i));
  }
  return out;
}

namespace {

void cmd_command(Context& ctx, const ReplyPtr& r, Args a) {
  auto& w = r->w();
  const CommandTable& table = ctx.commands;
  // A subcommand (slot) is described as its parent, named "parent|sub",
  // with the arity of a call that names it.
  std::function<void(const Command&, size_t)> describe = [&](const Command& c, size_t slot) {
    bool sub = slot >= table.all().size();
    w.array(10);
    w.bulk(table.slot_name(slot));
    w.integer(sub ? -2 : c.arity);
    std::vector<const char*> flags;
    if (c.flags & kWrite) flags.push_back("write");
    if (c.flags & kReadOnly) flags.push_back("readonly");
    if (c.flags & kNoAuth) flags.push_back("no_auth");
    if (c.flags & kBlocking) flags.push_back("blocking");
    if (c.keys_of) flags.push_back("movablekeys");
    w.set(flags.size());
    for (const char* f : flags) w.simple(f);
    w.integer(c.first_key);
    w.integer(c.last_key);
    w.integer(c.key_step);
    w.set(0);  // ACL categories
    w.array(0);  // tips
    w.array(0);  // key specs
    auto subs = sub ? std::vector<size_t>() : table.subcommand_slots(c);
    w.array(subs.size());
    for (size_t s : subs) describe(c, s);
  };
  auto slot_of_command = [&](const Command& c) { return static_cast<size_t>(&c - table.all().data()); };
  // "name" or "parent|sub" to a slot (or none).
  auto find_slot = [&](std::string_view name) -> std::optional<size_t> {
    std::string n = lower(name);
    for (size_t i = 0; i < table.slot_count(); ++i) {
      if (table.slot_name(i) == n) return i;
    }
    return std::nullopt;
  };
  std::string sub = a.size() > 1 ? lower(a[1]) : "";
  const auto& all = ctx.commands.all();
  if (sub.empty()) {
    w.array(all.size());
    for (auto& c : all) describe(c, slot_of_command(c));
  } else if (sub == "count") {
    w.integer(static_cast<int64_t>(all.size()));
  } else if (sub == "info" && a.size() == 2) {
    w.array(all.size());
    for (auto& c : all) describe(c, slot_of_command(c));
  } else if (sub == "info") {
    w.array(a.size() - 2);
    for (size_t i = 2; i < a.size(); ++i) {
      if (auto slot = find_slot(a[i])) describe(table.parent_of(*slot), *slot);
      else w.null_array();
    }
  } else if (sub == "docs") {
    // redis-cli asks for docs to offer hints; an empty map is a valid answer
    // for each command it names.
    std::vector<const Command*> found;
    if (a.size() == 2) {
      for (auto& c : all) found.push_back(&c);
    } else {
      for (size_t i = 2; i < a.size(); ++i) {
        if (const Command* c = ctx.commands.find(a[i])) found.push_back(c);
      }
    }
    w.map(found.size());
    for (auto* c : found) {
      w.bulk(lower(c->name));
      w.map(2);
      w.bulk("summary");
      w.bulk(std::string(c->name) + " (redcar)");
      w.bulk("group");
      w.bulk(c->name[0] == 'X' || c->name[0] == 'x' ? "stream" : "generic");
    }
  } else if (sub == "getkeys" && a.size() >= 3) {
    Args call = a.subspan(2);
    const Command* c = ctx.commands.find(call[0]);
    if (!c) return reply_error(*r, "ERR Invalid command specified");
    if ((c->arity > 0 && static_cast<int>(call.size()) != c->arity) ||
        (c->arity < 0 && static_cast<int>(call.size()) < -c->arity)) {
      return reply_error(*r, "ERR Invalid number of arguments specified for command");
    }
    auto keys = key_positions(*c, call);
    if (keys.empty()) return reply_error(*r, "ERR The command has no key arguments");
    w.array(keys.size());
    for (size_t i : keys) w.bulk(call[i]);
  } else if (sub == "list") {
    std::string pattern;
    if (a.size() == 5 && iequals(a[2], "filterby") && iequals(a[3], "pattern")) {
      pattern = std::string(a[4]);
    } else if (a.size() == 5 && iequals(a[2], "filterby") && (iequals(a[3], "module") || iequals(a[3], "aclcat"))) {
      pattern = "\x01";  // no modules, and ACL categories are not kept yet: nothing matches
    } else if (a.size() != 2) {
      return reply_syntax_error(*r);
    }
    std::vector<std::string> names;
    for (size_t i = 0; i < table.slot_count(); ++i) {
      const std::string& n = table.slot_name(i);
      if (pattern.empty() || glob_match(pattern, n, true)) names.push_back(n);
    }
    w.array(names.size());
    for (auto& n : names) w.bulk(n);
  } else if (sub == "help" && a.size() == 2) {
    static const char* kHelp[] = {
        "COMMAND [<subcommand> [<arg> ...]]:",
        "(no subcommand) -- every command's name, arity, flags and key positions",
        "COUNT -- how many commands there are",
        "INFO <command> ... | DOCS [<command> ...] -- the named commands' descriptions",
        "GETKEYS <command> <arg> ... -- the keys a call would use",
        "LIST [FILTERBY PATTERN <pattern>] -- the commands' names",
        "HELP -- this text",
    };
    return reply_help(*r, kHelp);
  } else {
    return reply_unknown_subcommand(ctx, *r, a);
  }
  r->done();
}

// CONFIG GET pattern [pattern ...] | SET name value [name value ...] |
// RESETSTAT | REWRITE | HELP (config.h says which settings there are).
void cmd_config(Context& ctx, const ReplyPtr& r, Args a) {
  std::string sub = lower(a[1]);
  Config& config = ctx.state.config;
  if (sub == "get" && a.size() >= 3) {
    auto hits = config.matching(std::vector<std::string>(a.begin() + 2, a.end()));
    r->w().map(hits.size());
    for (const auto* s : hits) {
      r->w().bulk(s->name);
      r->w().bulk(s->get());
    }
    return r->done();
  }
  if (sub == "set" && a.size() >= 4 && a.size() % 2 == 0) {
    // Every name is checked before any value is set: one bad pair sets none.
    std::vector<std::pair<const Config::Setting*, std::string_view>> pairs;
    for (size_t i = 2; i + 1 < a.size(); i += 2) {
      const Config::Setting* s = config.find(a[i]);
      if (!s) return reply_error(*r, "ERR Unknown option or number of arguments for CONFIG SET - '" + std::string(a[i]) + "'");
      for (auto& [seen, v] : pairs) {
        if (seen == s) return reply_error(*r, "ERR CONFIG SET failed (possibly related to argument '" + s->name + "') - duplicate parameter");
      }
      if (!s->set) return reply_error(*r, "ERR CONFIG SET failed (possibly related to argument '" + s->name + "') - can't set immutable config");
      pairs.emplace_back(s, a[i + 1]);
    }
    // A value refused part way puts back the ones set before it.
    std::vector<std::pair<const Config::Setting*, std::string>> before;
    for (auto& [s, v] : pairs) {
      std::string old = s->get();
      if (std::string err = s->set(v); !err.empty()) {
        for (auto it = before.rbegin(); it != before.rend(); ++it) it->first->set(it->second);
        return reply_error(*r, "ERR CONFIG SET failed (possibly related to argument '" + s->name + "') - " + err);
      }
      before.emplace_back(s, std::move(old));
    }
    r->w().simple("OK");
    return r->done();
  }
  if (sub == "resetstat" && a.size() == 2) {
    ctx.state.command_stats.reset();
    r->w().simple("OK");
    return r->done();
  }
  if (sub == "rewrite" && a.size() == 2) {
    return reply_error(*r, "ERR The server is running without a config file that CONFIG REWRITE may change: "
                           "redcar's settings come from its command line or --config, which it never rewrites");
  }
  if (sub == "help" && a.size() == 2) {
    static const char* kHelp[] = {
        "CONFIG <subcommand> [<arg> ...]:",
        "GET <pattern> ... -- the settings whose names match, with their values",
        "SET <name> <value> ... -- change settings redcar honours at run time (all or none)",
        "RESETSTAT -- INFO's command, error and traffic counters start again from zero",
        "HELP -- this text",
    };
    return reply_help(*r, kHelp);
  }
  reply_unknown_subcommand(ctx, *r, a);
}

int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Longer than any wait a client means: the reactor's clock counts
// nanoseconds in 64 bits, so a wait is capped well inside it.
constexpr int64_t kLongestWaitMs = int64_t{1} << 40;  // about 35 years

// Answers `r` after `ms` on its client's loop, with `write`. A client that
// leaves first takes the wait (and its reply) with it, so a long wait of a
// gone client holds nothing — except inside EXEC.
template <typename Write>
void answer_after(const ReplyPtr& r, int64_t ms, Write write) {
  auto wait = std::make_shared<BlockedRead>(r);
  // Inside EXEC the answer is owed whatever happens to the client: the
  // transaction holds its shards until every command of it has answered.
  if (!r->client().in_exec) wait->end_when_client_leaves();
  std::weak_ptr<BlockedRead> weak = wait;
  wait->time_out_after(std::clamp<int64_t>(ms, 1, kLongestWaitMs), [weak, write = std::move(write)]() mutable {
    auto w = weak.lock();
    if (!w || !w->settle()) return;
    write(*w->reply());
    w->reply()->done();
  });
}

void cmd_time(Context&, const ReplyPtr& r, Args) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  r->w().array(2);
  r->w().bulk(std::to_string(us / 1000000));
  r->w().bulk(std::to_string(us % 1000000));
  r->done();
}

void cmd_lastsave(Context& ctx, const ReplyPtr& r, Args) {
  r->w().integer(ctx.state.last_save.load());
  r->done();
}

// SAVE: everything acknowledged is already in the log, durable under
// --fsync always; under interval it is once the next sync has run (two
// intervals from now at the latest); under never nothing is synced before a
// clean stop, and SAVE says so rather than pretend.
void cmd_save(Context& ctx, const ReplyPtr& r, Args a) {
  bool background = iequals(a[0], "bgsave");
  if (a.size() > 2 || (a.size() == 2 && !(background && iequals(a[1], "schedule")))) return reply_syntax_error(*r);
  ServerState& st = ctx.state;
  if (st.fsync == FsyncMode::kNever) {
    return reply_error(*r, "ERR redcar runs with --fsync never: the log is synced only at a clean stop");
  }
  auto answer = [&st, background](Reply& rr) {
    st.last_save = unix_seconds();
    rr.w().simple(background ? "Background saving started" : "OK");
  };
  if (st.fsync == FsyncMode::kAlways || background) {
    answer(*r);
    return r->done();
  }
  answer_after(r, 2 * ctx.engine.options().fsync_interval_ms, answer);
}

void cmd_bgrewriteaof(Context&, const ReplyPtr& r, Args) {
  // The log is compacted by retention and restating, not rewritten on
  // request.
  r->w().simple("Background append only file rewriting started");
  r->done();
}

// WAIT numreplicas timeout: there are no replicas, so it answers 0 — at
// once when none is asked for, else when the timeout ends (never for 0),
// as Redis does when its replicas do not answer.
void cmd_wait(Context&, const ReplyPtr& r, Args a) {
  int64_t replicas, timeout;
  if (!parse_int(a[1], &replicas)) return reply_error(*r, "ERR value is not an integer or out of range");
  if (!parse_int(a[2], &timeout)) return reply_error(*r, "ERR timeout is not an integer or out of range");
  if (timeout < 0) return reply_error(*r, "ERR timeout is negative");
  if (replicas <= 0 || r->client().in_exec) {
    // Inside EXEC it does not wait, as Redis's does not.
    r->w().integer(0);
    return r->done();
  }
  if (timeout == 0) {
    // Never answered: the reply goes with the client.
    return;
  }
  answer_after(r, timeout, [](Reply& rr) { rr.w().integer(0); });
}

// DEBUG OBJECT names a key; its other subcommands none.
std::vector<size_t> debug_keys(Args a) {
  if (a.size() == 3 && iequals(a[1], "object")) return {2};
  return {};
}

// DEBUG SLEEP seconds | OBJECT key | HELP. SLEEP delays this client's
// answer (Redis stops its whole server; redcar's other clients go on).
void cmd_debug(Context& ctx, const ReplyPtr& r, Args a) {
  std::string sub = lower(a[1]);
  if (sub == "sleep" && a.size() == 3) {
    char* end = nullptr;
    std::string text(a[2]);
    double secs = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || !(secs >= 0)) {
      return reply_error(*r, "ERR value is not a valid float");
    }
    int64_t ms = secs * 1000 >= static_cast<double>(kLongestWaitMs) ? kLongestWaitMs : static_cast<int64_t>(secs * 1000);
    return answer_after(r, ms, [](Reply& rr) { rr.w().simple("OK"); });
  }
  if (sub == "object" && a.size() == 3) {
    return key_facts(ctx, r, std::string(a[2]), [r](KeyFacts& f) {
      if (!f.string && !f.hash && !f.stream) return reply_error(*r, "ERR no such key");
      const char* enc = f.string ? string_encoding(*f.string) : f.hash ? hash_encoding(*f.hash) : "stream";
      size_t length = f.string ? f.string->size() : f.hash ? f.hash->size() : f.stream->length;
      r->w().simple(std::string("Value at:0x0 refcount:1 encoding:") + enc + " serializedlength:" +
                    std::to_string(length) + " lru:0 lru_seconds_idle:0");
      r->done();
    });
  }
  if (sub == "help" && a.size() == 2) {
    static const char* kHelp[] = {
        "DEBUG <subcommand> [<arg> ...]:",
        "SLEEP <seconds> -- answer this connection after the time given (other connections go on)",
        "OBJECT <key> -- how the key is held",
        "HELP -- this text",
    };
    return reply_help(*r, kHelp);
  }
  reply_unknown_subcommand(ctx, *r, a);
}

// RESET: the connection as new — no subscriptions, RESP2, no name, replies
// on, and (with a password) not authenticated.
// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] | ABORT: stops the server as SIGTERM
// does. Nothing is saved or lost either way: the log is durable already.
// As in Redis, the client gets no answer; its connection closes.
void cmd_shutdown(Context& ctx, const ReplyPtr& r, Args a) {
  for (size_t i = 1; i < a.size(); ++i) {
    if (iequals(a[i], "abort") && a.size() == 2) return reply_error(*r, "ERR No shutdown in progress.");
    if (!iequals(a[i], "nosave") && !iequals(a[i], "save") && !iequals(a[i], "now") && !iequals(a[i], "force")) {
      return reply_syntax_error(*r);
    }
  }
  if (!ctx.state.shutdown) return reply_error(*r, "ERR Errors trying to SHUTDOWN. Check logs.");
  r->set_silent(true);
  r->done();
  r->client().kill_after_reply();
  ctx.state.shutdown();
}

void cmd_reset(Context& ctx, const ReplyPtr& r, Args) {
  Client& c = r->client();
  for (auto& ch : c.channels) ctx.pubsub.unsubscribe(c, ch, PubSub::Kind::kChannel);
  for (auto& p : c.patterns) ctx.pubsub.unsubscribe(c, p, PubSub::Kind::kPattern);
  for (auto& ch : c.shard_channels) ctx.pubsub.unsubscribe(c, ch, PubSub::Kind::kShard);
  c.channels.clear();
  c.patterns.clear();
  c.shard_channels.clear();
  c.protocol = 2;
  c.db = 0;
  c.name.clear();
  c.reply_mode = Client::ReplyMode::kOn;
  c.no_evict = false;
  c.no_touch = false;
  c.discard_transaction();
  c.user = "default";
  c.acl_version = 0;
  c.authenticated = ctx.state.acl.default_is_open();
  r->set_silent(false);
  r->w().set_protocol(2);
  r->w().simple("RESET");
  r->done();
}

// QUIT: a Session answers it and closes the connection itself, before any
// check (as Redis 7.0 does); the entry is here for COMMAND and for the
// in-process client, which has no connection to close.
void cmd_quit(Context&, const ReplyPtr& r, Args) {
  r->w().simple("OK");
  r->done();
}

}  // namespace

void add_server_commands(std::vector<Command>& out) {
  out.push_back({"PING", -1, kPubSubOk, cmd_ping});
  out.push_back({"ECHO", 2, 0, cmd_echo});
  out.push_back({"AUTH", -2, kNoAuth, cmd_auth});
  out.push_back({"HELLO", -1, kNoAuth, cmd_hello});
  out.push_back({"SELECT", 2, kChangesDatabases, cmd_select});
  out.push_back({"COMMAND", -1, 0, cmd_command, 0, 0, 0, "count docs getkeys help info list"});
  out.push_back({"CONFIG", -2, 0, cmd_config, 0, 0, 0, "get help resetstat rewrite set"});
  out.push_back({"TIME", 1, 0, cmd_time});
  out.push_back({"LASTSAVE", 1, 0, cmd_lastsave});
  out.push_back({"SAVE", 1, 0, cmd_save});
  out.push_back({"BGSAVE", -1, 0, cmd_save});
  out.push_back({"BGREWRITEAOF", 1, 0, cmd_bgrewriteaof});
  // WAIT blocks its connection as Redis does: what it sends after waits
  // for its answer, and the wait is not counted as the command's time.
  // DEBUG SLEEP stands for a slow command: its sleep is counted.
  out.push_back({"WAIT", 3, kPausedAsWrite | kAlwaysBlocks, cmd_wait});
  out.push_back({"DEBUG", -2, 0, cmd_debug, 0, 0, 0, {}, debug_keys});
  out.push_back({"RESET", 1, kNoAuth | kPubSubOk | kTxnControl, cmd_reset});
  out.push_back({"QUIT", -1, kNoAuth | kPubSubOk | kTxnControl, cmd_quit});
  out.push_back({"SHUTDOWN", -1, 0, cmd_shutdown});
}

}  // namespace redcar::resp
