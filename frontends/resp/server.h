// The RESP listener: accepts connections on shard 0's loop and hands each
// to a shard's loop round-robin, owns the command table, the options, the
// counters INFO reports, and the pub/sub registry shared by all sessions.
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "engine/api/engine.h"
#include "frontends/resp/command_table.h"
#include "frontends/resp/session.h"

namespace redcar::resp {

struct ServerOptions {
  std::string address = "127.0.0.1:6480";
  bool events_dialect = false;  // --resp-dialect events: event-store verbs win
  std::string requirepass;
  size_t max_clients = 10000;
  ParseLimits parse;
  SessionLimits session;
  // TLS: with a certificate and key the listener speaks TLS only; with a
  // client CA it also requires a client certificate signed by it.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
};

// Splits "HOST:PORT" / "[::1]:PORT".
bool split_host_port(const std::string& addr, std::string* host, uint16_t* port);

class Server {
 public:
  Server(Engine& engine, ServerOptions options);
  ~Server();
  Status start();
  void stop();

  Engine& engine() { return engine_; }
  const CommandTable& commands() const { return table_; }
  const ServerOptions& options() const { return opt_; }
  uint16_t port() const { return port_; }
  int64_t started_ms() const { return started_ms_; }

  // Runs one command; `cmd` is its table entry (null: unknown command).
  void dispatch(const ReplyPtr& reply, Args args, const Command* cmd);
  void session_closed(Session* s);

  // Pub/sub across sessions (and shards): a small registry under a mutex;
  // publishing is not on the storage path.
  size_t publish(const std::string& channel, const std::string& message);
  void subscribe(const std::shared_ptr<Session>& s, const std::string& channel, bool pattern);
  void unsubscribe(Session* s, const std::string& channel, bool pattern);
  size_t channel_count() const;

  std::atomic<uint64_t> connections_received{0};
  std::atomic<uint64_t> commands_processed{0};
  std::atomic<uint64_t> rejected_connections{0};
  std::atomic<int64_t> connected_clients{0};

 private:
  void accept();

  Engine& engine_;
  ServerOptions opt_;
  CommandTable table_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  uint16_t port_ = 0;
  std::atomic<uint64_t> next_id_{1};
  unsigned next_shard_ = 0;
  int64_t started_ms_ = 0;
  mutable std::mutex mu_;  // sessions_, subs_
  std::map<uint64_t, std::weak_ptr<Session>> sessions_;
  std::map<std::string, std::map<uint64_t, std::weak_ptr<Session>>> channels_;
  std::map<std::string, std::map<uint64_t, std::weak_ptr<Session>>> patterns_;
};

bool glob_match(std::string_view pattern, std::string_view text, bool nocase = false);

}  // namespace redcar::resp
