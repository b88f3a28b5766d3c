// Connection and server commands: PING, ECHO, HELLO, AUTH, SELECT, CLIENT,
// INFO, COMMAND, CONFIG, DBSIZE, QUIT (handled by the session).
#include <spdlog/spdlog.h>

#include <chrono>

#include "frontends/resp/command_table.h"
#include "frontends/resp/context.h"

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

bool check_password(Context& ctx, std::string_view pass) {
  return !ctx.options.requirepass.empty() && pass == ctx.options.requirepass;
}

void cmd_auth(Context& ctx, const ReplyPtr& r, Args a) {
  if (a.size() > 3) return reply_syntax_error(*r);
  if (ctx.options.requirepass.empty()) {
    return reply_error(*r, "ERR AUTH <password> called without any password configured for the default user. "
                           "Are you sure your configuration is correct?");
  }
  std::string_view user = a.size() == 3 ? a[1] : "default";
  std::string_view pass = a.size() == 3 ? a[2] : a[1];
  if (user != "default" || !check_password(ctx, pass)) {
    return reply_error(*r, "WRONGPASS invalid username-password pair or user is disabled.");
  }
  r->client().authenticated = true;
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
      if (a[i + 1] != "default" || !check_password(ctx, a[i + 2])) {
        return reply_error(*r, "WRONGPASS invalid username-password pair or user is disabled.");
      }
      sess.authenticated = true;
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

void cmd_select(Context&, const ReplyPtr& r, Args a) {
  int64_t db;
  if (!parse_int(a[1], &db)) return reply_error(*r, "ERR value is not an integer or out of range");
  if (db != 0) return reply_error(*r, "ERR DB index is out of range");
  r->w().simple("OK");
  r->done();
}

void cmd_client(Context& ctx, const ReplyPtr& r, Args a) {
  Client& sess = r->client();
  std::string sub = lower(a[1]);
  if (sub == "setname" && a.size() == 3) {
    if (a[2].find(' ') != std::string_view::npos) {
      return reply_error(*r, "ERR Client names cannot contain spaces, newlines or special characters.");
    }
    sess.name = std::string(a[2]);
    r->w().simple("OK");
  } else if (sub == "getname" && a.size() == 2) {
    if (sess.name.empty()) r->w().null();
    else r->w().bulk(sess.name);
  } else if (sub == "id" && a.size() == 2) {
    r->w().integer(static_cast<int64_t>(sess.id));
  } else if (sub == "setinfo" && a.size() == 4) {
    r->w().simple("OK");
  } else if (sub == "info" && a.size() == 2) {
    r->w().bulk("id=" + std::to_string(sess.id) + " addr=" + sess.peer + " name=" + sess.name + " db=0 resp=" +
                std::to_string(sess.protocol) + "\n");
  } else {
    return reply_error(*r, "ERR unknown subcommand or wrong number of arguments for '" + std::string(a[1]) + "'. Try CLIENT HELP.");
  }
  (void)ctx;
  r->done();
}

void cmd_info(Context& ctx, const ReplyPtr& r, Args a) {
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::string want = a.size() > 1 ? lower(a[1]) : "default";
  auto show = [&](const char* section) { return want == "default" || want == "all" || want == "everything" || want == section; };
  std::string out;
  if (show("server")) {
    out += "# Server\r\nredis_version:7.0.0\r\nredcar_version:0.1.0\r\nredis_mode:standalone\r\nos:Linux\r\n";
    out += "process_id:" + std::to_string(::getpid()) + "\r\n";
    out += "tcp_port:" + std::to_string(ctx.stats.port) + "\r\n";
    out += "uptime_in_seconds:" + std::to_string((now - ctx.stats.started_ms) / 1000) + "\r\n";
    out += "shards:" + std::to_string(ctx.engine.shard_count()) + "\r\n\r\n";
  }
  if (show("clients")) {
    out += "# Clients\r\nconnected_clients:" + std::to_string(ctx.stats.connected_clients.load()) + "\r\n";
    out += "maxclients:" + std::to_string(ctx.options.max_clients) + "\r\n\r\n";
  }
  if (show("persistence")) {
    out += "# Persistence\r\nloading:0\r\naof_enabled:1\r\nrdb_bgsave_in_progress:0\r\n";
    uint64_t segments = 0, records = 0;
    double secs = 0;
    for (unsigned i = 0; i < ctx.engine.shard_count(); ++i) {
      const auto& rep = ctx.engine.recovery_report(i);
      segments += rep.segments;
      records += rep.records;
      secs = std::max(secs, rep.seconds);
    }
    out += "recovered_segments:" + std::to_string(segments) + "\r\nrecovered_records:" + std::to_string(records) +
           "\r\nrecovery_seconds:" + std::to_string(secs) + "\r\n\r\n";
  }
  if (show("stats")) {
    out += "# Stats\r\ntotal_connections_received:" + std::to_string(ctx.stats.connections_received.load()) + "\r\n";
    out += "total_commands_processed:" + std::to_string(ctx.stats.commands_processed.load()) + "\r\n";
    out += "rejected_connections:" + std::to_string(ctx.stats.rejected_connections.load()) + "\r\n";
    out += "pubsub_channels:" + std::to_string(ctx.pubsub.channel_count()) + "\r\n\r\n";
  }
  if (show("keyspace")) out += "# Keyspace\r\n";
  if (r->protocol() == 3) r->w().verbatim("txt", out);
  else r->w().bulk(out);
  r->done();
}

void cmd_command(Context& ctx, const ReplyPtr& r, Args a) {
  auto& w = r->w();
  auto describe = [&](const Command& c) {
    w.array(10);
    w.bulk(lower(c.name));
    w.integer(c.arity);
    size_t nflags = ((c.flags & kWrite) ? 1 : 0) + ((c.flags & kReadOnly) ? 1 : 0);
    w.set(nflags);
    if (c.flags & kWrite) w.simple("write");
    if (c.flags & kReadOnly) w.simple("readonly");
    w.integer(c.first_key);
    w.integer(c.last_key);
    w.integer(c.key_step);
    w.set(0);  // ACL categories
    w.array(0);  // tips
    w.array(0);  // key specs
    w.array(0);  // subcommands
  };
  std::string sub = a.size() > 1 ? lower(a[1]) : "";
  const auto& all = ctx.commands.all();
  if (sub.empty()) {
    w.array(all.size());
    for (auto& c : all) describe(c);
  } else if (sub == "count") {
    w.integer(static_cast<int64_t>(all.size()));
  } else if (sub == "info") {
    w.array(a.size() - 2);
    for (size_t i = 2; i < a.size(); ++i) {
      const Command* c = ctx.commands.find(a[i]);
      if (c) describe(*c);
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
  } else {
    return reply_error(*r, "ERR unknown subcommand '" + std::string(a[1]) + "'. Try COMMAND HELP.");
  }
  r->done();
}

void cmd_config(Context& ctx, const ReplyPtr& r, Args a) {
  std::string sub = lower(a[1]);
  if (sub == "get" && a.size() >= 3) {
    std::vector<std::pair<std::string, std::string>> vals = {
        {"appendonly", "yes"},
        {"appendfsync", "always"},
        {"save", ""},
        {"databases", "1"},
        {"maxclients", std::to_string(ctx.options.max_clients)},
        {"proto-max-bulk-len", std::to_string(ctx.options.parse.max_bulk_bytes)},
        {"requirepass", ""},
    };
    std::vector<std::pair<std::string, std::string>> hits;
    for (size_t i = 2; i < a.size(); ++i) {
      for (auto& kv : vals) {
        if (glob_match(lower(a[i]), kv.first) &&
            std::none_of(hits.begin(), hits.end(), [&](auto& h) { return h.first == kv.first; })) {
          hits.push_back(kv);
        }
      }
    }
    r->w().map(hits.size());
    for (auto& [k, v] : hits) {
      r->w().bulk(k);
      r->w().bulk(v);
    }
  } else if (sub == "set" || sub == "resetstat" || sub == "rewrite") {
    r->w().simple("OK");
  } else {
    return reply_error(*r, "ERR unknown subcommand '" + std::string(a[1]) + "'. Try CONFIG HELP.");
  }
  r->done();
}

}  // namespace

void add_server_commands(std::vector<Command>& out) {
  out.push_back({"PING", -1, kNoAuth | kPubSubOk, cmd_ping});
  out.push_back({"ECHO", 2, 0, cmd_echo});
  out.push_back({"AUTH", -2, kNoAuth, cmd_auth});
  out.push_back({"HELLO", -1, kNoAuth, cmd_hello});
  out.push_back({"SELECT", 2, 0, cmd_select});
  out.push_back({"CLIENT", -2, 0, cmd_client});
  out.push_back({"INFO", -1, 0, cmd_info});
  out.push_back({"COMMAND", -1, 0, cmd_command});
  out.push_back({"CONFIG", -2, 0, cmd_config});
}

}  // namespace redcar::resp
