#include "frontends/grpc/grpc_server.h"

#include <absl/synchronization/mutex.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>
#include <spdlog/spdlog.h>

#include <climits>
#include <fstream>
#include <sstream>
#include <thread>

#include "frontends/grpc/etcd_kv_service.h"
#include "frontends/grpc/etcd_maintenance_service.h"
#include "frontends/grpc/etcd_watch_service.h"
#include "frontends/grpc/event_service.h"

namespace redcar::grpcfe {

struct GrpcServer::Services {
  explicit Services(ServiceContext& ctx) : kv(ctx), watch(ctx), maintenance(ctx), cluster(ctx), events(ctx) {}
  etcd::KvService kv;
  etcd::WatchService watch;
  etcd::MaintenanceService maintenance;
  etcd::ClusterService cluster;
  EventService events;
};

namespace {

bool read_file(const std::string& path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::stringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return true;
}

}  // namespace

GrpcServer::GrpcServer(Engine& engine, GrpcOptions options) : ctx_{engine, std::move(options)} {}

GrpcServer::~GrpcServer() { stop(0); }

Status GrpcServer::start() {
  // Debian's abseil tracks lock order on every mutex grpc takes, to report
  // deadlocks: a few percent of each call's CPU, for a check that belongs
  // in a debug build.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const GrpcOptions& opt = ctx_.options;
  std::shared_ptr<grpc::ServerCredentials> creds;
  if (!opt.tls_cert_file.empty() || !opt.tls_key_file.empty()) {
    grpc::SslServerCredentialsOptions ssl;
    grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
    if (!read_file(opt.tls_cert_file, &pair.cert_chain)) {
      return Status(Code::kInvalidArgument, "cannot read TLS certificate " + opt.tls_cert_file);
    }
    if (!read_file(opt.tls_key_file, &pair.private_key)) {
      return Status(Code::kInvalidArgument, "cannot read TLS key " + opt.tls_key_file);
    }
    ssl.pem_key_cert_pairs.push_back(std::move(pair));
    if (!opt.tls_client_ca_file.empty()) {
      if (!read_file(opt.tls_client_ca_file, &ssl.pem_root_certs)) {
        return Status(Code::kInvalidArgument, "cannot read TLS client CA " + opt.tls_client_ca_file);
      }
      ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
    }
    creds = grpc::SslServerCredentials(ssl);
  } else {
    creds = grpc::InsecureServerCredentials();
  }
  services_ = std::make_unique<Services>(ctx_);
  grpc::ServerBuilder b;
  int port = 0;
  b.AddListeningPort(opt.address, creds, &port);
  // A second server on the same port must fail, not share it.
  b.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // grpc takes an int: a limit of 2 GiB or more means no transport limit.
  size_t transport_limit = opt.max_request_bytes + kTransportSlackBytes;
  b.SetMaxReceiveMessageSize(transport_limit >= static_cast<size_t>(INT_MAX) ? -1 : static_cast<int>(transport_limit));
  b.RegisterService(&services_->kv);
  b.RegisterService(&services_->watch);
  b.RegisterService(&services_->maintenance);
  b.RegisterService(&services_->cluster);
  b.RegisterService(&services_->events);
  server_ = b.BuildAndStart();
  if (!server_ || port == 0) {
    server_.reset();
    return Status(Code::kUnavailable, "gRPC listener on " + opt.address + ": cannot bind (address in use or invalid)");
  }
  port_ = static_cast<uint16_t>(port);
  if (ctx_.options.advertise_url.empty()) {
    bool tls = !opt.tls_cert_file.empty() || !opt.tls_key_file.empty();
    std::string host = opt.address.substr(0, opt.address.rfind(':'));
    ctx_.options.advertise_url = (tls ? "https://" : "http://") + host + ":" + std::to_string(port_);
  }
  return Status::ok();
}

void GrpcServer::stop(uint32_t grace_ms) {
  if (!server_) return;
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(grace_ms));
  server_->Wait();
  // Sessions end on their shards' threads after grpc is done with them:
  // wait for the last, so none is left behind when the engine stops.
  for (int i = 0; i < 5000 && ctx_.live_sessions.load() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (ctx_.live_sessions.load() > 0) spdlog::warn("gRPC: {} streaming sessions still ending", ctx_.live_sessions.load());
  server_.reset();
}

}  // namespace redcar::grpcfe
