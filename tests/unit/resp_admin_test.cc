// The connection and server commands in process (resp_harness.h): CLIENT,
// CONFIG, INFO, SLOWLOG, LATENCY, PUBSUB and the shard channels, RESET,
// COMMAND GETKEYS/LIST, TIME, SAVE, WAIT, DEBUG — each reply and each error
// as Redis 7.0 words it — and the counters behind INFO. CLIENT PAUSE holds
// commands back in the socket session, so it is tested with real clients
// (tests/integration/test_resp_admin.py).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "frontends/resp/command_stats.h"
#include "tests/unit/resp_harness.h"

namespace redcar::test {
namespace {

// INFO's text as field -> value.
std::map<std::string, std::string> info_fields(const RespValue& v) {
  std::map<std::string, std::string> out;
  std::string_view text = v.str();
  while (!text.empty()) {
    size_t eol = text.find("\r\n");
    std::string_view line = text.substr(0, eol);
    size_t colon = line.find(':');
    if (!line.empty() && line[0] != '#' && colon != std::string_view::npos) {
      out[std::string(line.substr(0, colon))] = std::string(line.substr(colon + 1));
    }
    if (eol == std::string_view::npos) break;
    text.remove_prefix(eol + 2);
  }
  return out;
}

std::vector<std::string> info_sections(const RespValue& v) {
  std::vector<std::string> out;
  std::string_view text = v.str();
  size_t pos = 0;
  while ((pos = text.find("# ", pos)) != std::string_view::npos) {
    size_t eol = text.find("\r\n", pos);
    out.emplace_back(text.substr(pos + 2, eol - pos - 2));
    pos = eol;
  }
  return out;
}

// One "key=value" of a CLIENT LIST line.
std::string client_field(const std::string& line, const std::string& key) {
  size_t at = line.find(" " + key + "=");
  if (line.rfind(key + "=", 0) == 0) {
    at = 0;
  } else if (at == std::string::npos) {
    return "<missing>";
  } else {
    at += 1;
  }
  size_t start = at + key.size() + 1;
  size_t end = line.find_first_of(" \n", start);
  return line.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0, nl;
  while ((nl = text.find('\n', pos)) != std::string::npos) {
    out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

TEST(RespAdmin, ClientNamesItselfAndDescribesItself) {
  RespHarness h;
  auto c = h.client();
  EXPECT_EQ(h.run(c, {"CLIENT", "ID"}).integer(), static_cast<int64_t>(c->id));
  EXPECT_TRUE(h.run(c, {"CLIENT", "GETNAME"}).is_null());
  EXPECT_EQ(h.run(c, {"CLIENT", "SETNAME", "worker-1"}).str(), "OK");
  EXPECT_EQ(h.run(c, {"CLIENT", "GETNAME"}).str(), "worker-1");
  EXPECT_EQ(h.run(c, {"CLIENT", "SETNAME", "two words"}).str(),
            "ERR Client names cannot contain spaces, newlines or special characters.");
  EXPECT_EQ(h.run(c, {"CLIENT", "SETINFO", "LIB-NAME", "redis-py"}).str(), "OK");
  EXPECT_EQ(h.run(c, {"CLIENT", "SETINFO", "lib-ver", "4.3.4"}).str(), "OK");
  EXPECT_TRUE(h.run(c, {"CLIENT", "SETINFO", "colour", "red"}).is_error());
  std::string line = h.run(c, {"CLIENT", "INFO"}).str();
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(client_field(line, "id"), std::to_string(c->id));
  EXPECT_EQ(client_field(line, "name"), "worker-1");
  EXPECT_EQ(client_field(line, "addr"), c->peer);
  EXPECT_EQ(client_field(line, "laddr"), c->local);
  EXPECT_EQ(client_field(line, "cmd"), "client|info");
  EXPECT_EQ(client_field(line, "lib-name"), "redis-py");
  EXPECT_EQ(client_field(line, "lib-ver"), "4.3.4");
  EXPECT_EQ(client_field(line, "flags"), "N");
  EXPECT_EQ(client_field(line, "db"), "0");
  EXPECT_EQ(client_field(line, "resp"), "2");
  EXPECT_EQ(h.run(c, {"CLIENT", "NO-EVICT", "on"}).str(), "OK");
  EXPECT_EQ(h.run(c, {"CLIENT", "NO-TOUCH", "ON"}).str(), "OK");
  EXPECT_EQ(client_field(h.run(c, {"CLIENT", "INFO"}).str(), "flags"), "eT");
  EXPECT_EQ(h.run(c, {"CLIENT", "NO-EVICT", "maybe"}).str(), "ERR syntax error");
  EXPECT_EQ(h.run(c, {"CLIENT", "TRACKING", "off"}).str(), "OK");
  EXPECT_TRUE(h.run(c, {"CLIENT", "TRACKING", "on"}).is_error());
  EXPECT_EQ(h.run(c, {"CLIENT", "GETREDIR"}).integer(), -1);
  EXPECT_EQ(h.run(c, {"CLIENT", "PAUSE", "-1"}).str(), "ERR timeout is negative");
  EXPECT_EQ(h.run(c, {"CLIENT", "PAUSE", "9223372036854775807"}).str(), "ERR timeout is out of range");
  EXPECT_EQ(h.run(c, {"CLIENT", "NOSUCH"}).str(),
            "ERR unknown subcommand 'NOSUCH'. Try CLIENT HELP.");
  // A known subcommand with the wrong arguments is told so, and rejected.
  EXPECT_EQ(h.run(c, {"CLIENT", "ID", "extra"}).str(), "ERR wrong number of arguments for 'client|id' command");
  EXPECT_GT(h.run(c, {"CLIENT", "HELP"}).size(), 5u);
}

TEST(RespAdmin, ClientListShowsEveryClientAndFilters) {
  RespHarness h;
  auto a = h.client();
  auto b = h.client();
  auto sub = h.client();
  h.run(a, {"CLIENT", "SETNAME", "alpha"});
  h.run(b, {"CLIENT", "SETNAME", "beta"});
  h.run(sub, {"SUBSCRIBE", "news", "weather"});
  auto all = lines_of(h.run(a, {"CLIENT", "LIST"}).str());
  ASSERT_EQ(all.size(), 3u);
  // In id order, each on its own line.
  EXPECT_EQ(client_field(all[0], "name"), "alpha");
  EXPECT_EQ(client_field(all[1], "name"), "beta");
  EXPECT_EQ(client_field(all[2], "flags"), "P");
  EXPECT_EQ(client_field(all[2], "sub"), "2");
  EXPECT_EQ(client_field(all[2], "cmd"), "subscribe");
  auto pubsub = lines_of(h.run(a, {"CLIENT", "LIST", "TYPE", "pubsub"}).str());
  ASSERT_EQ(pubsub.size(), 1u);
  EXPECT_EQ(client_field(pubsub[0], "id"), std::to_string(sub->id));
  EXPECT_EQ(lines_of(h.run(a, {"CLIENT", "LIST", "TYPE", "normal"}).str()).size(), 2u);
  EXPECT_TRUE(lines_of(h.run(a, {"CLIENT", "LIST", "TYPE", "replica"}).str()).empty());
  auto by_id = lines_of(h.run(a, {"CLIENT", "LIST", "ID", std::to_string(b->id), "999"}).str());
  ASSERT_EQ(by_id.size(), 1u);
  EXPECT_EQ(client_field(by_id[0], "name"), "beta");
  EXPECT_EQ(h.run(a, {"CLIENT", "LIST", "TYPE", "robots"}).str(), "ERR Unknown client type 'robots'");
  EXPECT_EQ(h.run(a, {"CLIENT", "LIST", "ID", "x"}).str(), "ERR Invalid client ID");
}

TEST(RespAdmin, ClientKillClosesTheClientsItSelects) {
  RespHarness h;
  auto a = h.client();
  auto b = h.client();
  auto c = h.client();
  EXPECT_EQ(h.run(a, {"CLIENT", "KILL", "ID", std::to_string(b->id)}).integer(), 1);
  EXPECT_TRUE(b->closed());
  EXPECT_FALSE(c->closed());
  // The old form names an address and answers OK, or that there is none.
  EXPECT_EQ(h.run(a, {"CLIENT", "KILL", c->peer}).str(), "OK");
  EXPECT_TRUE(c->closed());
  EXPECT_EQ(h.run(a, {"CLIENT", "KILL", "10.9.9.9:1"}).str(), "ERR No such client");
  // The new form skips its caller unless told not to.
  EXPECT_EQ(h.run(a, {"CLIENT", "KILL", "ADDR", a->peer}).integer(), 0);
  EXPECT_FALSE(a->closed());
  EXPECT_EQ(h.run(a, {"CLIENT", "KILL", "ID", "0"}).str(), "ERR client-id should be greater than 0");
  EXPECT_EQ(h.run(a, {"CLIENT", "KILL", "TYPE", "robots"}).str(), "ERR Unknown client type 'robots'");
  // Three arguments are the old form, whatever the third says.
  EXPECT_EQ(h.run(a, {"CLIENT", "KILL", "ID"}).str(), "ERR No such client");
  EXPECT_EQ(h.run(a, {"CLIENT", "KILL", "ID", "1", "ADDR"}).str(), "ERR syntax error");
  // A client that kills itself hears the count first.
  EXPECT_EQ(h.run(a, {"CLIENT", "KILL", "ADDR", a->peer, "SKIPME", "no"}).integer(), 1);
  EXPECT_TRUE(a->closed());
}

TEST(RespAdmin, ClientReplyOffSkipAndOn) {
  RespHarness h;
  auto c = h.client();
  // SKIP answers nothing, nor does the next command; the one after answers.
  EXPECT_EQ(h.raw(c, {"CLIENT", "REPLY", "SKIP"}), "");
  EXPECT_EQ(h.raw(c, {"PING"}), "");
  EXPECT_EQ(h.raw(c, {"PING"}), "+PONG\r\n");
  EXPECT_EQ(h.raw(c, {"CLIENT", "REPLY", "OFF"}), "");
  EXPECT_EQ(h.raw(c, {"SET", "k", "v"}), "");
  EXPECT_EQ(h.raw(c, {"GET", "k"}), "");
  EXPECT_EQ(h.raw(c, {"CLIENT", "REPLY", "ON"}), "+OK\r\n");
  // What ran silently ran.
  EXPECT_EQ(h.raw(c, {"GET", "k"}), "$1\r\nv\r\n");
  EXPECT_EQ(h.raw(c, {"CLIENT", "REPLY", "LOUD"}), "-ERR syntax error\r\n");
  // SKIP while OFF leaves the replies off.
  EXPECT_EQ(h.raw(c, {"CLIENT", "REPLY", "OFF"}), "");
  EXPECT_EQ(h.raw(c, {"CLIENT", "REPLY", "SKIP"}), "");
  EXPECT_EQ(h.raw(c, {"PING"}), "");
  EXPECT_EQ(h.raw(c, {"PING"}), "");
  EXPECT_EQ(h.raw(c, {"CLIENT", "REPLY", "ON"}), "+OK\r\n");
}

TEST(RespAdmin, ConfigGetAndSetWhatExistsAndRefuseTheRest) {
  RespHarness h;
  auto slow = h.run({"CONFIG", "GET", "slowlog*"});
  ASSERT_EQ(slow.size(), 4u);
  EXPECT_EQ(slow[0].str(), "slowlog-log-slower-than");
  EXPECT_EQ(slow[1].str(), "10000");
  EXPECT_EQ(slow[2].str(), "slowlog-max-len");
  EXPECT_EQ(slow[3].str(), "128");
  auto fixed = h.run({"CONFIG", "GET", "appendonly", "maxmemory-policy", "nosuch"});
  ASSERT_EQ(fixed.size(), 4u);
  EXPECT_EQ(fixed[1].str(), "yes");
  EXPECT_EQ(fixed[3].str(), "noeviction");
  EXPECT_EQ(h.run({"CONFIG", "GET", "nosuch"}).size(), 0u);

  EXPECT_EQ(h.run({"CONFIG", "SET", "slowlog-max-len", "5", "latency-monitor-threshold", "7"}).str(), "OK");
  EXPECT_EQ(h.run({"CONFIG", "GET", "slowlog-max-len"})[1].str(), "5");
  EXPECT_EQ(h.state().latency.threshold_ms.load(), 7);
  EXPECT_EQ(h.run({"CONFIG", "SET", "stream-node-max-bytes", "8192"}).str(), "OK");
  EXPECT_EQ(h.run({"CONFIG", "GET", "stream-node-max-bytes"})[1].str(), "8192");
  EXPECT_EQ(h.run({"CONFIG", "SET", "maxclients", "77"}).str(), "OK");
  EXPECT_EQ(h.state().max_clients.load(), 77);

  EXPECT_EQ(h.run({"CONFIG", "SET", "nosuch", "1"}).str(),
            "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'");
  EXPECT_EQ(h.run({"CONFIG", "SET", "appendonly", "no"}).str(),
            "ERR CONFIG SET failed (possibly related to argument 'appendonly') - can't set immutable config");
  EXPECT_EQ(h.run({"CONFIG", "SET", "slowlog-max-len", "many"}).str(),
            "ERR CONFIG SET failed (possibly related to argument 'slowlog-max-len') - argument couldn't be parsed "
            "into an integer");
  EXPECT_EQ(h.run({"CONFIG", "SET", "slowlog-log-slower-than", "-2"}).str(),
            "ERR CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') - argument must be "
            "between -1 and 9223372036854775807 inclusive");
  EXPECT_EQ(h.run({"CONFIG", "SET", "slowlog-max-len", "1", "slowlog-max-len", "2"}).str(),
            "ERR CONFIG SET failed (possibly related to argument 'slowlog-max-len') - duplicate parameter");
  // A pair that cannot be set sets none of the others.
  EXPECT_TRUE(h.run({"CONFIG", "SET", "slowlog-max-len", "9", "appendfsync", "no"}).is_error());
  EXPECT_EQ(h.run({"CONFIG", "GET", "slowlog-max-len"})[1].str(), "5");
  // So does a value refused after another was set: that one is put back.
  EXPECT_TRUE(h.run({"CONFIG", "SET", "slowlog-max-len", "9", "slowlog-log-slower-than", "x"}).is_error());
  EXPECT_EQ(h.run({"CONFIG", "GET", "slowlog-max-len"})[1].str(), "5");
  EXPECT_TRUE(h.run({"CONFIG", "SET", "slowlog-max-len"}).is_error());
  EXPECT_TRUE(h.run({"CONFIG", "REWRITE"}).is_error());
  EXPECT_EQ(h.run({"CONFIG", "SET", "latency-tracking-info-percentiles", "50 99.9"}).str(), "OK");
  EXPECT_EQ(h.run({"CONFIG", "GET", "latency-tracking-info-percentiles"})[1].str(), "50 99.9");
  EXPECT_TRUE(h.run({"CONFIG", "SET", "latency-tracking-info-percentiles", "50 101"}).is_error());
}

TEST(RespAdmin, InfoHasEverySectionAndCountsWhatRan) {
  RespHarness h;
  auto c = h.client();
  auto sections = info_sections(h.run(c, {"INFO"}));
  EXPECT_EQ(sections, (std::vector<std::string>{"Server", "Clients", "Memory", "Persistence", "Stats", "Replication",
                                                "CPU", "Modules", "Errorstats", "Cluster", "Keyspace"}));
  auto all = info_sections(h.run(c, {"INFO", "all"}));
  EXPECT_NE(std::find(all.begin(), all.end(), "Commandstats"), all.end());
  EXPECT_NE(std::find(all.begin(), all.end(), "Latencystats"), all.end());
  EXPECT_EQ(info_sections(h.run(c, {"INFO", "server", "CLIENTS"})), (std::vector<std::string>{"Server", "Clients"}));
  EXPECT_TRUE(h.run(c, {"INFO", "nosuch"}).str().empty());

  auto server = info_fields(h.run(c, {"INFO", "server"}));
  EXPECT_EQ(server["arch_bits"], "64");
  EXPECT_EQ(server["redis_mode"], "standalone");
  EXPECT_EQ(server["run_id"].size(), 40u);
  EXPECT_EQ(server["multiplexing_api"], "io_uring");

  h.run(c, {"SET", "a", "1"});
  h.run(c, {"SET", "b", "2"});
  h.run(c, {"XADD", "s", "*", "f", "v"});
  h.run(c, {"GET", "a"});
  h.run(c, {"GET", "missing"});
  EXPECT_TRUE(h.run(c, {"XADD", "s", "0-0", "f", "v"}).is_error());
  EXPECT_TRUE(h.run(c, {"GET"}).is_error());
  EXPECT_TRUE(h.run(c, {"GET", "s"}).is_error());  // a stream: WRONGTYPE, and a hit
  EXPECT_TRUE(h.run(c, {"NOSUCH"}).is_error());

  auto stats = info_fields(h.run(c, {"INFO", "commandstats"}));
  EXPECT_EQ(stats["cmdstat_set"].substr(0, 8), "calls=2,");
  EXPECT_EQ(stats["cmdstat_get"].substr(0, 8), "calls=3,");  // a hit, a miss, the stream
  EXPECT_NE(stats["cmdstat_get"].find("rejected_calls=1,failed_calls=1"), std::string::npos);
  EXPECT_NE(stats["cmdstat_xadd"].find("calls=2,"), std::string::npos);
  EXPECT_NE(stats["cmdstat_xadd"].find("failed_calls=1"), std::string::npos);
  // A container's calls are counted by subcommand, as Redis 7 names them.
  EXPECT_EQ(stats["cmdstat_info"].substr(0, 8), "calls=5,");  // the five INFOs above
  EXPECT_EQ(stats.count("cmdstat_client"), 0u);
  h.run(c, {"CLIENT", "ID"});
  h.run(c, {"CLIENT", "NOSUCH"});
  stats = info_fields(h.run(c, {"INFO", "commandstats"}));
  EXPECT_EQ(stats["cmdstat_client|id"].substr(0, 8), "calls=1,");
  EXPECT_NE(stats["cmdstat_client"].find("failed_calls=1"), std::string::npos);
  EXPECT_EQ(client_field(h.run(c, {"CLIENT", "INFO"}).str(), "cmd"), "client|info");
  auto errors = info_fields(h.run(c, {"INFO", "errorstats"}));
  EXPECT_EQ(errors["errorstat_ERR"], "count=4");  // the bad ID, the arity, the unknown (sub)commands
  EXPECT_EQ(errors["errorstat_WRONGTYPE"], "count=1");
  auto st = info_fields(h.run(c, {"INFO", "stats"}));
  EXPECT_EQ(st["keyspace_hits"], "2");
  EXPECT_EQ(st["keyspace_misses"], "1");
  EXPECT_EQ(st["total_error_replies"], "5");
  EXPECT_EQ(info_fields(h.run(c, {"INFO", "keyspace"}))["db0"], "keys=3,expires=0,avg_ttl=0");
  auto latency = info_fields(h.run(c, {"INFO", "latencystats"}));
  EXPECT_EQ(latency["latency_percentiles_usec_set"].substr(0, 4), "p50=");
  auto clients = info_fields(h.run(c, {"INFO", "clients"}));
  EXPECT_EQ(clients["connected_clients"], "1");

  EXPECT_EQ(h.run(c, {"CONFIG", "RESETSTAT"}).str(), "OK");
  stats = info_fields(h.run(c, {"INFO", "commandstats"}));
  EXPECT_EQ(stats.count("cmdstat_set"), 0u);
  EXPECT_EQ(stats.count("cmdstat_xadd"), 0u);
  EXPECT_EQ(info_fields(h.run(c, {"INFO", "errorstats"})).size(), 0u);
  EXPECT_EQ(info_fields(h.run(c, {"INFO", "stats"}))["keyspace_hits"], "0");
}

TEST(RespAdmin, SlowlogKeepsSlowCommandsWithTheirArgumentsCut) {
  RespHarness h;
  auto c = h.client();
  c->name = "logger";
  EXPECT_EQ(h.run(c, {"SLOWLOG", "LEN"}).integer(), 0);
  h.run(c, {"CONFIG", "SET", "slowlog-log-slower-than", "0"});
  std::vector<std::string> many = {"XADD", "wide", "*"};
  for (int i = 0; i < 20; ++i) {
    many.push_back("f" + std::to_string(i));
    many.push_back(i == 0 ? std::string(300, 'x') : "v");
  }
  h.run(c, many);
  auto entries = h.run(c, {"SLOWLOG", "GET", "1"});
  ASSERT_EQ(entries.size(), 1u);
  const RespValue& e = entries[0];
  ASSERT_EQ(e.size(), 6u);
  EXPECT_GE(e[2].integer(), 0);
  ASSERT_EQ(e[3].size(), 32u);  // 31 arguments and how many more
  EXPECT_EQ(e[3][0].str(), "XADD");
  EXPECT_EQ(e[3][4].str(), std::string(128, 'x') + "... (172 more bytes)");
  EXPECT_EQ(e[3][31].str(), "... (12 more arguments)");
  EXPECT_EQ(e[4].str(), c->peer);
  EXPECT_EQ(e[5].str(), "logger");
  h.run(c, {"PING"});
  // Newest first (a command is logged once done: SLOWLOG GET's own entry
  // comes after its answer).
  auto two = h.run(c, {"SLOWLOG", "GET", "2"});
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0][3][0].str(), "PING");
  EXPECT_EQ(two[1][3][0].str(), "SLOWLOG");
  EXPECT_GT(two[0][0].integer(), two[1][0].integer());
  h.run(c, {"CONFIG", "SET", "slowlog-max-len", "3"});
  for (int i = 0; i < 5; ++i) h.run(c, {"PING"});
  EXPECT_EQ(h.run(c, {"SLOWLOG", "LEN"}).integer(), 3);
  EXPECT_EQ(h.run(c, {"SLOWLOG", "GET", "-1"}).size(), 3u);
  EXPECT_EQ(h.run(c, {"SLOWLOG", "RESET"}).str(), "OK");
  // RESET itself is logged once it is done.
  EXPECT_EQ(h.run(c, {"SLOWLOG", "LEN"}).integer(), 1);
  EXPECT_EQ(h.run(c, {"SLOWLOG", "GET", "-2"}).str(), "ERR count should be greater than or equal to -1");
  // Passwords are never kept: AUTH's arguments and HELLO's AUTH pair.
  h.run(c, {"AUTH", "default", "secret-1"});
  h.run(c, {"HELLO", "2", "AUTH", "default", "secret-2", "SETNAME", "logger"});
  auto recent = h.run(c, {"SLOWLOG", "GET", "2"});
  ASSERT_EQ(recent.size(), 2u);
  EXPECT_EQ(recent[0][3][0].str(), "HELLO");
  EXPECT_EQ(recent[0][3][3].str(), "(redacted)");
  EXPECT_EQ(recent[0][3][4].str(), "(redacted)");
  EXPECT_EQ(recent[0][3][6].str(), "logger");
  EXPECT_EQ(recent[1][3][0].str(), "AUTH");
  EXPECT_EQ(recent[1][3][1].str(), "(redacted)");
  EXPECT_EQ(recent[1][3][2].str(), "(redacted)");
  // Off: nothing more is kept.
  h.run(c, {"CONFIG", "SET", "slowlog-log-slower-than", "-1"});
  h.run(c, {"SLOWLOG", "RESET"});
  h.run(c, {"PING"});
  EXPECT_EQ(h.run(c, {"SLOWLOG", "LEN"}).integer(), 0);
}

TEST(RespAdmin, LatencyMonitorAndHistograms) {
  RespHarness h;
  auto c = h.client();
  EXPECT_EQ(h.run(c, {"LATENCY", "LATEST"}).size(), 0u);
  h.run(c, {"DEBUG", "SLEEP", "0.03"});
  // Off by default: nothing kept.
  EXPECT_EQ(h.run(c, {"LATENCY", "LATEST"}).size(), 0u);
  h.run(c, {"CONFIG", "SET", "latency-monitor-threshold", "10"});
  h.run(c, {"PING"});
  EXPECT_EQ(h.run(c, {"LATENCY", "LATEST"}).size(), 0u);
  EXPECT_EQ(h.run(c, {"DEBUG", "SLEEP", "0.03"}).str(), "OK");
  auto latest = h.run(c, {"LATENCY", "LATEST"});
  ASSERT_EQ(latest.size(), 1u);
  EXPECT_EQ(latest[0][0].str(), "command");
  EXPECT_GE(latest[0][2].integer(), 30);
  EXPECT_GE(latest[0][3].integer(), 30);
  auto history = h.run(c, {"LATENCY", "HISTORY", "command"});
  ASSERT_EQ(history.size(), 1u);
  EXPECT_GE(history[0][1].integer(), 30);
  EXPECT_EQ(h.run(c, {"LATENCY", "HISTORY", "nosuch"}).size(), 0u);
  EXPECT_EQ(h.run(c, {"LATENCY", "RESET"}).integer(), 1);
  EXPECT_EQ(h.run(c, {"LATENCY", "LATEST"}).size(), 0u);

  h.run(c, {"SET", "k", "v"});
  auto hist = h.run(c, {"LATENCY", "HISTOGRAM", "set", "nosuch"});
  ASSERT_EQ(hist.size(), 2u);  // RESP2: name, details
  EXPECT_EQ(hist[0].str(), "set");
  ASSERT_EQ(hist[1].size(), 4u);
  EXPECT_EQ(hist[1][0].str(), "calls");
  EXPECT_EQ(hist[1][1].integer(), 1);
  const RespValue& buckets = hist[1][3];
  ASSERT_EQ(buckets.size(), 2u);  // one bucket: its power-of-two edge, the count under it
  EXPECT_EQ(buckets[1].integer(), 1);
  int64_t edge = buckets[0].integer();
  EXPECT_EQ(edge & (edge - 1), 0) << edge;
}

TEST(RespAdmin, TimeSaveWaitAndDebug) {
  RespHarness h;
  auto c = h.client();
  auto t = h.run(c, {"TIME"});
  ASSERT_EQ(t.size(), 2u);
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_NEAR(std::stoll(t[0].str()), now, 2);
  EXPECT_LT(std::stoll(t[1].str()), 1000000);
  int64_t before = h.run(c, {"LASTSAVE"}).integer();
  EXPECT_GT(before, 0);
  EXPECT_EQ(h.run(c, {"SAVE"}).str(), "OK");
  EXPECT_GE(h.run(c, {"LASTSAVE"}).integer(), now);
  EXPECT_EQ(h.run(c, {"BGSAVE"}).str(), "Background saving started");
  EXPECT_EQ(h.run(c, {"BGSAVE", "SCHEDULE"}).str(), "Background saving started");
  EXPECT_EQ(h.run(c, {"BGSAVE", "NOW"}).str(), "ERR syntax error");
  EXPECT_EQ(h.run(c, {"WAIT", "0", "0"}).integer(), 0);
  // No replica answers: a WAIT for one ends with its timeout.
  uint64_t slot = h.send(c, {"WAIT", "1", "60"});
  EXPECT_FALSE(h.answered_within(c, slot, 20));
  EXPECT_EQ(h.wait(c, slot).integer(), 0);
  EXPECT_EQ(h.run(c, {"WAIT", "1", "-1"}).str(), "ERR timeout is negative");

  h.run(c, {"SET", "n", "12"});
  h.run(c, {"SET", "word", "hello"});
  h.run(c, {"SET", "long", std::string(100, 'z')});
  h.run(c, {"XADD", "st", "*", "f", "v"});
  EXPECT_NE(h.run(c, {"DEBUG", "OBJECT", "n"}).str().find("encoding:int "), std::string::npos);
  EXPECT_NE(h.run(c, {"DEBUG", "OBJECT", "word"}).str().find("encoding:embstr "), std::string::npos);
  EXPECT_NE(h.run(c, {"DEBUG", "OBJECT", "long"}).str().find("encoding:raw "), std::string::npos);
  EXPECT_NE(h.run(c, {"DEBUG", "OBJECT", "st"}).str().find("encoding:stream "), std::string::npos);
  EXPECT_EQ(h.run(c, {"DEBUG", "OBJECT", "missing"}).str(), "ERR no such key");
  EXPECT_EQ(h.run(c, {"DEBUG", "SLEEP", "x"}).str(), "ERR value is not a valid float");
  EXPECT_TRUE(h.run(c, {"DEBUG", "SEGFAULT"}).is_error());
  EXPECT_EQ(h.run(c, {"BGREWRITEAOF"}).str(), "Background append only file rewriting started");
}

TEST(RespAdmin, ShardChannelsAndPubsubIntrospection) {
  RespHarness h;
  auto plain = h.client();
  auto shard = h.client();
  auto pub = h.client();
  h.run(plain, {"SUBSCRIBE", "orders", "audit"});
  h.run(plain, {"PSUBSCRIBE", "ord*"});
  auto conf = h.run(shard, {"SSUBSCRIBE", "orders"});
  ASSERT_EQ(conf.size(), 3u);
  EXPECT_EQ(conf[0].str(), "ssubscribe");
  EXPECT_EQ(conf[2].integer(), 1);

  EXPECT_EQ(h.run(pub, {"SPUBLISH", "orders", "o-1"}).integer(), 1);
  EXPECT_EQ(h.run(pub, {"PUBLISH", "orders", "o-2"}).integer(), 2);  // the channel and the pattern
  h.run(shard, {"PING"});
  h.run(plain, {"PING"});
  ASSERT_EQ(shard->pushes.size(), 1u);
  auto msg = parse_resp(shard->pushes[0]);
  ASSERT_EQ(msg.size(), 3u);
  EXPECT_EQ(msg[0].str(), "smessage");
  EXPECT_EQ(msg[1].str(), "orders");
  EXPECT_EQ(msg[2].str(), "o-1");
  ASSERT_EQ(plain->pushes.size(), 2u);  // o-2 twice (message, pmessage); never o-1
  for (auto& p : plain->pushes) EXPECT_EQ(p.find("o-1"), std::string::npos);

  auto channels = h.run(pub, {"PUBSUB", "CHANNELS"});
  ASSERT_EQ(channels.size(), 2u);
  EXPECT_EQ(channels[0].str(), "audit");
  EXPECT_EQ(channels[1].str(), "orders");
  EXPECT_EQ(h.run(pub, {"PUBSUB", "CHANNELS", "a*"}).size(), 1u);
  auto numsub = h.run(pub, {"PUBSUB", "NUMSUB", "orders", "nobody"});
  ASSERT_EQ(numsub.size(), 4u);
  EXPECT_EQ(numsub[1].integer(), 1);
  EXPECT_EQ(numsub[3].integer(), 0);
  EXPECT_EQ(h.run(pub, {"PUBSUB", "NUMPAT"}).integer(), 1);
  auto shard_channels = h.run(pub, {"PUBSUB", "SHARDCHANNELS"});
  ASSERT_EQ(shard_channels.size(), 1u);
  EXPECT_EQ(shard_channels[0].str(), "orders");
  EXPECT_EQ(h.run(pub, {"PUBSUB", "SHARDNUMSUB", "orders"})[1].integer(), 1);
  auto info = info_fields(h.run(pub, {"INFO", "stats"}));
  EXPECT_EQ(info["pubsub_channels"], "2");
  EXPECT_EQ(info["pubsub_patterns"], "1");
  EXPECT_EQ(info["pubsubshard_channels"], "1");

  auto unsub = h.run(shard, {"SUNSUBSCRIBE"});
  ASSERT_EQ(unsub.size(), 3u);
  EXPECT_EQ(unsub[0].str(), "sunsubscribe");
  EXPECT_EQ(unsub[2].integer(), 0);
  EXPECT_EQ(h.run(pub, {"SPUBLISH", "orders", "o-3"}).integer(), 0);
  EXPECT_EQ(h.run(pub, {"PUBSUB", "SHARDCHANNELS"}).size(), 0u);
}

TEST(RespAdmin, ResetMakesTheConnectionNew) {
  RespHarness h;
  auto c = h.client();
  auto pub = h.client();
  h.run(c, {"HELLO", "3", "SETNAME", "old"});
  h.run(c, {"SUBSCRIBE", "ch"});
  h.run(c, {"SSUBSCRIBE", "sch"});
  EXPECT_EQ(h.raw(c, {"RESET"}), "+RESET\r\n");
  EXPECT_EQ(c->protocol, 2);
  EXPECT_TRUE(c->name.empty());
  EXPECT_FALSE(c->subscribed());
  EXPECT_EQ(h.run(pub, {"PUBLISH", "ch", "x"}).integer(), 0);
  EXPECT_EQ(h.run(pub, {"SPUBLISH", "sch", "x"}).integer(), 0);
  EXPECT_EQ(h.raw(c, {"CLIENT", "GETNAME"}), "$-1\r\n");
}

TEST(RespAdmin, CommandGetkeysAndList) {
  RespHarness h;
  auto keys = h.run({"COMMAND", "GETKEYS", "SET", "k", "v"});
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].str(), "k");
  auto mset = h.run({"COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"});
  ASSERT_EQ(mset.size(), 2u);
  EXPECT_EQ(mset[1].str(), "b");
  auto xread = h.run({"COMMAND", "GETKEYS", "XREAD", "COUNT", "1", "STREAMS", "s1", "s2", "0", "0"});
  ASSERT_EQ(xread.size(), 2u);
  EXPECT_EQ(xread[0].str(), "s1");
  EXPECT_EQ(xread[1].str(), "s2");
  // Subcommands that name a key, and those that do not.
  EXPECT_EQ(strings(h.run({"COMMAND", "GETKEYS", "DEBUG", "OBJECT", "k"})), std::vector<std::string>{"k"});
  EXPECT_EQ(h.run({"COMMAND", "GETKEYS", "DEBUG", "SLEEP", "0"}).str(), "ERR The command has no key arguments");
  EXPECT_EQ(strings(h.run({"COMMAND", "GETKEYS", "MEMORY", "USAGE", "k", "SAMPLES", "5"})),
            std::vector<std::string>{"k"});
  EXPECT_EQ(strings(h.run({"COMMAND", "GETKEYS", "OBJECT", "ENCODING", "k"})), std::vector<std::string>{"k"});
  EXPECT_EQ(h.run({"COMMAND", "GETKEYS", "PING"}).str(), "ERR The command has no key arguments");
  EXPECT_EQ(h.run({"COMMAND", "GETKEYS", "NOSUCH", "x"}).str(), "ERR Invalid command specified");
  EXPECT_EQ(h.run({"COMMAND", "GETKEYS", "GET"}).str(), "ERR Invalid number of arguments specified for command");
  // COMMAND LIST names subcommands too ("client|list"), COUNT the commands.
  auto list = h.run({"COMMAND", "LIST"});
  size_t parents = 0;
  bool client_list = false;
  for (auto& n : list.items) {
    parents += n.str().find('|') == std::string::npos;
    client_list |= n.str() == "client|list";
  }
  EXPECT_TRUE(client_list);
  EXPECT_EQ(static_cast<int64_t>(parents), h.run({"COMMAND", "COUNT"}).integer());
  auto config = h.run({"COMMAND", "INFO", "config", "config|get", "nosuch"});
  ASSERT_EQ(config.size(), 3u);
  EXPECT_EQ(config[0][0].str(), "config");
  EXPECT_EQ(config[0][9].size(), 5u);  // get help resetstat rewrite set
  EXPECT_EQ(config[0][9][0][0].str(), "config|get");
  EXPECT_EQ(config[1][0].str(), "config|get");
  EXPECT_TRUE(config[2].is_null());
  auto x = h.run({"COMMAND", "LIST", "FILTERBY", "PATTERN", "x*"});
  EXPECT_GT(x.size(), 10u);
  for (auto& n : x.items) EXPECT_EQ(n.str()[0], 'x');
  auto info = h.run({"COMMAND", "INFO", "xread"});
  ASSERT_EQ(info.size(), 1u);
  bool movable = false;
  for (auto& f : info[0][2].items) movable |= f.str() == "movablekeys";
  EXPECT_TRUE(movable);
}

