#include "frontends/resp/server.h"

#include <spdlog/spdlog.h>

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <future>

namespace redcar::resp {

namespace {
// Receive buffers of each shard's ring: enough for every connection of a
// busy shard to have a read in hand, and large enough for a pipeline.
constexpr uint16_t kBufferGroup = 1;
constexpr unsigned kBufferCount = 1024;
constexpr unsigned kBufferBytes = 16384;
}  // namespace

Server::Server(Engine& engine, ServerOptions options)
    : engine_(engine), opt_(std::move(options)), state_(opt_, engine.options(), table_) {}

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

void Server::on_each_shard(const std::function<void(unsigned)>& fn) {
  for (unsigned i = 0; i < engine_.shard_count(); ++i) {
    auto done = std::make_shared<std::promise<void>>();
    auto fut = done->get_future();
    engine_.context(i).post([&fn, done, i] {
      fn(i);
      done->set_value();
    });
    // A shard already stopped (the engine went first) never runs it.
    if (fut.wait_for(std::chrono::seconds(10)) != std::future_status::ready) return;
  }
}

Status Server::start() {
  std::string host;
  uint16_t port;
  if (!runtime::split_host_port(opt_.address, &host, &port)) {
    return Status(Code::kInvalidArgument, "bad RESP address '" + opt_.address + "' (want HOST:PORT)");
  }
  if (Status s = make_tls(); !s) return s;
  // Each shard's receive buffers, registered on its own thread.
  buffers_.resize(engine_.shard_count());
  int rc = 0;
  on_each_shard([&](unsigned i) {
    int r = runtime::BufferRing::create(engine_.context(i), kBufferGroup, kBufferCount, kBufferBytes, &buffers_[i]);
    if (r < 0) rc = r;
  });
  if (rc < 0) return Status::from_errno(rc, "io_uring buffer ring");
  std::promise<int> opened;
  engine_.context(0).post([&] {
    opened.set_value(runtime::TcpListener::open(engine_.context(0), host, port, [this](int fd) { accepted(fd); },
                                                &listener_));
  });
  rc = opened.get_future().get();
  if (rc == -EINVAL) return Status(Code::kInvalidArgument, "bad RESP host '" + host + "'");
  if (rc < 0) return Status::from_errno(rc, "RESP listener on " + opt_.address);
  engine_.context(0).post([this] {
    sampler_ = std::make_unique<runtime::Timer>(engine_.context(0));
    sample();
  });
  stats_.port = listener_->port();
  stats_.started_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  return Status::ok();
}

void Server::sample() {
  state_.sample();
  sampler_->start(std::chrono::milliseconds(100), [this] { sample(); });
}

void Server::accepted(int fd) {
  stats_.connections_received++;
  if (stats_.connected_clients.load() >= state_.max_clients.load(std::memory_order_relaxed)) {
    stats_.rejected_connections++;
    // Redis's own words, then close: the client knows why.
    static const std::string kMsg = "-ERR max number of clients reached\r\n";
    ssize_t n = ::send(fd, kMsg.data(), kMsg.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)n;
    ::close(fd);
    return;
  }
  stats_.connected_clients++;
  unsigned shard = next_shard_++ % engine_.shard_count();
  uint64_t id = next_id_++;
  engine_.context(shard).post([this, shard, fd, id] {
    auto s = std::make_shared<Session>(*this, engine_.context(shard), *buffers_[shard], fd, id,
                                       tls_ ? tls_->native_handle() : nullptr);
    {
      std::lock_guard lk(mu_);
      sessions_[id] = s;
    }
    state_.clients.add(s);
    s->start();
  });
}

void Server::stop() {
  if (stopped_ || buffers_.empty()) return;
  stopped_ = true;
  if (listener_) {
    auto done = std::make_shared<std::promise<void>>();
    auto fut = done->get_future();
    engine_.context(0).post([this, done] { listener_->close([done] { done->set_value(); }); });
    fut.wait_for(std::chrono::seconds(10));
  }
  std::map<uint64_t, std::weak_ptr<Session>> sessions;
  {
    std::lock_guard lk(mu_);
    sessions = sessions_;
  }
  // Each session is closed on its own thread, and leaves once its socket is
  // idle (moments after).
  for (auto& [id, w] : sessions) {
    if (auto s = w.lock()) s->loop().post([s] { s->close(); });
  }
  {
    std::unique_lock lk(mu_);
    all_closed_.wait_for(lk, std::chrono::seconds(10), [this] { return sessions_.empty(); });
  }
  on_each_shard([this](unsigned i) {
    if (i == 0) {
      listener_.reset();
      sampler_.reset();
    }
    buffers_[i].reset();
  });
}

void Server::session_closed(Session* s) {
  stats_.connected_clients--;
  pubsub_.forget(*s);
  state_.clients.remove(s->id);
  std::lock_guard lk(mu_);
  sessions_.erase(s->id);
  if (sessions_.empty()) all_closed_.notify_all();
}

}  // namespace redcar::resp
