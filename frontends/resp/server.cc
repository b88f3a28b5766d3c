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

Status Server::start() {
  std::string host;
  uint16_t port;
  if (!split_host_port(opt_.address, &host, &port)) {
    return Status(Code::kInvalidArgument, "bad RESP address '" + opt_.address + "' (want HOST:PORT)");
  }
  boost::system::error_code ec;
  if (!opt_.tls_cert_file.empty() || !opt_.tls_key_file.empty()) {
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
  }
  auto addr = boost::asio::ip::make_address(host, ec);
  if (ec) return Status(Code::kInvalidArgument, "bad RESP host '" + host + "': " + ec.message());
  boost::asio::ip::tcp::endpoint ep(addr, port);
  acceptor_ = std::make_unique<boost::asio::ip::tcp::acceptor>(engine_.context(0));
  acceptor_->open(ep.protocol(), ec);
  if (!ec) acceptor_->set_option(boost::asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_->bind(ep, ec);
  if (!ec) acceptor_->listen(1024, ec);
  if (ec) return Status(Code::kUnavailable, "RESP listener on " + opt_.address + ": " + ec.message());
  port_ = acceptor_->local_endpoint().port();
  started_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
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
      connections_received++;
      if (static_cast<size_t>(connected_clients.load()) >= opt_.max_clients) {
        rejected_connections++;
        // Redis's own words, then close: the client knows why.
        static const std::string kMsg = "-ERR max number of clients reached\r\n";
        boost::system::error_code wec;
        sock.write_some(boost::asio::buffer(kMsg), wec);
        sock.close(wec);
      } else {
        connected_clients++;
        auto s = std::make_shared<Session>(*this, std::move(sock), next_id_++, tls_.get());
        {
          std::lock_guard lk(mu_);
          sessions_[s->id()] = s;
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
  connected_clients--;
  std::lock_guard lk(mu_);
  sessions_.erase(s->id());
  for (auto& c : s->channels) {
    auto it = channels_.find(c);
    if (it != channels_.end()) {
      it->second.erase(s->id());
      if (it->second.empty()) channels_.erase(it);
    }
  }
  for (auto& p : s->patterns) {
    auto it = patterns_.find(p);
    if (it != patterns_.end()) {
      it->second.erase(s->id());
      if (it->second.empty()) patterns_.erase(it);
    }
  }
}

size_t Server::publish(const std::string& channel, const std::string& message) {
  std::vector<std::pair<std::shared_ptr<Session>, std::string>> targets;  // session, pattern ("" for channel)
  {
    std::lock_guard lk(mu_);
    if (auto it = channels_.find(channel); it != channels_.end()) {
      for (auto& [id, w] : it->second) {
        if (auto s = w.lock()) targets.push_back({s, {}});
      }
    }
    for (auto& [pat, subs] : patterns_) {
      if (!glob_match(pat, channel)) continue;
      for (auto& [id, w] : subs) {
        if (auto s = w.lock()) targets.push_back({s, pat});
      }
    }
  }
  for (auto& [s, pat] : targets) {
    auto sess = s;
    auto send = [sess, pat = pat, channel, message] {
      std::string bytes;
      ReplyWriter w(bytes, sess->protocol);
      if (pat.empty()) {
        w.push(3);
        w.bulk("message");
      } else {
        w.push(4);
        w.bulk("pmessage");
        w.bulk(pat);
      }
      w.bulk(channel);
      w.bulk(message);
      sess->push(std::move(bytes));
    };
    boost::asio::post(sess->executor(), send);
  }
  return targets.size();
}

void Server::subscribe(const std::shared_ptr<Session>& s, const std::string& channel, bool pattern) {
  std::lock_guard lk(mu_);
  (pattern ? patterns_ : channels_)[channel][s->id()] = s;
}

void Server::unsubscribe(Session* s, const std::string& channel, bool pattern) {
  std::lock_guard lk(mu_);
  auto& m = pattern ? patterns_ : channels_;
  auto it = m.find(channel);
  if (it == m.end()) return;
  it->second.erase(s->id());
  if (it->second.empty()) m.erase(it);
}

size_t Server::channel_count() const {
  std::lock_guard lk(mu_);
  return channels_.size();
}

void Server::dispatch(const ReplyPtr& reply, Args args, const Command* cmd) {
  Session& s = reply->session();
  if (!cmd) {
    // Redis's wording: arguments are listed until the list passes 128 bytes.
    std::string msg = "ERR unknown command '" + std::string(args[0].substr(0, 128)) + "', with args beginning with: ";
    std::string listed;
    for (size_t i = 1; i < args.size() && listed.size() < 128; ++i) {
      listed += "'" + std::string(args[i].substr(0, 128 - listed.size())) + "' ";
    }
    msg += listed;
    return reply_error(*reply, msg);
  }
  if ((cmd->arity > 0 && static_cast<int>(args.size()) != cmd->arity) ||
      (cmd->arity < 0 && static_cast<int>(args.size()) < -cmd->arity)) {
    return reply_wrong_arity(*reply, lower(args[0]));
  }
  if (!s.authenticated && !(cmd->flags & kNoAuth)) return reply_error(*reply, "NOAUTH Authentication required.");
  if (s.subscribed() && s.protocol == 2 && !(cmd->flags & kPubSubOk)) {
    return reply_error(*reply, "ERR Can't execute '" + lower(args[0]) +
                                   "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context");
  }
  cmd->handler(*this, reply, args);
}

bool glob_match(std::string_view p, std::string_view s, bool nocase) {
  auto eq = [nocase](char a, char b) {
    return nocase ? std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b)) : a == b;
  };
  size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (pi < p.size() && p[pi] == '?') {
      ++pi;
      ++si;
    } else if (pi < p.size() && p[pi] == '[') {
      size_t j = pi + 1;
      bool neg = j < p.size() && p[j] == '^';
      if (neg) ++j;
      bool match = false;
      while (j < p.size() && p[j] != ']') {
        if (p[j] == '\\' && j + 1 < p.size()) {
          match |= eq(p[j + 1], s[si]);
          j += 2;
        } else if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
          char lo = p[j], hi = p[j + 2];
          if (lo > hi) std::swap(lo, hi);
          match |= s[si] >= lo && s[si] <= hi;
          j += 3;
        } else {
          match |= eq(p[j], s[si]);
          ++j;
        }
      }
      if (match != neg && j < p.size()) {
        pi = j + 1;
        ++si;
      } else if (star != std::string_view::npos) {
        pi = star + 1;
        si = ++mark;
      } else {
        return false;
      }
    } else if (pi < p.size() && p[pi] == '\\' && pi + 1 < p.size() && eq(p[pi + 1], s[si])) {
      pi += 2;
      ++si;
    } else if (pi < p.size() && eq(p[pi], s[si])) {
      ++pi;
      ++si;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

}  // namespace redcar::resp
