// What the server tells of itself: INFO (every section Redis 7.0 has, with
// the fields clients parse), SLOWLOG and LATENCY. The figures come from the
// command counters, the client registry, the engine's recovery reports and
// the process (memory, CPU); where a Redis field describes a mechanism
// redcar does not have (RDB, forks, replicas, eviction), it has the value
// Redis shows when that mechanism is idle.
#include <malloc.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <set>

#include "frontends/resp/command_table.h"
#include "frontends/resp/context.h"
#include "frontends/resp/databases.h"

namespace redcar::resp {
namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string human_bytes(uint64_t n) {
  const char* units[] = {"B", "K", "M", "G", "T"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) std::snprintf(buf, sizeof(buf), "%lluB", static_cast<unsigned long long>(n));
  else std::snprintf(buf, sizeof(buf), "%.2f%s", v, units[u]);
  return buf;
}

uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

double seconds(const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; }

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

// Which sections a request names: "default", "all", "everything" or names.
struct Sections {
  std::set<std::string> names;
  bool all = false;       // + commandstats, latencystats
  bool is_default = false;
  bool wants(const std::string& s) const {
    if (names.count(s)) return true;
    static const std::set<std::string> kDefault = {"server", "clients", "memory", "persistence", "stats",
                                                   "replication", "cpu", "modules", "errorstats", "cluster",
                                                   "keyspace"};
    if ((is_default || all) && kDefault.count(s)) return true;
    return all && (s == "commandstats" || s == "latencystats");
  }
};

Sections sections_of(Args a) {
  Sections s;
  if (a.size() == 1) s.is_default = true;
  for (size_t i = 1; i < a.size(); ++i) {
    std::string n = lower(a[i]);
    if (n == "default") s.is_default = true;
    else if (n == "all" || n == "everything") s.all = true;
    else s.names.insert(n);
  }
  return s;
}

// What INFO gathers from other threads before it writes.
struct Gathered {
  std::mutex mu;
  bool keys_known = false;
  KvExpiryStats expiry;  // keys of the key-value view and streams, added up
  size_t blocked = 0;
  size_t pubsub_clients = 0;
};

void write_info(Context& ctx, const ReplyPtr& r, const Sections& want, const Gathered& g) {
  ServerState& st = ctx.state;
  const CommandStats& cs = st.command_stats;
  int64_t now = wall_ms();
  std::string out;
  auto section = [&](const char* title) {
    if (!out.empty()) out += "\r\n";
    out += "# ";
    out += title;
    out += "\r\n";
  };
  auto field = [&](std::string_view name, const std::string& value) {
    out += name;
    out += ':';
    out += value;
    out += "\r\n";
  };
  auto num = [&](std::string_view name, auto value) { field(name, std::to_string(value)); };

  if (want.wants("server")) {
    section("Server");
    utsname u{};
    ::uname(&u);
    int64_t uptime = (now - ctx.stats.started_ms) / 1000;
    field("redis_version", "7.0.0");
    field("redis_git_sha1", "00000000");
    num("redis_git_dirty", 0);
    field("redis_build_id", "0");
    field("redis_mode", "standalone");
    field("os", std::string(u.sysname) + " " + u.release + " " + u.machine);
    num("arch_bits", sizeof(void*) * 8);
    field("monotonic_clock", "POSIX clock_gettime");
    field("multiplexing_api", "io_uring");
    field("atomicvar_api", "c11-builtin");
    field("gcc_version", std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) + "." +
                             std::to_string(__GNUC_PATCHLEVEL__));
    num("process_id", ::getpid());
    field("process_supervised", "no");
    field("run_id", st.run_id);
    num("tcp_port", ctx.stats.port);
    num("server_time_usec", now * 1000);
    num("uptime_in_seconds", uptime);
    num("uptime_in_days", uptime / 86400);
    num("hz", 10);
    num("configured_hz", 10);
    num("lru_clock", (now / 1000) & ((1 << 24) - 1));
    char exe[4096] = {};
    ssize_t n = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    field("executable", n > 0 ? std::string(exe, static_cast<size_t>(n)) : "");
    field("config_file", "");
    num("io_threads_active", 0);
    field("redcar_version", "0.1.0");
    num("shards", ctx.engine.shard_count());
  }
  if (want.wants("clients")) {
    section("Clients");
    num("connected_clients", st.clients.size());
    num("cluster_connections", 0);
    num("maxclients", st.max_clients.load());
    num("client_recent_max_input_buffer", 0);
    num("client_recent_max_output_buffer", 0);
    num("blocked_clients", g.blocked);
    num("tracking_clients", 0);
    num("pubsub_clients", g.pubsub_clients);
    num("clients_in_timeout_table", 0);
  }
  if (want.wants("memory")) {
    section("Memory");
    struct mallinfo2 mi = ::mallinfo2();
    uint64_t used = mi.uordblks + mi.hblkhd;
    uint64_t rss = resident_bytes();
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    uint64_t peak_rss = static_cast<uint64_t>(ru.ru_maxrss) * 1024;
    uint64_t total = static_cast<uint64_t>(::sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    num("used_memory", used);
    field("used_memory_human", human_bytes(used));
    num("used_memory_rss", rss);
    field("used_memory_rss_human", human_bytes(rss));
    num("used_memory_peak", std::max(used, peak_rss));
    field("used_memory_peak_human", human_bytes(std::max(used, peak_rss)));
    num("total_system_memory", total);
    field("total_system_memory_human", human_bytes(total));
    num("maxmemory", 0);
    field("maxmemory_human", "0B");
    field("maxmemory_policy", "noeviction");
    field("mem_fragmentation_ratio", fixed(used ? static_cast<double>(rss) / static_cast<double>(used) : 0, 2));
    field("mem_allocator", "libc");
  }
  if (want.wants("persistence")) {
    section("Persistence");
    uint64_t segments = 0, records = 0;
    double secs = 0;
    for (unsigned i = 0; i < ctx.engine.shard_count(); ++i) {
      const auto& rep = ctx.engine.recovery_report(i);
      segments += rep.segments;
      records += rep.records;
      secs = std::max(secs, rep.seconds);
    }
    num("loading", 0);
    num("async_loading", 0);
    num("current_cow_peak", 0);
    num("rdb_changes_since_last_save", 0);
    num("rdb_bgsave_in_progress", 0);
    num("rdb_last_save_time", st.last_save.load());
    field("rdb_last_bgsave_status", "ok");
    num("rdb_last_bgsave_time_sec", -1);
    num("aof_enabled", 1);
    num("aof_rewrite_in_progress", 0);
    num("aof_rewrite_scheduled", 0);
    field("aof_last_write_status", "ok");
    field("aof_last_bgrewrite_status", "ok");
    field("redcar_fsync", st.fsync == FsyncMode::kAlways ? "always" : st.fsync == FsyncMode::kNever ? "never" : "interval");
    num("recovered_segments", segments);
    num("recovered_records", records);
    field("recovery_seconds", fixed(secs, 6));
  }
  if (want.wants("stats")) {
    section("Stats");
    auto rates = st.rates();
    num("total_connections_received", ctx.stats.connections_received.load());
    num("total_commands_processed", cs.total_calls());
    num("instantaneous_ops_per_sec", static_cast<int64_t>(rates.ops_per_sec));
    num("total_net_input_bytes", cs.total(CommandStats::kBytesIn));
    num("total_net_output_bytes", cs.total(CommandStats::kBytesOut));
    field("instantaneous_input_kbps", fixed(rates.input_kbps, 2));
    field("instantaneous_output_kbps", fixed(rates.output_kbps, 2));
    num("rejected_connections", ctx.stats.rejected_connections.load());
    for (const char* zero : {"sync_full", "sync_partial_ok", "sync_partial_err"}) num(zero, 0);
    num("expired_keys", static_cast<int64_t>(g.expiry.expired));
    field("expired_stale_perc", "0.00");
    for (const char* zero : {"expired_time_cap_reached_count", "expire_cycle_cpu_milliseconds", "evicted_keys",
                             "evicted_clients", "total_eviction_exceeded_time", "current_eviction_exceeded_time"}) {
      num(zero, 0);
    }
    num("keyspace_hits", cs.total(CommandStats::kHits));
    num("keyspace_misses", cs.total(CommandStats::kMisses));
    num("pubsub_channels", ctx.pubsub.channel_count());
    num("pubsub_patterns", ctx.pubsub.pattern_count());
    num("pubsubshard_channels", ctx.pubsub.shard_channel_count());
    num("latest_fork_usec", 0);
    num("total_forks", 0);
    num("migrate_cached_sockets", 0);
    num("slave_expires_tracked_keys", 0);
    num("tracking_total_keys", 0);
    num("tracking_total_items", 0);
    num("tracking_total_prefixes", 0);
    num("unexpected_error_replies", 0);
    num("total_error_replies", cs.total_errors());
    num("dump_payload_sanitizations", 0);
  }
  if (want.wants("replication")) {
    section("Replication");
    field("role", "master");
    num("connected_slaves", 0);
    field("master_failover_state", "no-failover");
    field("master_replid", st.run_id);
    field("master_replid2", std::string(40, '0'));
    num("master_repl_offset", 0);
    num("second_repl_offset", -1);
    num("repl_backlog_active", 0);
    num("repl_backlog_size", 1048576);
    num("repl_backlog_first_byte_offset", 0);
    num("repl_backlog_histlen", 0);
  }
  if (want.wants("cpu")) {
    section("CPU");
    rusage self{}, children{}, thread{};
    ::getrusage(RUSAGE_SELF, &self);
    ::getrusage(RUSAGE_CHILDREN, &children);
    ::getrusage(RUSAGE_THREAD, &thread);
    field("used_cpu_sys", fixed(seconds(self.ru_stime), 6));
    field("used_cpu_user", fixed(seconds(self.ru_utime), 6));
    field("used_cpu_sys_children", fixed(seconds(children.ru_stime), 6));
    field("used_cpu_user_children", fixed(seconds(children.ru_utime), 6));
    field("used_cpu_sys_main_thread", fixed(seconds(thread.ru_stime), 6));
    field("used_cpu_user_main_thread", fixed(seconds(thread.ru_utime), 6));
  }
  if (want.wants("modules")) section("Modules");
  const CommandTable& table = ctx.commands;
  if (want.wants("commandstats")) {
    section("Commandstats");
    for (size_t i = 0; i < table.slot_count(); ++i) {
      auto f = cs.command(i);
      if (f.calls == 0 && f.rejected == 0 && f.failed == 0) continue;
      double per_call = f.calls ? static_cast<double>(f.usec) / static_cast<double>(f.calls) : 0;
      field("cmdstat_" + table.slot_name(i), "calls=" + std::to_string(f.calls) + ",usec=" + std::to_string(f.usec) +
                                                  ",usec_per_call=" + fixed(per_call, 2) +
                                                  ",rejected_calls=" + std::to_string(f.rejected) +
                                                  ",failed_calls=" + std::to_string(f.failed));
    }
  }
  if (want.wants("errorstats")) {
    section("Errorstats");
    for (auto& [prefix, count] : cs.errors()) field("errorstat_" + prefix, "count=" + std::to_string(count));
  }
  if (want.wants("latencystats") && st.config.latency_tracking.load()) {
    section("Latencystats");
    auto percentiles = st.config.percentile_list();
    for (size_t i = 0; i < table.slot_count(); ++i) {
      auto f = cs.command(i);
      if (f.calls == 0) continue;
      std::string v;
      for (double p : percentiles) {
        if (!v.empty()) v += ',';
        v += "p" + format_decimal(p) + "=" + fixed(f.percentile(p), 3);
      }
      field("latency_percentiles_usec_" + table.slot_name(i), v);
    }
  } else if (want.wants("latencystats")) {
    section("Latencystats");
  }
  if (want.wants("cluster")) {
    section("Cluster");
    num("cluster_enabled", 0);
  }
  if (want.wants("keyspace")) {
    section("Keyspace");
    for (unsigned db = 0; g.keys_known && db < kMaxDatabases; ++db) {
      const KvExpiryStats::Database& d = g.expiry.database(db);
      if (d.keys == 0) continue;
      field("db" + std::to_string(db), "keys=" + std::to_string(d.keys) + ",expires=" + std::to_string(d.expiring) +
                                           ",avg_ttl=" + std::to_string(d.avg_ttl_ms));
    }
  }
  reply_text(*r, out);
}

void cmd_info(Context& ctx, const ReplyPtr& r, Args a) {
  Sections want = sections_of(a);
  auto g = std::make_shared<Gathered>();
  // Keys, then the clients, then the text: each step on the client's thread.
  auto with_clients = [&ctx, r, want, g] {
    if (!want.wants("clients")) return write_info(ctx, r, want, *g);
    ctx.state.clients.visit_all(
        [g](Client& c) {
          std::lock_guard lk(g->mu);
          g->blocked += c.blocked();
          g->pubsub_clients += c.subscribed();
        },
        r->client().loop(), [&ctx, r, want, g] { write_info(ctx, r, want, *g); });
  };
  if (!want.wants("keyspace") && !want.wants("stats")) return with_clients();
  ctx.engine.kv_expiry_stats(back_to<KvExpiryStats>(r, [&ctx, r, g, with_clients](Result<KvExpiryStats> kv) {
    if (!kv) return with_clients();
    // A name holds a stream or a key-value type, never both: the counts
    // add up. Streams that expired count with keys that did, as in Redis.
    ctx.engine.stream_expiry_stats(back_to<KvExpiryStats>(r, [g, keys = *kv, with_clients](Result<KvExpiryStats> st) {
      g->expiry = keys;
      if (st) {
        g->expiry.add(*st);
        g->keys_known = true;
      }
      with_clients();
    }));
  }));
}

// ------------------------------------------------------------------ SLOWLOG

const char* kSlowlogHelp[] = {
    "SLOWLOG <subcommand> [<arg>]:",
    "GET [<count>] -- the newest <count> entries (10 unless given; -1 for all), each: id, unix time,",
    "    microseconds taken (dispatch to reply, waiting for the disk included), arguments, client address, client name",
    "LEN -- how many entries there are",
    "RESET -- forget every entry",
    "HELP -- this text",
};

void cmd_slowlog(Context& ctx, const ReplyPtr& r, Args a) {
  std::string sub = lower(a[1]);
  Slowlog& log = ctx.state.slowlog;
  if (sub == "get" && a.size() <= 3) {
    int64_t count = 10;
    if (a.size() == 3 && (!parse_int(a[2], &count) || count < -1)) {
      return reply_error(*r, "ERR count should be greater than or equal to -1");
    }
    auto entries = log.latest(count);
    auto& w = r->w();
    w.array(entries.size());
    for (const auto& e : entries) {
      w.array(6);
      w.integer(static_cast<int64_t>(e.id));
      w.integer(e.unix_seconds);
      w.integer(static_cast<int64_t>(e.usec));
      w.array(e.args.size());
      for (const auto& arg : e.args) w.bulk(arg);
      w.bulk(e.peer);
      w.bulk(e.name);
    }
    return r->done();
  }
  if (sub == "len" && a.size() == 2) {
    r->w().integer(static_cast<int64_t>(log.size()));
    return r->done();
  }
  if (sub == "reset" && a.size() == 2) {
    log.reset();
    r->w().simple("OK");
    return r->done();
  }
  if (sub == "help" && a.size() == 2) {
    return reply_help(*r, kSlowlogHelp);
  }
  reply_unknown_subcommand(ctx, *r, a);
}

// ------------------------------------------------------------------ LATENCY

// LATENCY HISTOGRAM: per command, its calls and a cumulative count per
// power-of-two bucket of microseconds, as Redis 7 reports it.
void latency_histogram(Context& ctx, const ReplyPtr& r, Args a) {
  const CommandTable& table = ctx.commands;
  std::vector<size_t> wanted;
  if (a.size() == 2) {
    for (size_t i = 0; i < table.slot_count(); ++i) wanted.push_back(i);
  } else {
    // A command names itself and its subcommands ("client" and
    // "client|list"), a subcommand itself only.
    for (size_t i = 2; i < a.size(); ++i) {
      std::string name = lower(a[i]);
      for (size_t slot = 0; slot < table.slot_count(); ++slot) {
        const std::string& n = table.slot_name(slot);
        if (n == name || (n.size() > name.size() && n.compare(0, name.size(), name) == 0 && n[name.size()] == '|')) {
          wanted.push_back(slot);
        }
      }
    }
  }
  std::vector<std::pair<size_t, CommandStats::Figures>> rows;
  for (size_t i : wanted) {
    auto f = ctx.state.command_stats.command(i);
    if (f.calls > 0) rows.emplace_back(i, f);
  }
  auto& w = r->w();
  w.map(rows.size());
  for (auto& [i, f] : rows) {
    w.bulk(table.slot_name(i));
    std::map<uint64_t, uint64_t> by_edge;
    for (size_t b = 0; b < kLatencyBuckets; ++b) {
      if (!f.histogram[b]) continue;
      by_edge[latency_power_edge(b)] += f.histogram[b];
    }
    w.map(2);
    w.bulk("calls");
    w.integer(static_cast<int64_t>(f.calls));
    w.bulk("histogram_usec");
    w.map(by_edge.size());
    uint64_t cumulative = 0;
    for (auto& [edge, n] : by_edge) {
      cumulative += n;
      w.integer(static_cast<int64_t>(edge));
      w.integer(static_cast<int64_t>(cumulative));
    }
  }
  r->done();
}

const char* kLatencyHelp[] = {
    "LATENCY <subcommand> [<arg> ...]:",
    "LATEST -- per event: its name, the time and milliseconds of its newest sample, and its worst",
    "HISTORY <event> -- the event's samples (unix time, milliseconds), oldest first",
    "RESET [<event> ...] -- forget the named events, or all",
    "HISTOGRAM [<command> ...] -- per command, its calls and their latencies in power-of-two buckets of microseconds",
    "DOCTOR -- a short report in words",
    "GRAPH <event> -- the event's samples as text",
    "HELP -- this text",
};

void cmd_latency(Context& ctx, const ReplyPtr& r, Args a) {
  std::string sub = lower(a[1]);
  LatencyMonitor& mon = ctx.state.latency;
  auto& w = r->w();
  if (sub == "latest" && a.size() == 2) {
    auto events = mon.events();
    w.array(events.size());
    for (auto& [name, e] : events) {
      w.array(4);
      w.bulk(name);
      w.integer(e.history.empty() ? 0 : e.history.back().unix_seconds);
      w.integer(static_cast<int64_t>(e.history.empty() ? 0 : e.history.back().ms));
      w.integer(static_cast<int64_t>(e.max_ms));
    }
    return r->done();
  }
  if (sub == "history" && a.size() == 3) {
    auto events = mon.events();
    auto it = events.find(std::string(a[2]));
    if (it == events.end()) {
      w.array(0);
      return r->done();
    }
    w.array(it->second.history.size());
    for (auto& s : it->second.history) {
      w.array(2);
      w.integer(s.unix_seconds);
      w.integer(static_cast<int64_t>(s.ms));
    }
    return r->done();
  }
  if (sub == "reset") {
    std::vector<std::string> names(a.begin() + 2, a.end());
    w.integer(static_cast<int64_t>(mon.reset(names)));
    return r->done();
  }
  if (sub == "histogram") return latency_histogram(ctx, r, a);
  if (sub == "doctor" && a.size() == 2) {
    auto events = mon.events();
    std::string text;
    if (mon.threshold_ms.load() == 0) {
      text = "The latency monitor is off: CONFIG SET latency-monitor-threshold <milliseconds> turns it on.\n";
    } else if (events.empty()) {
      text = "No event has reached the latency monitor's threshold since it was turned on or reset.\n";
    } else {
      for (auto& [name, e] : events) {
        text += name + ": " + std::to_string(e.history.size()) + " samples at or over the threshold, the worst " +
                std::to_string(e.max_ms) + " ms. A command's time includes waiting for the disk (see SLOWLOG "
                "and the server's --fsync mode).\n";
      }
    }
    return reply_text(*r, text);
  }
  if (sub == "graph" && a.size() == 3) {
    auto events = mon.events();
    auto it = events.find(std::string(a[2]));
    if (it == events.end()) return reply_error(*r, "ERR No samples available for event '" + std::string(a[2]) + "'");
    std::string text = std::string(a[2]) + " - high " + std::to_string(it->second.max_ms) + " ms\n";
    for (auto& s : it->second.history) text += std::to_string(s.unix_seconds) + " " + std::to_string(s.ms) + " ms\n";
    w.bulk(text);
    return r->done();
  }
  if (sub == "help" && a.size() == 2) {
    return reply_help(*r, kLatencyHelp);
  }
  reply_unknown_subcommand(ctx, *r, a);
}

}  // namespace

void add_info_commands(std::vector<Command>& out) {
  out.push_back({"INFO", -1, 0, cmd_info});
  out.push_back({"SLOWLOG", -2, 0, cmd_slowlog, 0, 0, 0, "get help len reset"});
  out.push_back({"LATENCY", -2, 0, cmd_latency, 0, 0, 0, "doctor graph help histogram history latest reset"});
}

}  // namespace redcar::resp
