// RESP commands run in process, as Dragonfly's tests do: an engine over the
// in-memory disk, the server's Context, and clients that are not sockets.
//
//   RespHarness h;
//   auto id = h.run({"XADD", "s", "*", "f", "v"});   // a parsed reply
//   EXPECT_EQ(h.run({"XLEN", "s"}).integer(), 1);
//
// Each client runs its commands on its own reactor, which run() turns on
// the test's thread until the reply comes (or a timeout fails the test);
// send() starts a command without waiting, for blocking reads woken by
// another client.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/api/engine.h"
#include "engine/io/mem_disk.h"
#include "frontends/resp/client.h"
#include "frontends/resp/command_table.h"
#include "frontends/resp/context.h"
#include "frontends/resp/reply.h"
#include "runtime/reactor.h"
#include "tests/unit/engine_test_util.h"

namespace redcar::test {

// A decoded RESP2/RESP3 reply.
struct RespValue {
  enum class Type { kSimple, kError, kInteger, kBulk, kNull, kArray, kMap, kPush, kBool, kDouble, kBad };
  Type type = Type::kBad;
  std::string text;               // simple, error, bulk, double
  int64_t number = 0;             // integer, bool
  std::vector<RespValue> items;   // array, push; map: key, value, key, value...

  bool is_error() const { return type == Type::kError; }
  bool is_null() const { return type == Type::kNull; }
  int64_t integer() const { return number; }
  const std::string& str() const { return text; }
  size_t size() const { return items.size(); }
  const RespValue& operator[](size_t i) const { return items.at(i); }
};

// Parses one reply at data[*pos]; advances *pos past it.
inline RespValue parse_resp(std::string_view data, size_t* pos) {
  RespValue v;
  if (*pos >= data.size()) return v;
  char t = data[(*pos)++];
  size_t eol = data.find("\r\n", *pos);
  if (eol == std::string_view::npos) return v;
  std::string line(data.substr(*pos, eol - *pos));
  *pos = eol + 2;
  auto aggregate = [&](RespValue::Type type, int64_t n) {
    v.type = type;
    for (int64_t i = 0; i < n; ++i) v.items.push_back(parse_resp(data, pos));
  };
  switch (t) {
    case '+': v.type = RespValue::Type::kSimple; v.text = line; break;
    case '-': v.type = RespValue::Type::kError; v.text = line; break;
    case ':': v.type = RespValue::Type::kInteger; v.number = std::stoll(line); break;
    case ',': v.type = RespValue::Type::kDouble; v.text = line; break;
    case '#': v.type = RespValue::Type::kBool; v.number = line == "t"; break;
    case '_': v.type = RespValue::Type::kNull; break;
    case '$': {
      int64_t n = std::stoll(line);
      if (n < 0) {
        v.type = RespValue::Type::kNull;
        break;
      }
      v.type = RespValue::Type::kBulk;
      v.text = std::string(data.substr(*pos, static_cast<size_t>(n)));
      *pos += static_cast<size_t>(n) + 2;
      break;
    }
    case '*': {
      int64_t n = std::stoll(line);
      if (n < 0) v.type = RespValue::Type::kNull;
      else aggregate(RespValue::Type::kArray, n);
      break;
    }
    case '%': aggregate(RespValue::Type::kMap, 2 * std::stoll(line)); break;
    case '>': aggregate(RespValue::Type::kPush, std::stoll(line)); break;
    default: break;
  }
  return v;
}

// An integer reply's value; any other reply fails the test (an error's
// integer() would read as 0 and pass a check for 0).
inline int64_t num(const RespValue& v) {
  EXPECT_EQ(v.type, RespValue::Type::kInteger) << v.str();
  return v.integer();
}

// The texts of an aggregate's elements.
inline std::vector<std::string> strings(const RespValue& v) {
  std::vector<std::string> out;
  for (auto& i : v.items) out.push_back(i.str());
  return out;
}

inline RespValue parse_resp(std::string_view data) {
  size_t pos = 0;
  return parse_resp(data, &pos);
}

// A client of the harness: replies are kept by slot, pushes in order.
class LocalClient final : public resp::Client {
 public:
  LocalClient() {
    int rc = runtime::Reactor::create({.ring_entries = 64}, &reactor);
    if (rc < 0) ADD_FAILURE() << "io_uring_setup: " << rc;
  }
  void push(std::string_view bytes) override { pushes.emplace_back(bytes); }
  void when_writable(std::function<void()> fn) override { fn(); }
  runtime::Reactor& loop() override { return *reactor; }
  bool closed() const override { return closed_; }
  void complete(uint64_t slot, std::string_view bytes, resp::Hold) override { replies[slot] = std::string(bytes); }

  void kill() override { leave(); }
  // The client leaves: its blocking commands and subscriptions end.
  void leave() {
    if (closed_) return;
    closed_ = true;
    auto hooks = std::move(on_close);
    on_close.clear();
    for (auto& h : hooks) h();
  }

