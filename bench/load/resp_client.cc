// RESP connections on boost.asio (resp_client.h).
#include "resp_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <optional>

#include "resp_codec.h"
#include "resp_pipeline.h"

namespace redcar::load {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

enum class Kind { kPing, kSet, kGet, kXadd, kXrange };

Kind kind_of(const std::string& workload) {
  if (workload == "set") return Kind::kSet;
  if (workload == "get") return Kind::kGet;
  if (workload == "xadd") return Kind::kXadd;
  if (workload == "xrange") return Kind::kXrange;
  return Kind::kPing;
}

constexpr size_t kReadChunk = 64 * 1024;  // prefill replies
constexpr uint64_t kPrefillChunk = 1000;  // commands per round trip while filling

uint64_t next_random(uint64_t& s) {
  // xorshift64*: cheap, and good enough to spread keys.
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  return s * 2685821657736338717ull;
}

class RespClient final : public Client {
 public:
  explicit RespClient(const Options& o)
      : o_(o), kind_(kind_of(o.workload)), value_(static_cast<size_t>(o.value_bytes), 'v') {}

  int slots() const override { return o_.clients * o_.pipeline; }

  std::string setup(Sink& sink) override {
    sink_ = &sink;
    boost::system::error_code ec;
    tcp::resolver resolver(setup_io_);
    endpoints_ = resolver.resolve(o_.host, o_.port, ec);
    if (ec) return "resolve " + o_.addr + ": " + ec.message();
    if (std::string e = prefill(); !e.empty()) return e;

    const int threads = std::min(o_.threads, o_.clients);
    for (int t = 0; t < threads; ++t) ios_.push_back(std::make_unique<asio::io_context>(1));
    for (int i = 0; i < o_.clients; ++i) {
      auto c = std::make_unique<Connection>(*this, *ios_[static_cast<size_t>(i % threads)]);
      ec = c->pipe.connect(endpoints_);
      if (ec) return "connect " + o_.addr + ": " + ec.message();
      c->rng = 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(i + 1);
      conns_.push_back(std::move(c));
    }
    for (auto& io : ios_) guards_.emplace_back(asio::make_work_guard(*io));
    for (auto& c : conns_) c->pipe.start();
    for (auto& io : ios_) threads_.emplace_back([io = io.get()] { io->run(); });
    return {};
  }

  void issue(int slot, int64_t start_ns) override {
    conns_[static_cast<size_t>(slot / o_.pipeline)]->pipe.issue(slot, start_ns);
  }

