// The server a verb talks to: the -e URL (http://HOST:PORT, https://HOST:PORT
// or a plain HOST:PORT), the TLS files, the unary-call timeout, and the gRPC
// channel built from them. One Connection per process; not thread-safe.
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace redcar::ctl {

inline constexpr const char* kDefaultEndpoint = "http://127.0.0.1:8519";

struct EndpointOptions {
  std::string url = kDefaultEndpoint;
  std::string cacert_file;  // CA to trust (https); empty: the system's roots
  std::string cert_file;    // client certificate (PEM), for servers that require one
  std::string key_file;     // its private key (PEM)
  std::string timeout = "10s";
};

struct Endpoint {
  std::string target;  // HOST:PORT, as gRPC dials it
  bool tls = false;
};

// "http://h:p", "https://h:p", "h:p"; a missing port is 8519. False and a
// message on a malformed URL.
bool parse_endpoint(std::string_view url, Endpoint* out, std::string* error);

// "500ms", "5s", "2m", "1h", or a bare number of seconds ("1.5").
bool parse_duration_ms(std::string_view text, int64_t* ms);

class Connection {
 public:
  // Reads the TLS files and checks the URL; nothing is dialled yet. Null and
  // a message when something is wrong.
  static std::unique_ptr<Connection> open(const EndpointOptions& options, std::string* error);

  const Endpoint& endpoint() const { return endpoint_; }

  // The channel, created on first use.
  std::shared_ptr<grpc::Channel> channel();
  // Drops the channel: the next call dials afresh instead of waiting out
  // gRPC's own reconnect backoff.
  void reset();

  // A deadline of --timeout from now, for unary calls.
  void set_deadline(grpc::ClientContext& context) const;
  std::chrono::milliseconds timeout() const { return std::chrono::milliseconds(timeout_ms_); }

 private:
  Endpoint endpoint_;
  std::string root_pem_, cert_pem_, key_pem_;
  int64_t timeout_ms_ = 10000;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace redcar::ctl
