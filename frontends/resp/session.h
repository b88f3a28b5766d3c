// One client connection of the RESP front end, on one shard's reactor
// (connections are spread over the shards round-robin): its socket is a
// runtime::TcpConnection on the shard's io_uring, and every member is
// touched by that shard's thread only.
//
// Pipelining: each parsed command takes the next reply slot; commands whose
// answer comes back from the engine later fill their slot when it does, and
// replies leave in slot order, so a client always sees answers in the order
// it asked. Whatever a turn of the loop answers leaves in one send. Reading
// pauses while too many replies are outstanding or too much output is
// queued, so a client that does not read cannot make the server buffer
// without bound; past the output limit it is disconnected.
#pragma once

#include <boost/circular_buffer.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/api/engine.h"
#include "frontends/resp/client.h"
#include "frontends/resp/reply.h"
#include "frontends/resp/resp_parser.h"
#include "frontends/resp/resp_writer.h"
#include "frontends/resp/tls_channel.h"
#include "runtime/tcp.h"
#include "runtime/timer.h"

namespace redcar::resp {

class Server;
struct Command;

class Session final : public Client, public runtime::TcpConnection::Handler {
 public:
  // With `tls`, the connection is TLS: the handshake (and, when the context
  // asks for it, client-certificate verification) runs before any request.
  Session(Server& server, runtime::Reactor& reactor, runtime::BufferRing& buffers, int fd, uint64_t id, SSL_CTX* tls);
  void start();
  void close();

  void push(std::string_view bytes) override;
  void when_writable(std::function<void()> fn) override;
  bool closed() const override { return closed_; }
  runtime::Reactor& loop() override { return reactor_; }
  void complete(uint64_t slot, std::string_view bytes, Hold held) override;
  size_t output_bytes() const override { return conn_->output_bytes() + plain_out_.size(); }
  int fd() const override { return fd_; }
  size_t input_bytes() const override { return in_.size(); }
  bool blocked() const override { return held_[static_cast<size_t>(Hold::kBlocking)] > 0; }
  void kill() override { close(); }
  void kill_after_reply() override;
  void pause_ended() override;

  void on_data(std::span<const uint8_t> bytes) override;
  void on_drained() override;
  void on_closed(int error) override;

 private:
  void process();
  void submit(const ReplyPtr& reply, std::span<const std::string_view> args);
  void run(const ReplyPtr& reply, std::span<const std::string_view> args, const Command* cmd);
  static Hold hold_of(const Command* cmd, std::span<const std::string_view> args);
  bool may_run(const Command* cmd) const;
  // A command that held later ones back has answered; runs what may now.
  void released(Hold held);
  void run_deferred();
  // Whether CLIENT PAUSE holds `cmd` back now; if so, a timer runs what
  // waits when the pause ends.
  bool paused(const Command* cmd);
  void fill_slot(uint64_t slot, std::string_view bytes);
  // Sends the replies at the front that are complete; `moved`: one already
  // went, so flush even if no other is ready.
  void drain_slots(bool moved = false);
  void flush();
  void update_reading();
  // Where reply bytes go: straight into the socket's output, or (TLS) into
  // plaintext that flush() encrypts.
  std::string& wire() { return tls_ ? plain_out_ : conn_->out(); }

  struct Deferred {
    ReplyPtr reply;
    const Command* cmd = nullptr;
    std::vector<std::string> args;
  };
  struct Slot {
    bool ready = false;
    std::string bytes;
  };
  void add_slot(Slot s);

  Server& server_;
  runtime::Reactor& reactor_;
  std::shared_ptr<runtime::TcpConnection> conn_;
  std::unique_ptr<TlsChannel> tls_;
  std::shared_ptr<Session> self_;  // from start() until on_closed()
  RequestParser parser_;
  std::string in_;
  std::string plain_out_;  // TLS: replies not yet encrypted
  size_t need_bytes_ = 0;
  std::vector<std::string_view> args_;
  // Outstanding replies, oldest first; a ring that grows (up to the
  // pending-replies limit) and is then reused, so a request makes no node.
  boost::circular_buffer<Slot> slots_{16};
  uint64_t first_slot_ = 0;  // slot number of slots_.front()
  uint64_t next_slot_ = 0;
  std::vector<std::function<void()>> writable_waiters_;
  bool processing_ = false;
  bool stalled_ = false;
  bool running_deferred_ = false;
  size_t held_[5] = {};  // commands in flight, by Hold
  std::deque<Deferred> deferred_;
  std::vector<std::string_view> deferred_views_;
  bool quit_after_flush_ = false;
  int fd_ = -1;
  runtime::Timer pause_timer_{reactor_};
  bool closed_ = false;
};

}  // namespace redcar::resp
