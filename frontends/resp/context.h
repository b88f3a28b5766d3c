// What a RESP command handler may use besides its reply and its client: the
// engine, the server's options, the command table, pub/sub, and what the
// server keeps about itself (counters, the slow log, its clients, its
// settings). One per server, shared by every connection (and by the
// in-process client of the command tests); its parts are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>

#include "engine/api/engine.h"
#include "frontends/resp/acl.h"
#include "frontends/resp/client_registry.h"
#include "frontends/resp/command_stats.h"
#include "frontends/resp/config.h"
#include "frontends/resp/options.h"
#include "frontends/resp/pubsub.h"
#include "frontends/resp/slow_commands.h"

namespace redcar::resp {

class CommandTable;

struct ServerStats {
  std::atomic<uint64_t> connections_received{0};
  std::atomic<uint64_t> rejected_connections{0};
  std::atomic<int64_t> connected_clients{0};
  int64_t started_ms = 0;
  uint16_t port = 0;
};

// The server's own state that admin commands read and change.
struct ServerState {
  ServerState(const ServerOptions& options, const EngineOptions& engine, const CommandTable& commands);
  CommandStats command_stats;
  Slowlog slowlog;
  LatencyMonitor latency;
  ClientRegistry clients;
  Config config;
  Acl acl;
  std::atomic<int64_t> max_clients;
  // LASTSAVE: when SAVE or BGSAVE last made everything durable (unix s).
  std::atomic<int64_t> last_save{0};
  // INFO's data folder and fsync mode.
  std::string data_dir;
  FsyncMode fsync = FsyncMode::kAlways;
  // 40 hex digits, new each time the server starts (INFO's run_id).
  std::string run_id;
  // What SHUTDOWN does: the program sets it (as a SIGTERM would stop the
  // server); unset, SHUTDOWN is refused.
  std::function<void()> shutdown;

  // INFO's instantaneous rates: the server samples its totals every 100 ms
  // (Server's timer) and the rates are averaged over the last 16 samples,
  // as Redis does.
  struct Rates {
    double ops_per_sec = 0, input_kbps = 0, output_kbps = 0;
  };
  void sample();
  Rates rates() const;

 private:
  struct Sample {
    int64_t ms;
    uint64_t calls, in, out;
  };
  mutable std::mutex sample_mu_;
  std::deque<Sample> samples_;
};

struct Context {
  Engine& engine;
  const ServerOptions& options;
  const CommandTable& commands;
  PubSub& pubsub;
  ServerStats& stats;
  ServerState& state;
};

}  // namespace redcar::resp
