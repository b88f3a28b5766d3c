// PUBLISH connections and SUBSCRIBE connections on boost.asio
// (resp_pubsub_client.h).
#include "resp_pubsub_client.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "clock.h"
#include "resp_pipeline.h"

namespace redcar::load {

namespace pubsub {

resp::Parse read_push(std::string_view in, Push* push, size_t* consumed) {
  resp::Reply reply;
  resp::Reply e[3];
  const resp::Parse p = resp::parse_elements(in, &reply, e, 3, consumed);
  *push = Push{};
  if (p != resp::Parse::kComplete) return p;
  if (reply.is_error) {
    push->kind = Push::Kind::kError;
    push->payload = reply.text;
    return p;
  }
  if ((reply.type != '*' && reply.type != '>') || reply.elements != 3) return p;
  if (e[0].text == "message" && e[1].type == '$' && e[2].type == '$') {
    push->kind = Push::Kind::kMessage;
    push->channel = e[1].text;
    push->payload = e[2].text;
    if (push->payload.size() >= kSendTimeBytes) std::memcpy(&push->send_ns, push->payload.data(), kSendTimeBytes);
  } else if (e[0].text == "subscribe" && e[1].type == '$') {
    push->kind = Push::Kind::kSubscribe;
    push->channel = e[1].text;
  }
  return p;
}

// Host byte order, as the native workload stamps its events: the reader is
// this same process.
void stamp_send_time(char* payload, int64_t send_ns) { std::memcpy(payload, &send_ns, kSendTimeBytes); }

}  // namespace pubsub

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using pubsub::Push;

// What one read of a subscriber may take in. Shared by the loop's
// subscribers, so it can be large without costing per connection.
constexpr size_t kLoopBuffer = 256 * 1024;
constexpr int kSubscribeTimeoutMs = 30'000;
constexpr int kReadyBatch = 256;  // subscribers taken per epoll_wait

// One event loop, and its subscribers in an epoll set of their own that
// the loop watches as one descriptor. Why not a socket wait per subscriber:
// asio re-arms each wait with an epoll_ctl, a system call per delivery
// when messages come one at a time; here one wake-up serves every
// subscriber that is ready, each with a single read (level-triggered: what
// a read leaves is reported again). The subscribers are read one at a time
// on the loop's thread, so they share one large buffer and each keeps only
// the cut-off start of a message between reads.
struct Loop {
  Loop() : ready(io) {}
  asio::io_context io{1};
  asio::posix::stream_descriptor ready;  // the epoll set
  std::vector<char> buf;
  std::vector<epoll_event> events = std::vector<epoll_event>(kReadyBatch);
};

struct Subscriber {
  explicit Subscriber(Loop& l) : loop(l) {}
  ~Subscriber() {
    if (fd >= 0) ::close(fd);
  }
  Loop& loop;
  int fd = -1;       // taken from asio once connected: the loop's epoll set reads it
  std::string tail;  // the start of a reply the last read cut off
  std::atomic<uint64_t> received{0};
  std::atomic<bool> subscribed{false};
  std::atomic<bool> dead{false};
  std::string dead_reason;  // written before `dead`
};

std::string seconds_text(int ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", ms / 1000.0);
  return buf;
}

class RespPubSubClient final : public Client {
 public:
  explicit RespPubSubClient(const Options& o) : o_(o) {}

  int slots() const override { return o_.clients * o_.pipeline; }

  std::string setup(Sink& sink) override {
    sink_ = &sink;
    boost::system::error_code ec;
    tcp::resolver resolver(setup_io_);
    const auto endpoints = resolver.resolve(o_.host, o_.port, ec);
    if (ec) return "resolve " + o_.addr + ": " + ec.message();

    std::random_device rd;
    const uint64_t nonce = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(now_ns());
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(nonce));
    channel_ = o_.prefix + "pubsub-" + hex;
    std::string subscribe;
    resp::append_command(subscribe, {"SUBSCRIBE", channel_});

