#include "frontends/resp/context.h"

#include <chrono>
#include <random>

#include "frontends/resp/command_table.h"

namespace redcar::resp {

namespace {
const char* fsync_name(FsyncMode m) {
  switch (m) {
    case FsyncMode::kAlways: return "always";
    case FsyncMode::kInterval: return "everysec";
    case FsyncMode::kNever: return "no";
  }
  return "always";
}
}  // namespace

ServerState::ServerState(const ServerOptions& options, const EngineOptions& engine, const CommandTable& commands)
    : command_stats(commands.slot_count()),
      acl(commands, options.requirepass),
      max_clients(static_cast<int64_t>(options.max_clients)),
      data_dir(engine.data_dir),
      fsync(engine.fsync) {
  std::random_device rd;
  static const char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 40; ++i) run_id += kHex[rd() % 16];
  // Everything acknowledged before the start is in the log.
  last_save = std::chrono::duration_cast<std::chrono::seconds>(
                  std::chrono::system_clock::now().time_since_epoch()).count();
  std::string port = options.address.substr(options.address.rfind(':') + 1);
  std::string bind = options.address.substr(0, options.address.rfind(':'));
  if (bind.size() > 1 && bind.front() == '[') bind = bind.substr(1, bind.size() - 2);
  // Fixed by the command line or by how redcar stores data.
  config.add_fixed("appendonly", "yes");
  config.add_fixed("appendfsync", fsync_name(engine.fsync));
  config.add_fixed("save", "");
  config.add_fixed("databases", std::to_string(options.databases));
  config.add_fixed("port", port);
  config.add_fixed("bind", bind);
  config.add_fixed("dir", engine.data_dir);
  config.add_fixed("dbfilename", "");
  config.add_fixed("appendfilename", "");
  config.add_fixed("maxmemory", "0");
  config.add_fixed("maxmemory-policy", "noeviction");
  config.add_fixed("proto-max-bulk-len", std::to_string(options.parse.max_bulk_bytes));
  // As in Redis, it sets the default user's password (acl.h); connections
  // already logged in stay so.
  config.add({"requirepass", [this] { return acl.requirepass(); }, [this](std::string_view v) -> std::string {
                acl.set_requirepass(v);
                return "";
              }});
  config.add_fixed("timeout", "0");
  config.add_fixed("cluster-enabled", "no");
  config.add_fixed("io-threads", "1");
  config.add_fixed("hz", "10");
  config.add_fixed("notify-keyspace-events", "");
  config.add_fixed("client-output-buffer-limit",
                   "normal 0 0 0 replica 0 0 0 pubsub " + std::to_string(options.session.max_output_bytes) + " 0 0");
  // Honoured at run time.
  config.add_integer("maxclients", &max_clients, 1, 1000000);
  config.add_integer("slowlog-log-slower-than", &slowlog.slower_than_usec, -1, INT64_MAX);
  config.add_integer("slowlog-max-len", &slowlog.max_len, 0, INT32_MAX);
  config.add_integer("latency-monitor-threshold", &latency.threshold_ms, 0, INT64_MAX);
  config.add({"latency-tracking", [this] { return config.latency_tracking.load() ? "yes" : "no"; },
              [this](std::string_view v) -> std::string {
                if (v == "yes" || v == "no") {
                  config.latency_tracking = v == "yes";
                  return "";
                }
                return "argument must be 'yes' or 'no'";
              }});
  config.add({"latency-tracking-info-percentiles", [this] { return config.percentiles(); },
              [this](std::string_view v) { return config.set_percentiles(v); }});
  // Kept and shown, shaping nothing (Config's comment says why).
  config.add_integer("stream-node-max-bytes", &config.stream_node_max_bytes, 0, INT64_MAX);
  config.add_integer("stream-node-max-entries", &config.stream_node_max_entries, 0, INT64_MAX);
}

void ServerState::sample() {
  Sample now{ClientRegistry::now_ms(), command_stats.total_calls(), command_stats.total(CommandStats::kBytesIn),
             command_stats.total(CommandStats::kBytesOut)};
  std::lock_guard lk(sample_mu_);
  samples_.push_back(now);
  if (samples_.size() > 17) samples_.pop_front();  // 16 intervals
}

ServerState::Rates ServerState::rates() const {
  std::lock_guard lk(sample_mu_);
  Rates r;
  if (samples_.size() < 2) return r;
  const Sample& a = samples_.front();
  const Sample& b = samples_.back();
  double secs = static_cast<double>(b.ms - a.ms) / 1000.0;
  if (secs <= 0) return r;
  // A RESETSTAT between samples makes a total go back: no rate then.
  auto rate = [secs](uint64_t from, uint64_t to) { return to >= from ? static_cast<double>(to - from) / secs : 0.0; };
  r.ops_per_sec = rate(a.calls, b.calls);
  r.input_kbps = rate(a.in, b.in) / 1024.0;
  r.output_kbps = rate(a.out, b.out) / 1024.0;
  return r;
}

}  // namespace redcar::resp