TEST(CommandStats, BucketsPercentilesAndResetsWithoutTouchingTheThreads) {
  for (uint64_t us : {0ull, 1ull, 3ull, 4ull, 7ull, 8ull, 100ull, 12345ull, 1ull << 31}) {
    size_t b = resp::latency_bucket(us);
    EXPECT_LE(us, resp::latency_bucket_top(b)) << us;
    if (b > 0) {
      EXPECT_GT(us, resp::latency_bucket_top(b - 1)) << us;
    }
    // Within a quarter of the value.
    EXPECT_LE(resp::latency_bucket_top(b) - us, us / 4 + 1) << us;
  }
  // LATENCY HISTOGRAM's edges: a call of 4 us is under 4, one of 5 under 8.
  EXPECT_EQ(resp::latency_power_edge(resp::latency_bucket(0)), 1u);
  EXPECT_EQ(resp::latency_power_edge(resp::latency_bucket(1)), 1u);
  EXPECT_EQ(resp::latency_power_edge(resp::latency_bucket(2)), 2u);
  EXPECT_EQ(resp::latency_power_edge(resp::latency_bucket(4)), 4u);
  EXPECT_EQ(resp::latency_power_edge(resp::latency_bucket(5)), 8u);
  EXPECT_EQ(resp::latency_power_edge(resp::latency_bucket(1000)), 1024u);
  resp::CommandStats s(2);
  for (int i = 0; i < 98; ++i) s.ran(0, 10, false);
  s.ran(0, 1000, true);
  s.ran(0, 100000, false);
  // Counted on another thread too: the sums take every thread's block.
  std::thread([&] { s.ran(1, 5, false); }).join();
  auto f = s.command(0);
  EXPECT_EQ(f.calls, 100u);
  EXPECT_EQ(f.failed, 1u);
  EXPECT_EQ(f.usec, 98u * 10 + 1000 + 100000);
  EXPECT_EQ(f.percentile(50), 11);  // the top of 10's bucket
  EXPECT_GE(f.percentile(99), 1000);
  EXPECT_LT(f.percentile(99), 1250);
  EXPECT_GE(f.percentile(100), 100000);
  EXPECT_EQ(s.command(1).calls, 1u);
  EXPECT_EQ(s.total_calls(), 101u);
  s.reset();
  EXPECT_EQ(s.command(0).calls, 0u);
  s.ran(0, 10, false);
  EXPECT_EQ(s.command(0).calls, 1u);
  EXPECT_EQ(s.command(0).percentile(50), 11);
}

}  // namespace
}  // namespace redcar::test