  std::unique_ptr<runtime::Reactor> reactor;  // made and turned on the test's thread
  std::map<uint64_t, std::string> replies;
  std::vector<std::string> pushes;
  uint64_t next_slot = 0;

 private:
  bool closed_ = false;
};

class RespHarness {
 public:
  explicit RespHarness(resp::ServerOptions options = {}) : options_(std::move(options)) {
    engine_ = open_engine(mem_options(fs_));
    state_ = std::make_unique<resp::ServerState>(options_, engine_->options(), table_);
    ctx_ = std::make_unique<resp::Context>(resp::Context{*engine_, options_, table_, pubsub_, stats_, *state_});
  }
  ~RespHarness() {
    for (auto& c : clients_) c->leave();
    if (engine_) engine_->stop();
  }

  // A new client (client 0 is made on first use by run()).
  std::shared_ptr<LocalClient> client() {
    auto c = std::make_shared<LocalClient>();
    c->id = clients_.size() + 1;
    c->authenticated = state_->acl.default_is_open();
    c->peer = "127.0.0.1:" + std::to_string(40000 + c->id);
    c->local = "127.0.0.1:6480";
    clients_.push_back(c);
    state_->clients.add(c);
    return c;
  }

  // Starts a command on `c`; returns its reply slot.
  uint64_t send(const std::shared_ptr<LocalClient>& c, std::vector<std::string> args) {
    uint64_t slot = c->next_slot++;
    c->reactor->post([this, c, slot, args = std::move(args)] {
      std::vector<std::string_view> views(args.begin(), args.end());
      resp::ReplyPtr reply = c->make_reply(slot);
      const resp::Command* cmd = table_.find(views[0]);
      if (cmd && (cmd->flags & resp::kWrite)) reply->hold = resp::Hold::kWrite;
      resp::dispatch(*ctx_, reply, resp::Args(views.data(), views.size()), cmd);
    });
    return slot;
  }

  // Turns the client's loop until the reply in `slot` is there.
  std::string wait_raw(const std::shared_ptr<LocalClient>& c, uint64_t slot,
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (!c->replies.count(slot)) {
      if (std::chrono::steady_clock::now() > until) {
        ADD_FAILURE() << "no reply in " << timeout.count() << " ms";
        return {};
      }
      turn_others(c);
      c->reactor->run_for(std::chrono::milliseconds(5));
    }
    return c->replies[slot];
  }
  RespValue wait(const std::shared_ptr<LocalClient>& c, uint64_t slot) { return parse_resp(wait_raw(c, slot)); }
  // Whether the reply in `slot` has come, after turning the loop for `for_ms`.
  bool answered_within(const std::shared_ptr<LocalClient>& c, uint64_t slot, int for_ms) {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(for_ms);
    while (std::chrono::steady_clock::now() < until && !c->replies.count(slot)) {
      turn_others(c);
      c->reactor->run_for(std::chrono::milliseconds(2));
    }
    return c->replies.count(slot) > 0;
  }

  RespValue run(const std::shared_ptr<LocalClient>& c, std::vector<std::string> args) {
    return wait(c, send(c, std::move(args)));
  }
  RespValue run(std::vector<std::string> args) { return run(first(), std::move(args)); }
  std::string raw(std::vector<std::string> args) { return raw(first(), std::move(args)); }
  std::string raw(const std::shared_ptr<LocalClient>& c, std::vector<std::string> args) {
    return wait_raw(c, send(c, std::move(args)));
  }

  Engine& engine() { return *engine_; }
  resp::ServerState& state() { return *state_; }
  io::MemFs& fs() { return fs_; }

  // Opens the engine again over the same disk with nothing in its caches,
  // so that reads go to the disk (and meet its faults). With a hot cache,
  // there is a cache of blocks read (a quarter of it) too.
  void reopen_cold(size_t hot_cache_bytes = 0) {
    engine_->stop();
    engine_.reset();
    EngineOptions o = mem_options(fs_);
    o.hot_cache_bytes = hot_cache_bytes;
    engine_ = open_engine(o);
    ASSERT_TRUE(engine_);
    ctx_ = std::make_unique<resp::Context>(resp::Context{*engine_, options_, table_, pubsub_, stats_, *state_});
  }

 private:
  // The other clients' loops run what was posted to them (a command that
  // visits every client, CLIENT LIST or KILL, waits for each).
  void turn_others(const std::shared_ptr<LocalClient>& c) {
    for (auto& o : clients_) {
      if (o != c) o->reactor->poll();
    }
  }

  std::shared_ptr<LocalClient> first() {
    if (clients_.empty()) client();
    return clients_.front();
  }

  io::MemFs fs_;
  std::unique_ptr<Engine> engine_;
  resp::ServerOptions options_;
  resp::CommandTable table_;
  resp::PubSub pubsub_;
  resp::ServerStats stats_;
  std::unique_ptr<resp::ServerState> state_;
  std::unique_ptr<resp::Context> ctx_;
  std::vector<std::shared_ptr<LocalClient>> clients_;
};

}  // namespace redcar::test