    const int loops = std::min(o_.threads, o_.clients + o_.subscribers);
    // Room for two whole messages, so that a read after a cut-off one
    // always has space.
    const size_t buf_bytes = std::max(kLoopBuffer, 2 * (static_cast<size_t>(o_.value_bytes) + channel_.size() + 64));
    for (int t = 0; t < loops; ++t) {
      loops_.push_back(std::make_unique<Loop>());
      loops_.back()->buf.resize(buf_bytes);
      const int ep = epoll_create1(EPOLL_CLOEXEC);
      if (ep < 0) return std::string("epoll_create1: ") + std::strerror(errno);
      loops_.back()->ready.assign(ep, ec);
      if (ec) return "epoll descriptor: " + ec.message();
    }
    auto loop_for = [&](int i) -> Loop& { return *loops_[static_cast<size_t>(i % loops)]; };

    for (int i = 0; i < o_.subscribers; ++i) {
      auto s = std::make_unique<Subscriber>(loop_for(i));
      tcp::socket sock(setup_io_);
      asio::connect(sock, endpoints, ec);
      if (ec) return "connect " + o_.addr + " (subscriber " + std::to_string(i) + "): " + ec.message();
      asio::write(sock, asio::buffer(subscribe), ec);
      if (ec) return "SUBSCRIBE: " + ec.message();
      s->fd = sock.release(ec);
      if (ec) return "release socket: " + ec.message();
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.ptr = s.get();
      if (epoll_ctl(s->loop.ready.native_handle(), EPOLL_CTL_ADD, s->fd, &ev) != 0) {
        return std::string("epoll_ctl: ") + std::strerror(errno);
      }
      s->tail.reserve(static_cast<size_t>(o_.value_bytes) + channel_.size() + 64);
      subscribers_.push_back(std::move(s));
    }
    for (int i = 0; i < o_.clients; ++i) {
      auto p = std::make_unique<Publisher>(*this, loop_for(i));
      ec = p->pipe.connect(endpoints);
      if (ec) return "connect " + o_.addr + ": " + ec.message();
      publishers_.push_back(std::move(p));
    }

    for (auto& l : loops_) guards_.emplace_back(asio::make_work_guard(l->io));
    for (auto& l : loops_) {
      Loop* lp = l.get();
      asio::post(lp->io, [this, lp] { wait_ready(*lp); });
    }
    for (auto& p : publishers_) p->pipe.start();
    for (auto& l : loops_) threads_.emplace_back([io = &l->io] { io->run(); });

    const int64_t deadline = now_ns() + int64_t{kSubscribeTimeoutMs} * 1'000'000;
    for (auto& s : subscribers_) {
      while (!s->subscribed.load() && !s->dead.load() && now_ns() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      if (s->dead.load()) return "subscriber: " + s->dead_reason;
      if (!s->subscribed.load()) {
        return "a subscriber had no SUBSCRIBE confirmation for " + channel_ + " within " +
               seconds_text(kSubscribeTimeoutMs);
      }
    }
    facts_.emplace_back("channel", channel_ + ", " + std::to_string(o_.subscribers) + " subscriber(s)");
    return {};
  }

  void issue(int slot, int64_t start_ns) override {
    publishers_[static_cast<size_t>(slot / o_.pipeline)]->pipe.issue(slot, start_ns);
  }

  void drain(int timeout_ms) override {
    const uint64_t published = published_.load();
    const int64_t deadline = now_ns() + int64_t{timeout_ms} * 1'000'000;
    auto waiting = [&] {
      for (auto& s : subscribers_) {
        if (!s->dead.load() && s->received.load(std::memory_order_relaxed) < published) return true;
      }
      return false;
    };
    while (waiting() && now_ns() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(2));

    uint64_t delivered = 0, missing = 0, extra = 0;
    int short_subscribers = 0;
    for (auto& s : subscribers_) {
      const uint64_t got = s->received.load();
      delivered += got;
      if (got < published) {
        missing += published - got;
        ++short_subscribers;
      } else {
        extra += got - published;
      }
    }
    const uint64_t expected = published * subscribers_.size();
    if (missing > 0) {
      sink_->error(std::to_string(missing) + " of " + std::to_string(expected) + " deliveries missing " +
                   seconds_text(timeout_ms) + " after the last PUBLISH (" + std::to_string(short_subscribers) +
                   " subscriber(s) short)");
    }
    // Each PUBLISH answered counts once; more deliveries than that means a
    // message came twice (or a PUBLISH was delivered but not answered).
    if (extra > 0) sink_->error(std::to_string(extra) + " deliveries more than PUBLISH calls answered");
    facts_.emplace_back("deliveries", std::to_string(delivered) + " of " + std::to_string(published) +
                                          " message(s) x " + std::to_string(subscribers_.size()) + " subscriber(s)");
  }

