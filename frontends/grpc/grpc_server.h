// The gRPC listener: one grpc::Server (grpc++'s callback API, its own
// threads) serving the etcd v3 services (KV, Watch, Maintenance, Cluster) and
// the native redcar.v1.Events service on one address, in plain text or TLS
// (optionally requiring client certificates). Each call is handed to the
// shard that owns its stream or key and answered from the engine's
// completion; streaming calls write one message at a time and ask the
// engine for more only once it is written, so a slow reader holds the
// server to a bounded amount of memory.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "engine/api/engine.h"

namespace grpc {
class Server;
}

namespace redcar::grpcfe {

struct GrpcOptions {
  std::string address = "127.0.0.1:8519";
  // TLS: with a certificate and key the listener speaks TLS only; with a
  // client CA it also requires a client certificate signed by it.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  // A request larger than this is refused with INVALID_ARGUMENT, as etcd's
  // --max-request-bytes does; the transport refuses (RESOURCE_EXHAUSTED)
  // what exceeds it by more than kTransportSlackBytes.
  size_t max_request_bytes = 4u << 20;
  // etcd's --max-txn-ops.
  size_t max_txn_ops = 128;
  // How often a watch created with progress_notify hears the revision when
  // nothing happened (etcd's default is ten minutes).
  uint32_t watch_progress_interval_ms = 600000;
  size_t max_watches_per_stream = 10000;
  // The URL clients reach this member at, for MemberList.
  std::string advertise_url;
  // Identifies this server in etcd response headers; 0: derived from the
  // data folder, so it is stable across restarts.
  uint64_t member_id = 0;
  uint64_t cluster_id = 0;
};

inline constexpr size_t kTransportSlackBytes = 512u << 10;

// What every service needs: the engine, the options, and the count of
// streaming sessions still alive (a stopping server waits for it to drop).
struct ServiceContext {
  Engine& engine;
  GrpcOptions options;
  std::atomic<int64_t> live_sessions{0};
};

class GrpcServer {
 public:
  GrpcServer(Engine& engine, GrpcOptions options);
  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // Binds and starts serving. kInvalidArgument for a bad address or TLS
  // files, kUnavailable when the address cannot be bound.
  Status start();
  // Refuses new calls, lets unary calls finish, cancels streams still open
  // after `grace_ms`, and waits until every call is done. Idempotent.
  void stop(uint32_t grace_ms = 1000);
  uint16_t port() const { return port_; }

 private:
  struct Services;
  ServiceContext ctx_;
  std::unique_ptr<Services> services_;
  std::unique_ptr<grpc::Server> server_;
  uint16_t port_ = 0;
};

}  // namespace redcar::grpcfe
