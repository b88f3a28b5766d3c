// The RESP listener: accepts connections on shard 0's loop and hands each
// to a shard's loop round-robin. It owns what every connection shares — the
// options, the command table, pub/sub and the counters — as the Context
// commands run with.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
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

namespace redcar::resp {

// Splits "HOST:PORT" / "[::1]:PORT".
bool split_host_port(const std::string& addr, std::string* host, uint16_t* port);

class Server {
 public:
  Server(Engine& engine, ServerOptions options);
  ~Server();
  Status start();
  void stop();

  Context& context() { return ctx_; }
  ServerStats& stats() { return stats_; }
  const CommandTable& commands() const { return table_; }
  const ServerOptions& options() const { return opt_; }
  uint16_t port() const { return stats_.port; }

  // A session ended (on its own thread).
  void session_closed(Session* s);

 private:
  void accept();
  Status make_tls();

  Engine& engine_;
  ServerOptions opt_;
  CommandTable table_;
  PubSub pubsub_;
  ServerStats stats_;
  Context ctx_{engine_, opt_, table_, pubsub_, stats_};
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  std::atomic<uint64_t> next_id_{1};
  unsigned next_shard_ = 0;
  mutable std::mutex mu_;  // sessions_
  std::map<uint64_t, std::weak_ptr<Session>> sessions_;
};

}  // namespace redcar::resp