  void stop() override {
    stopping_.store(true);
    for (auto& p : publishers_) p->pipe.close();
    for (auto& l : loops_) {
      Loop* lp = l.get();
      asio::post(lp->io, [lp] {
        boost::system::error_code ignored;
        lp->ready.close(ignored);
      });
    }
    guards_.clear();
    for (auto& t : threads_) t.join();
    threads_.clear();
    for (auto& s : subscribers_) {
      if (s->fd >= 0) ::close(s->fd);
      s->fd = -1;
    }

    int64_t lo = INT64_MAX, hi = -1;
    for (auto& p : publishers_) {
      lo = std::min(lo, p->min_receivers);
      hi = std::max(hi, p->max_receivers);
    }
    if (hi >= 0) {
      facts_.emplace_back("PUBLISH receivers",
                          lo == hi ? std::to_string(lo) : std::to_string(lo) + " to " + std::to_string(hi));
    }
  }

  std::vector<ExtraLatency> extra_latencies() const override { return {{"delivery", &delivery_}}; }

  std::vector<std::pair<std::string, std::string>> facts() const override { return facts_; }

 private:
  // Publishers: a connection that sends PUBLISH for its --pipeline slots.
  struct Publisher final : RespPipeline::Handler {
    Publisher(RespPubSubClient& client, Loop& loop)
        : client(client),
          pipe(loop.io, static_cast<size_t>(client.o_.pipeline), *client.sink_, client.stopping_, *this),
          payload(static_cast<size_t>(client.o_.value_bytes), 'v') {}
    void encode(std::string& out, int64_t start_ns) override { client.encode(*this, out, start_ns); }
    OpResult judge(const resp::Reply& reply) override { return client.judge(*this, reply); }

    RespPubSubClient& client;
    RespPipeline pipe;
    std::string payload;  // rewritten in place with each send time
    std::string error;    // scratch
    // What PUBLISH answered, for the facts; read only after the loops end.
    int64_t min_receivers = INT64_MAX, max_receivers = -1;
  };

  void encode(Publisher& p, std::string& out, int64_t start_ns) {
    pubsub::stamp_send_time(p.payload.data(), start_ns);
    resp::append_command(out, {"PUBLISH", channel_, p.payload});
  }

  OpResult judge(Publisher& p, const resp::Reply& r) {
    OpResult res;
    auto fail_with = [&](std::string_view what) {
      p.error.assign("PUBLISH: ");
      p.error.append(what);
      res.ok = false;
      res.events = 0;
      res.error = p.error;
      return res;
    };
    if (r.is_error) return fail_with(r.text);
    int64_t receivers = 0;
    const auto [end, ec] = std::from_chars(r.text.data(), r.text.data() + r.text.size(), receivers);
    if (r.type != ':' || ec != std::errc() || end != r.text.data() + r.text.size()) {
      return fail_with("not an integer reply");
    }
    p.min_receivers = std::min(p.min_receivers, receivers);
    p.max_receivers = std::max(p.max_receivers, receivers);
    res.bytes = p.payload.size();
    published_.fetch_add(1, std::memory_order_relaxed);
    return res;
  }

  // Subscribers.

