// One client connection of the RESP front end. It lives on one shard's
// io_context (connections are spread over the shards round-robin) and every
// member is touched by that thread only.
//
// Pipelining: each parsed command takes the next reply slot; commands whose
// answer comes back from the engine later fill their slot when it does, and
// replies leave in slot order, so a client always sees answers in the order
// it asked. Reading pauses while too many replies are outstanding or too
// much output is buffered, so a client that does not read cannot make the
// server buffer without bound; past the output limit it is disconnected.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "engine/api/engine.h"
#include "frontends/resp/resp_parser.h"
#include "frontends/resp/resp_writer.h"

namespace redcar::resp {

class Server;
struct Command;
class Session;

// A promise of one reply. Handlers write into it (now, or later from an
// engine callback) and call done(); the session sends it in order.
class Reply {
 public:
  Reply(std::shared_ptr<Session> session, uint64_t slot, int protocol);
  ReplyWriter& w() { return writer_; }
  int protocol() const { return writer_.protocol(); }
  void done();
  Session& session() { return *session_; }
  const std::shared_ptr<Session>& session_ptr() const { return session_; }
  // Runs `fn` on the session's thread (for engine callbacks).
  boost::asio::any_io_executor executor() const;
  bool counts_as_write = false;  // the session waits for it before later reads

 private:
  std::shared_ptr<Session> session_;
  uint64_t slot_;
  std::string buf_;
  ReplyWriter writer_;
};
using ReplyPtr = std::shared_ptr<Reply>;

struct SessionLimits {
  size_t max_pending_replies = 1024;
  size_t max_output_bytes = 64ull << 20;  // past this, a client that does not read is dropped
  size_t pause_output_bytes = 4ull << 20;  // stop reading requests past this
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;
  // With `tls`, the connection is TLS; the handshake (and, when the context
  // asks for it, client-certificate verification) runs before any request.
  Session(Server& server, boost::asio::ip::tcp::socket socket, uint64_t id, boost::asio::ssl::context* tls);
  void start();
  void close();

  Server& server() { return server_; }
  uint64_t id() const { return id_; }
  int protocol = 2;
  bool authenticated = false;
  std::string name;
  std::string peer;
  int64_t created_ms = 0;
  // Blocking commands register a cancel hook here, run if the client leaves.
  std::vector<std::function<void()>> on_close;
  // Pub/sub: channels and patterns this client listens to.
  std::vector<std::string> channels;
  std::vector<std::string> patterns;
  bool subscribed() const { return !channels.empty() || !patterns.empty(); }
  // Sends out-of-band data (pub/sub messages) after the queued replies.
  void push(std::string bytes);
  // Runs `fn` once this client's buffered output is below the pause mark:
  // subscriptions ask the engine for more only when the client keeps up.
  void when_writable(std::function<void()> fn);
  bool closed() const { return closed_; }
  boost::asio::any_io_executor executor() { return executor_; }
  size_t output_bytes() const { return out_.size() + writing_bytes_; }

 private:
  friend class Reply;
  void read();
  void process();
  void submit(const ReplyPtr& reply, std::span<const std::string_view> args);
  void run(const ReplyPtr& reply, std::span<const std::string_view> args, const Command* cmd);
  void write_done();
  void complete(uint64_t slot, std::string bytes);
  void drain_slots();
  void flush();

  static constexpr size_t kReadBytes = 64 * 1024;
  struct Deferred {
    ReplyPtr reply;
    std::vector<std::string> args;
  };

  Server& server_;
  std::variant<boost::asio::ip::tcp::socket, TlsStream> stream_;
  boost::asio::any_io_executor executor_;
  boost::asio::ip::tcp::socket& lowest();
  uint64_t id_;
  RequestParser parser_;
  std::unique_ptr<char[]> rbuf_;
  std::string in_;
  size_t need_bytes_ = 0;
  std::vector<std::string_view> args_;
  struct Slot {
    bool ready = false;
    std::string bytes;
  };
  std::deque<Slot> slots_;
  uint64_t first_slot_ = 0;  // slot number of slots_.front()
  uint64_t next_slot_ = 0;
  std::string out_;
  std::string writing_;
  size_t writing_bytes_ = 0;
  std::vector<std::function<void()>> writable_waiters_;
  bool reading_ = false;
  bool processing_ = false;
  bool stalled_ = false;
  bool running_deferred_ = false;
  size_t writes_in_flight_ = 0;
  std::deque<Deferred> deferred_;
  bool quit_after_flush_ = false;
  bool closed_ = false;
};

}  // namespace redcar::resp
