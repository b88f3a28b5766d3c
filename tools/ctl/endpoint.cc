// Endpoint parsing and the gRPC channel (plain or TLS, with the client
// certificate when given).
#include "tools/ctl/endpoint.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

namespace redcar::ctl {

namespace {

constexpr int kDefaultPort = 8519;
// How gRPC redials a lost connection by itself between our own retries.
constexpr int kReconnectBackoffInitialMs = 100;
constexpr int kReconnectBackoffMaxMs = 5000;

bool read_file(const std::string& path, std::string* out, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot read " + path;
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

}  // namespace

bool parse_endpoint(std::string_view url, Endpoint* out, std::string* error) {
  Endpoint e;
  std::string_view rest = url;
  if (rest.starts_with("https://")) {
    e.tls = true;
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.find("://") != std::string_view::npos) {
    *error = "endpoint '" + std::string(url) + "': only http:// and https:// are understood";
    return false;
  }
  while (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.empty() || rest.find('/') != std::string_view::npos) {
    *error = "endpoint '" + std::string(url) + "': want HOST:PORT, http://HOST:PORT or https://HOST:PORT";
    return false;
  }
  // The port follows the last colon, after a bracketed IPv6 address if any.
  size_t host_end = rest.starts_with('[') ? rest.find(']') : std::string_view::npos;
  size_t colon = rest.rfind(':');
  bool has_port = colon != std::string_view::npos && (host_end == std::string_view::npos || colon > host_end);
  if (has_port) {
    std::string_view port = rest.substr(colon + 1);
    int value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || p != port.data() + port.size() || value <= 0 || value > 65535 || colon == 0) {
      *error = "endpoint '" + std::string(url) + "': bad port";
      return false;
    }
    e.target = std::string(rest);
  } else {
    e.target = std::string(rest) + ":" + std::to_string(kDefaultPort);
  }
  *out = std::move(e);
  return true;
}

bool parse_duration_ms(std::string_view text, int64_t* ms) {
  double scale = 1000.0;
  if (text.ends_with("ms")) {
    scale = 1.0;
    text.remove_suffix(2);
  } else if (text.ends_with('s')) {
    text.remove_suffix(1);
  } else if (text.ends_with('m')) {
    scale = 60000.0;
    text.remove_suffix(1);
  } else if (text.ends_with('h')) {
    scale = 3600000.0;
    text.remove_suffix(1);
  }
  if (text.empty()) return false;
  double value = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || p != text.data() + text.size() || !(value > 0) || !std::isfinite(value)) return false;
  *ms = static_cast<int64_t>(std::ceil(value * scale));
  return *ms > 0;
}

std::unique_ptr<Connection> Connection::open(const EndpointOptions& options, std::string* error) {
  auto c = std::make_unique<Connection>();
  if (!parse_endpoint(options.url, &c->endpoint_, error)) return nullptr;
  if (!parse_duration_ms(options.timeout, &c->timeout_ms_)) {
    *error = "--timeout '" + options.timeout + "': want a duration such as 500ms, 5s or 2m";
    return nullptr;
  }
  bool tls_files = !options.cacert_file.empty() || !options.cert_file.empty() || !options.key_file.empty();
  if (tls_files && !c->endpoint_.tls) {
    *error = "--cacert/--cert/--key need an https:// endpoint (got " + options.url + ")";
    return nullptr;
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    *error = "--cert and --key go together";
    return nullptr;
  }
  if (!options.cacert_file.empty() && !read_file(options.cacert_file, &c->root_pem_, error)) return nullptr;
  if (!options.cert_file.empty() && !read_file(options.cert_file, &c->cert_pem_, error)) return nullptr;
  if (!options.key_file.empty() && !read_file(options.key_file, &c->key_pem_, error)) return nullptr;
  return c;
}

std::shared_ptr<grpc::Channel> Connection::channel() {
  if (channel_) return channel_;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, kReconnectBackoffInitialMs);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, kReconnectBackoffInitialMs);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kReconnectBackoffMaxMs);
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (endpoint_.tls) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = root_pem_;
    ssl.pem_cert_chain = cert_pem_;
    ssl.pem_private_key = key_pem_;
    creds = grpc::SslCredentials(ssl);
  } else {
    creds = grpc::InsecureChannelCredentials();
  }
  channel_ = grpc::CreateCustomChannel(endpoint_.target, creds, args);
  return channel_;
}

void Connection::reset() { channel_.reset(); }

void Connection::set_deadline(grpc::ClientContext& context) const {
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms_));
}

}  // namespace redcar::ctl
