#include "frontends/resp/server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <chrono>
#include <future>

namespace redcar::resp {

bool split_host_port(const std::string& addr, std::string* host, uint16_t* port) {
  auto colon = addr.rfind(':');
  if (colon == std::string::npos) return false;
  std::string h = addr.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  int64_t p;
  if (!parse_int(std::string_view(addr).substr(colon + 1), &p) || p < 0 || p > 65535) return false;
  *host = h.empty() ? "127.0.0.1" : h;
  *port = static_cast<uint16_t>(p);
  return true;
}

Server::Server(Engine& engine, ServerOptions options) : engine_(engine), opt_(std::move(options)) {}

Server::~Server() { stop(); }

Status Server::make_tls() {
  if (opt_.tls_cert_file.empty() && opt_.tls_key_file.empty()) return Status::ok();
  boost::system::error_code ec;
  tls_ = std::make_unique<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
  tls_->set_options(boost::asio::ssl::context::default_workarounds | boost::asio::ssl::context::no_sslv2 |
                    boost::asio::ssl::context::no_sslv3 | boost::asio::ssl::context::no_tlsv1 |
                    boost::asio::ssl::context::no_tlsv1_1);
  tls_->use_certificate_chain_file(opt_.tls_cert_file, ec);
  if (!ec) tls_->use_private_key_file(opt_.tls_key_file, boost::asio::ssl::context::pem, ec);
  if (ec) return Status(Code::kInvalidArgument, "TLS certificate/key: " + ec.message());
  if (!opt_.tls_client_ca_file.empty()) {
    tls_->load_verify_file(opt_.tls_client_ca_file, ec);
    if (ec) return Status(Code::kInvalidArgument, "TLS client CA " + opt_.tls_client_ca_file + ": " + ec.message());
    tls_->set_verify_mode(boost::asio::ssl::verify_peer | boost::asio::ssl::verify_fail_if_no_peer_cert);
  }
  return Status::ok();
}

Status Server::start() {
  std::string host;
  uint16_t port;
  if (!split_host_port(opt_.address, &host, &port)) {
    return Status(Code::kInvalidArgument, "bad RESP address '" + opt_.address + "' (want HOST:PORT)");
  }
  if (Status s = make_tls(); !s) return s;
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(host, ec);
  if (ec) return Status(Code::kInvalidArgument, "bad RESP host '" + host + "': " + ec.message());
  boost::asio::ip::tcp::endpoint ep(addr, port);
  acceptor_ = std::make_unique<boost::asio::ip::tcp::acceptor>(engine_.context(0));
  acceptor_->open(ep.protocol(), ec);
  if (!ec) acceptor_->set_option(boost::asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_->bind(ep, ec);
  if (!ec) acceptor_->listen(1024, ec);
  if (ec) return Status(Code::kUnavailable, "RESP listener on " + opt_.address + ": " + ec.message());
  stats_.port = acceptor_->local_endpoint().port();
  stats_.started_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  boost::asio::post(engine_.context(0), [this] { accept(); });
  return Status::ok();
}

void Server::accept() {
  if (!acceptor_ || !acceptor_->is_open()) return;
  unsigned shard = next_shard_++ % engine_.shard_count();
  auto& ctx = engine_.context(shard);
  acceptor_->async_accept(ctx, [this, &ctx](boost::system::error_code ec, boost::asio::ip::tcp::socket sock) {
    if (ec == boost::asio::error::operation_aborted) return;
    if (!ec) {
      stats_.connections_received++;
      if (static_cast<size_t>(stats_.connected_clients.load()) >= opt_.max_clients) {
        stats_.rejected_connections++;
        // Redis's own words, then close: the client knows why.
        static const std::string kMsg = "-ERR max number of clients reached\r\n";
        boost::system::error_code wec;
        sock.write_some(boost::asio::buffer(kMsg), wec);
        sock.close(wec);
      } else {
        stats_.connected_clients++;
        auto s = std::make_shared<Session>(*this, std::move(sock), next_id_++, tls_.get());
        {
          std::lock_guard lk(mu_);
          sessions_[s->id] = s;
        }
        boost::asio::post(ctx, [s] { s->start(); });
      }
    }
    accept();
  });
}

void Server::stop() {
  if (acceptor_) {
    std::promise<void> done;
    auto fut = done.get_future();
    boost::asio::post(engine_.context(0), [this, &done] {
      boost::system::error_code ec;
      acceptor_->close(ec);
      done.set_value();
    });
    fut.wait_for(std::chrono::seconds(5));
  }
  std::map<uint64_t, std::weak_ptr<Session>> sessions;
  {
    std::lock_guard lk(mu_);
    sessions = sessions_;
  }
  for (auto& [id, w] : sessions) {
    auto s = w.lock();
    if (!s) continue;
    // Each session is closed on its own thread.
    std::promise<void> closed;
    auto fut = closed.get_future();
    boost::asio::post(s->executor(), [s, &closed] {
      s->close();
      closed.set_value();
    });
    fut.wait_for(std::chrono::seconds(5));
  }
  acceptor_.reset();
}

void Server::session_closed(Session* s) {
  stats_.connected_clients--;
  pubsub_.forget(*s);
  std::lock_guard lk(mu_);
  sessions_.erase(s->id);
}

}  // namespace redcar::resp
