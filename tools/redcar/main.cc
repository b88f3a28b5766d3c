// The redcar server: opens the engine on the data folder, starts the front
// ends it is told to, and stops cleanly on SIGTERM/SIGINT (stop accepting,
// finish in-flight requests, flush, exit 0).
#include <CLI/CLI.hpp>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <xxhash.h>

#include "engine/api/engine.h"
#include "frontends/grpc/grpc_server.h"
#include "frontends/resp/server.h"

int main(int argc, char** argv) {
  CLI::App app{"redcar: a durable event hub (RESP, etcd v3 gRPC and native event front ends)"};
  app.set_config("--config", "", "read flags from a TOML/INI file");
  redcar::EngineOptions eo;
  std::string fsync = "always";
  std::string grpc_addr = "127.0.0.1:8519";
  std::string resp_addr = "127.0.0.1:6480";
  std::string http_addr = "127.0.0.1:9480";
  std::string log_output = "stdout";
  std::string log_level = "info";
  std::string dialect = "redis";
  redcar::resp::ServerOptions ro;
  redcar::grpcfe::GrpcOptions go;
  app.add_option("--data-dir", eo.data_dir, "data folder")->capture_default_str();
  app.add_option("-a,--grpc-addr", grpc_addr, "gRPC address (etcd v3 and redcar.v1); empty: off")->capture_default_str();
  app.add_option("--resp-addr", resp_addr, "RESP (Redis protocol) address; empty: off")->capture_default_str();
  app.add_option("--http-addr", http_addr, "HTTP metrics/health address; empty: off")->capture_default_str();
  app.add_option("--shards", eo.shards, "shards (0: one per core)")->capture_default_str();
  app.add_option("--fsync", fsync, "always | interval:MS | never")->capture_default_str();
  app.add_option("--segment-bytes", eo.segment_bytes, "segment file size")->capture_default_str();
  app.add_option("--hot-cache-bytes", eo.hot_cache_bytes, "recent log bytes kept in memory per shard")->capture_default_str();
  app.add_flag("--repair", eo.repair, "drop the log from a corrupt record on instead of refusing to start");
  app.add_option("-o,--log-output", log_output, "stdout or a file path")->capture_default_str();
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error")->capture_default_str();
  app.add_option("--requirepass", ro.requirepass, "password RESP clients must AUTH with");
  app.add_option("--resp-dialect", dialect, "redis | events (event-store verbs win where names collide)")
      ->capture_default_str();
  app.add_option("--maxclients", ro.max_clients, "most RESP clients at once")->capture_default_str();
  app.add_option("--databases", ro.databases, "RESP databases (SELECT 0 .. N-1); the etcd view is database 0's strings")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--proto-max-bulk-len", ro.parse.max_bulk_bytes, "largest RESP bulk string")->capture_default_str();
  app.add_option("--client-output-limit", ro.session.max_output_bytes,
                 "output buffered for one client before it is disconnected")->capture_default_str();
  app.add_option("--grpc-max-request-bytes", go.max_request_bytes,
                 "largest gRPC request; larger ones get INVALID_ARGUMENT")->capture_default_str();
  app.add_option("--max-txn-ops", go.max_txn_ops, "most operations in one etcd transaction")->capture_default_str();
  app.add_option("--max-watches-per-stream", go.max_watches_per_stream, "most etcd watches on one Watch stream")
      ->capture_default_str();
  app.add_option("--watch-progress-interval-ms", go.watch_progress_interval_ms,
                 "how often an idle etcd watch with progress_notify hears the revision")->capture_default_str();
  app.add_option("--tls-cert", ro.tls_cert_file, "TLS certificate chain (PEM): listeners speak TLS");
  app.add_option("--tls-key", ro.tls_key_file, "TLS private key (PEM)");
  app.add_option("--tls-client-ca", ro.tls_client_ca_file, "CA (PEM) that client certificates must be signed by");
  CLI11_PARSE(app, argc, argv);

  if (log_output == "stdout") {
    spdlog::set_default_logger(spdlog::stdout_color_mt("redcar"));
  } else {
    try {
      spdlog::set_default_logger(spdlog::basic_logger_mt("redcar", log_output));
    } catch (const spdlog::spdlog_ex& e) {
      std::fprintf(stderr, "redcar: cannot log to %s: %s\n", log_output.c_str(), e.what());
      return 2;
    }
  }
  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::flush_on(spdlog::level::info);
  if (!redcar::parse_fsync_mode(fsync, &eo.fsync, &eo.fsync_interval_ms)) {
    spdlog::error("bad --fsync '{}': want always, never or interval:MS", fsync);
    return 2;
  }
  if (dialect != "redis" && dialect != "events") {
    spdlog::error("bad --resp-dialect '{}': want redis or events", dialect);
    return 2;
  }
  ro.events_dialect = dialect == "events";
  ro.address = resp_addr;

  spdlog::info("redcar starting: data {}, fsync {}", eo.data_dir, fsync);
  auto engine = redcar::Engine::open(eo);
  if (!engine) {
    spdlog::error("cannot open {}: {}", eo.data_dir, engine.status().to_string());
    return 1;
  }
  auto& e = **engine;
  spdlog::info("engine open: {} shards", e.shard_count());
  for (unsigned i = 0; i < e.shard_count(); ++i) {
    const auto& r = e.recovery_report(i);
    spdlog::info("shard {} recovered: {} segments, {} records, {} bytes in {:.3f} s{}{}", i, r.segments, r.records,
                 r.bytes_scanned, r.seconds, r.truncated_bytes ? ", torn tail truncated" : "",
                 r.repaired.empty() ? "" : ", repaired: " + r.repaired);
  }
  std::unique_ptr<redcar::resp::Server> resp;
  if (!resp_addr.empty()) {
    resp = std::make_unique<redcar::resp::Server>(e, ro);
    if (auto s = resp->start(); !s) {
      spdlog::error("{}", s.to_string());
      return 1;
    }
    spdlog::info("RESP listening on {} (port {})", resp_addr, resp->port());
    resp->state().shutdown = [] {
      spdlog::info("SHUTDOWN asked by a client");
      std::raise(SIGTERM);
    };
  }
  std::unique_ptr<redcar::grpcfe::GrpcServer> grpc;
  if (!grpc_addr.empty()) {
    go.address = grpc_addr;
    go.tls_cert_file = ro.tls_cert_file;
    go.tls_key_file = ro.tls_key_file;
    go.tls_client_ca_file = ro.tls_client_ca_file;
    // Stable across restarts of the same data folder, different between folders.
    std::error_code ec;
    std::string where = std::filesystem::weakly_canonical(eo.data_dir, ec).string();
    go.member_id = XXH64(where.data(), where.size(), 1) | 1;
    go.cluster_id = XXH64(where.data(), where.size(), 2) | 1;
    grpc = std::make_unique<redcar::grpcfe::GrpcServer>(e, go);
    if (auto s = grpc->start(); !s) {
      spdlog::error("{}", s.to_string());
      if (resp) resp->stop();
      return 1;
    }
    spdlog::info("gRPC listening on {} (port {})", grpc_addr, grpc->port());
  }

  boost::asio::io_context main_ctx;
  boost::asio::signal_set signals(main_ctx, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int sig) { spdlog::info("signal {}: stopping", sig); });
  std::signal(SIGPIPE, SIG_IGN);
  main_ctx.run();

  if (resp) resp->stop();
  if (grpc) grpc->stop();
  e.stop();
  spdlog::info("redcar stopped cleanly");
  return 0;
}
