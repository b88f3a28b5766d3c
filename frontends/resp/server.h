// The RESP listener: accepts connections with a multishot accept on shard
// 0's reactor and hands each to a shard round-robin, where its socket lives
// on that shard's io_uring (each shard has a ring of receive buffers for
// them). It owns what every connection shares — the options, the command
// table, pub/sub and the counters — as the Context commands run with.
#pragma once

#include <boost/asio/ssl.hpp>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "engine/api/engine.h"
#include "frontends/resp/command_table.h"
#include "frontends/resp/context.h"
#include "frontends/resp/options.h"
#include "frontends/resp/pubsub.h"
#include "frontends/resp/session.h"
#include "runtime/buffer_ring.h"
#include "runtime/tcp.h"
#include "runtime/timer.h"

namespace redcar::resp {

class Server {
 public:
  Server(Engine& engine, ServerOptions options);
  ~Server();
  Status start();
  void stop();

  Context& context() { return ctx_; }
  ServerStats& stats() { return stats_; }
  ServerState& state() { return state_; }
  const CommandTable& commands() const { return table_; }
  const ServerOptions& options() const { return opt_; }
  uint16_t port() const { return stats_.port; }

  // A session ended (on its own thread).
  void session_closed(Session* s);

 private:
  // A new socket, on shard 0's thread.
  void accepted(int fd);
  Status make_tls();
  // Every 100 ms on shard 0's thread: INFO's instantaneous rates.
  void sample();
  // Runs fn on each shard's thread in turn and waits for it.
  void on_each_shard(const std::function<void(unsigned shard)>& fn);

  Engine& engine_;
  ServerOptions opt_;
  CommandTable table_;
  PubSub pubsub_;
  ServerStats stats_;
  ServerState state_;
  Context ctx_{engine_, opt_, table_, pubsub_, stats_, state_};
  std::unique_ptr<runtime::TcpListener> listener_;  // shard 0's thread
  std::unique_ptr<runtime::Timer> sampler_;          // shard 0's thread
  std::vector<std::unique_ptr<runtime::BufferRing>> buffers_;  // one per shard, each on its thread
  std::unique_ptr<boost::asio::ssl::context> tls_;
  std::atomic<uint64_t> next_id_{1};
  unsigned next_shard_ = 0;
  bool stopped_ = false;
  mutable std::mutex mu_;  // sessions_
  std::condition_variable all_closed_;
  std::map<uint64_t, std::weak_ptr<Session>> sessions_;
};

}  // namespace redcar::resp