  void stop() override {
    stopping_.store(true);
    for (auto& c : conns_) c->pipe.close();
    guards_.clear();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  std::vector<std::pair<std::string, std::string>> facts() const override { return facts_; }

 private:
  // A connection, and the per-connection state its requests draw on.
  struct Connection final : RespPipeline::Handler {
    Connection(RespClient& client, asio::io_context& io)
        : client(client), pipe(io, static_cast<size_t>(client.o_.pipeline), *client.sink_, client.stopping_, *this) {}
    void encode(std::string& out, int64_t /*start_ns*/) override { client.encode(*this, out); }
    OpResult judge(const resp::Reply& reply) override { return client.judge(*this, reply); }

    RespClient& client;
    RespPipeline pipe;
    uint64_t rng = 0;
    std::string name, error;  // scratch
  };

  void key_name(std::string& out, uint64_t n) const {
    out.assign(o_.prefix);
    out.append("key-");
    out.append(std::to_string(n));
  }
  std::string range_stream() const { return o_.prefix + "range"; }

  void encode(Connection& c, std::string& out) {
    switch (kind_) {
      case Kind::kPing:
        resp::append_command(out, {"PING"});
        break;
      case Kind::kSet:
        key_name(c.name, next_random(c.rng) % o_.keys);
        resp::append_command(out, {"SET", c.name, value_});
        break;
      case Kind::kGet:
        key_name(c.name, next_random(c.rng) % o_.keys);
        resp::append_command(out, {"GET", c.name});
        break;
      case Kind::kXadd:
        c.name.assign(o_.prefix);
        c.name.append("stream-");
        c.name.append(std::to_string(o_.streams > 1 ? next_random(c.rng) % static_cast<uint64_t>(o_.streams) : 0));
        resp::append_command(out, {"XADD", c.name, "*", "f", value_});
        break;
      case Kind::kXrange:
        resp::append_command(out, {"XRANGE", range_stream_, "-", "+", "COUNT", "10"});
        break;
    }
  }

  // What a reply means for the operation that asked for it.
  OpResult judge(Connection& c, const resp::Reply& r) {
    static const char* const names[] = {"PING", "SET", "GET", "XADD", "XRANGE"};
    OpResult res;
    auto fail = [&](std::string_view what) {
      c.error.assign(names[static_cast<int>(kind_)]);
      c.error.append(": ");
      c.error.append(what);
      res.ok = false;
      res.error = c.error;
      return res;
    };
    if (r.is_error) return fail(r.text);
    switch (kind_) {
      case Kind::kPing:
        if (r.type != '+' && r.type != '$') return fail("unexpected reply type");
        break;
      case Kind::kSet:
        if (r.type != '+') return fail("unexpected reply type");
        res.bytes = value_.size();
        break;
      case Kind::kGet:
        if (r.null) return fail("key missing");
        if (r.type != '$') return fail("unexpected reply type");
        res.bytes = r.text.size();
        break;
      case Kind::kXadd:
        if (r.type != '$' || r.null) return fail("unexpected reply type");
        res.bytes = value_.size();
        break;
      case Kind::kXrange:
        if (r.type != '*') return fail("unexpected reply type");
        if (r.elements != 10) return fail("a range of " + std::to_string(r.elements) + " entries, expected 10");
        res.bytes = r.bulk_bytes;
        break;
    }
    return res;
  }

  // Sends `commands` (n of them) on a blocking connection and reads their
  // replies; the first error reply or a wrong kind of reply fails it.
  std::string exchange(tcp::socket& s, const std::string& commands, uint64_t n, std::vector<resp::Reply>* last,
                       std::string* keep) {
    boost::system::error_code ec;
    asio::write(s, asio::buffer(commands), ec);
    if (ec) return "write: " + ec.message();
    std::string& buf = *keep;
    buf.clear();
    size_t pos = 0;
    uint64_t got = 0;
    std::vector<char> chunk(kReadChunk);
    while (got < n) {
      resp::Reply r;
      size_t used = 0;
      const resp::Parse p = resp::parse_reply(std::string_view(buf).substr(pos), &r, &used);
      if (p == resp::Parse::kMalformed) return "malformed reply";
      if (p == resp::Parse::kIncomplete) {
        const size_t k = s.read_some(asio::buffer(chunk), ec);
        if (ec) return "read: " + ec.message();
        buf.append(chunk.data(), k);
        continue;
      }
      if (r.is_error) return std::string(r.text);
      if (last) last->push_back(r);
      pos += used;
      ++got;
    }
    return {};
  }

  std::string prefill() {
    range_stream_ = range_stream();
    if (kind_ != Kind::kGet && kind_ != Kind::kXrange) return {};
    tcp::socket s(setup_io_);
    boost::system::error_code ec;
    asio::connect(s, endpoints_, ec);
    if (ec) return "connect " + o_.addr + ": " + ec.message();
    std::string keep, cmds;
    uint64_t todo = o_.prefill;
    if (kind_ == Kind::kXrange) {
      std::vector<resp::Reply> replies;
      resp::append_command(cmds, {"XLEN", range_stream_});
      if (std::string e = exchange(s, cmds, 1, &replies, &keep); !e.empty()) return "prefill XLEN: " + e;
      const uint64_t have = std::strtoull(std::string(replies[0].text).c_str(), nullptr, 10);
      todo = have >= o_.prefill ? 0 : o_.prefill - have;
      facts_.emplace_back("prefill", std::to_string(o_.prefill) + " entries in " + range_stream_ + " (" +
                                         std::to_string(todo) + " written now)");
    } else {
      facts_.emplace_back("prefill", std::to_string(todo) + " keys written");
    }
    for (uint64_t done = 0; done < todo;) {
      const uint64_t n = std::min(kPrefillChunk, todo - done);
      cmds.clear();
      for (uint64_t i = 0; i < n; ++i) {
        if (kind_ == Kind::kXrange) {
          resp::append_command(cmds, {"XADD", range_stream_, "*", "f", value_});
        } else {
          std::string key;
          key_name(key, done + i);
          resp::append_command(cmds, {"SET", key, value_});
        }
      }
      if (std::string e = exchange(s, cmds, n, nullptr, &keep); !e.empty()) return "prefill: " + e;
      done += n;
    }
    return {};
  }

  const Options o_;
  const Kind kind_;
  const std::string value_;
  std::string range_stream_;
  Sink* sink_ = nullptr;
  asio::io_context setup_io_;
  tcp::resolver::results_type endpoints_;
  std::vector<std::unique_ptr<asio::io_context>> ios_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
  std::vector<std::unique_ptr<Connection>> conns_;
  std::atomic<bool> stopping_{false};
  std::vector<std::pair<std::string, std::string>> facts_;
};

}  // namespace

std::unique_ptr<Client> make_resp_client(const Options& options) { return std::make_unique<RespClient>(options); }

}  // namespace redcar::load
