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
#include "frontends/resp/client.h"
#include "frontends/resp/reply.h"
#include "frontends/resp/resp_parser.h"
#include "frontends/resp/resp_writer.h"

namespace redcar::resp {

class Server;
struct Command;

class Session final : public Client {
 public:
  using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;
  // With `tls`, the connection is TLS; the handshake (and, when the context
  // asks for it, client-certificate verification) runs before any request.
  Session(Server& server, boost::asio::ip::tcp::socket socket, uint64_t id, boost::asio::ssl::context* tls);
  void start();
  void close();

  void push(std::string bytes) override;
  void when_writable(std::function<void()> fn) override;
  bool closed() const override { return closed_; }
  boost::asio::any_io_executor executor() override { return executor_; }
  void complete(uint64_t slot, std::string bytes, bool was_write) override;
  size_t output_bytes() const { return out_.size() + writing_bytes_; }

 private:
  void read();
  void process();
  void submit(const ReplyPtr& reply, std::span<const std::string_view> args);
  void run(const ReplyPtr& reply, std::span<const std::string_view> args, const Command* cmd);
  void write_done();
  void fill_slot(uint64_t slot, std::string bytes);
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