  void wait_ready(Loop& l) {
    l.ready.async_wait(asio::posix::stream_descriptor::wait_read, [this, &l](boost::system::error_code ec) {
      if (ec) return;  // closed by stop()
      const int n = epoll_wait(l.ready.native_handle(), l.events.data(), static_cast<int>(l.events.size()), 0);
      for (int i = 0; i < n; ++i) read_once(*static_cast<Subscriber*>(l.events[static_cast<size_t>(i)].data.ptr));
      wait_ready(l);
    });
  }

  void read_once(Subscriber& s) {
    if (s.dead.load(std::memory_order_relaxed)) return;
    std::vector<char>& buf = s.loop.buf;
    const size_t kept = s.tail.size();
    // Only a reply larger than the workload's messages gets here.
    if (buf.size() < 2 * kept + kLoopBuffer / 4) buf.resize(2 * kept + kLoopBuffer);
    std::memcpy(buf.data(), s.tail.data(), kept);
    const ssize_t n = ::recv(s.fd, buf.data() + kept, buf.size() - kept, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      return fail(s, std::string("read: ") + std::strerror(errno));
    }
    if (n == 0) return fail(s, "connection closed by the server");
    const std::string_view data(buf.data(), kept + static_cast<size_t>(n));
    size_t pos = 0;
    if (!take(s, data, &pos)) return;
    s.tail.assign(data.substr(pos));
  }

  // Handles the whole replies at the front of `data`; *pos: where the
  // first incomplete one starts. False once the connection has failed.
  bool take(Subscriber& s, std::string_view data, size_t* pos) {
    uint64_t received = 0;
    while (*pos < data.size()) {
      Push push;
      size_t used = 0;
      const resp::Parse r = pubsub::read_push(data.substr(*pos), &push, &used);
      if (r == resp::Parse::kIncomplete) break;
      if (r == resp::Parse::kMalformed) {
        s.received.fetch_add(received, std::memory_order_relaxed);
        fail(s, "malformed reply");
        return false;
      }
      *pos += used;
      switch (push.kind) {
        case Push::Kind::kMessage:
          if (push.channel != channel_) {
            report("subscriber: a message on another channel");
          } else if (push.send_ns < 0) {
            report("subscriber: a message without its send time");
          } else {
            if (sink_->measured(push.send_ns)) {
              delivery_.record(static_cast<uint64_t>(std::max<int64_t>(0, now_ns() - push.send_ns)));
            }
            ++received;
          }
          break;
        case Push::Kind::kSubscribe:
          if (push.channel == channel_) {
            s.subscribed.store(true);
          } else {
            report("subscriber: a confirmation for another channel");
          }
          break;
        case Push::Kind::kError:
          // The connection sent SUBSCRIBE only: the error is its answer.
          s.received.fetch_add(received, std::memory_order_relaxed);
          fail(s, "SUBSCRIBE: " + std::string(push.payload));
          return false;
        case Push::Kind::kOther:
          report("subscriber: a reply that is neither a message nor a subscribe confirmation");
          break;
      }
    }
    s.received.fetch_add(received, std::memory_order_relaxed);
    return true;
  }

  void fail(Subscriber& s, std::string reason) {
    if (s.dead.load()) return;
    s.dead_reason = std::move(reason);
    s.dead.store(true);
    epoll_ctl(s.loop.ready.native_handle(), EPOLL_CTL_DEL, s.fd, nullptr);
    ::close(s.fd);
    s.fd = -1;
    report("subscriber: " + s.dead_reason);
  }

  void report(std::string_view what) {
    if (!stopping_.load()) sink_->error(what);
  }

  const Options o_;
  std::string channel_;
  Sink* sink_ = nullptr;
  asio::io_context setup_io_;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
  std::vector<std::unique_ptr<Publisher>> publishers_;
  std::vector<std::unique_ptr<Subscriber>> subscribers_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> published_{0};  // PUBLISH calls answered with a count, warm-up included
  AtomicHistogram delivery_;
  std::vector<std::pair<std::string, std::string>> facts_;
};

}  // namespace

std::unique_ptr<Client> make_resp_pubsub_client(const Options& options) {
  return std::make_unique<RespPubSubClient>(options);
}

}  // namespace redcar::load
