// What a RESP command handler may use besides its reply and its client: the
// engine, the server's options, the command table, pub/sub, and the counters
// INFO reports. One per server, shared by every connection (and by the
// in-process client of the command tests); its parts are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>

#include "engine/api/engine.h"
#include "frontends/resp/options.h"
#include "frontends/resp/pubsub.h"

namespace redcar::resp {

class CommandTable;

struct ServerStats {
  std::atomic<uint64_t> connections_received{0};
  std::atomic<uint64_t> commands_processed{0};
  std::atomic<uint64_t> rejected_connections{0};
  std::atomic<int64_t> connected_clients{0};
  int64_t started_ms = 0;
  uint16_t port = 0;
};

struct Context {
  Engine& engine;
  const ServerOptions& options;
  const CommandTable& commands;
  PubSub& pubsub;
  ServerStats& stats;
};

}  // namespace redcar::resp
