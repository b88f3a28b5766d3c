// TCP on a reactor's io_uring: a listener that accepts with one multishot
// accept, and connections that receive with one multishot receive into the
// reactor's provided buffers and send what a turn of the loop gathered in
// one send. No operation per request: a busy connection costs a completion
// per arriving chunk of bytes and one send per turn.
//
// Everything here runs on its reactor's thread. A connection lives until
// its last operation has completed: closing it stops reading, and
// Handler::on_closed runs once nothing is in flight any more.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "runtime/buffer_ring.h"
#include "runtime/reactor.h"
#include "runtime/task.h"

namespace redcar::runtime {

// "HOST:PORT", "[::1]:PORT" or ":PORT" (127.0.0.1) into its parts.
bool split_host_port(const std::string& addr, std::string* host, uint16_t* port);

class TcpListener {
 public:
  using AcceptFn = std::function<void(int fd)>;
  // Binds `host`:`port` (0: a free port) and accepts on `reactor` (from its
  // thread). -errno, or -EINVAL for a host that is not an address.
  static int open(Reactor& reactor, const std::string& host, uint16_t port, AcceptFn on_accept,
                  std::unique_ptr<TcpListener>* out);
  ~TcpListener();
  uint16_t port() const { return port_; }
  // Stops accepting; `done` runs once the accept has ended.
  void close(Task done);

 private:
  struct AcceptOp final : Completion {
    TcpListener* l;
    void complete(int result, uint32_t flags) override;
  };
  TcpListener(Reactor& r, int fd, AcceptFn fn) : reactor_(r), fd_(fd), on_accept_(std::move(fn)) { op_.l = this; }
  void arm();

  Reactor& reactor_;
  int fd_;
  uint16_t port_ = 0;
  AcceptFn on_accept_;
  AcceptOp op_;
  bool armed_ = false;
  bool closing_ = false;
  Task closed_;
};

class TcpConnection : public std::enable_shared_from_this<TcpConnection> {
 public:
  class Handler {
   public:
    // Bytes arrived; the span is good during the call only.
    virtual void on_data(std::span<const uint8_t> bytes) = 0;
    // Everything queued was handed to the kernel.
    virtual void on_drained() = 0;
    // The connection is over (the peer left, an error, or close()): the last
    // call, on a turn of its own. `error` is 0 or -errno.
    virtual void on_closed(int error) = 0;

   protected:
    ~Handler() = default;
  };

  TcpConnection(Reactor& reactor, BufferRing& buffers, int fd);
  ~TcpConnection();
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  // Starts receiving; the handler must outlive on_closed().
  void start(Handler* handler);
  // Stops and starts receiving (a client that does not read its replies
  // makes the server stop reading its requests).
  void pause_reading();
  void resume_reading();

  // Output: append to out(), then flush() sends it at the end of this turn.
  std::string& out() { return out_; }
  void flush();
  // Bytes queued or in flight.
  size_t output_bytes() const { return out_.size() + (sending_.size() - sent_); }

  // Ends the connection now (queued output is dropped), or once the queued
  // output is sent.
  void close();
  void close_after_flush();
  bool closing() const { return closing_; }
  int fd() const { return fd_; }
  Reactor& reactor() const { return reactor_; }

 private:
  struct Op final : Completion {
    enum Kind : uint8_t { kRecv, kSend, kCancel };
    explicit Op(Kind k) : kind(k) {}
    Kind kind;
    TcpConnection* c = nullptr;
    void complete(int result, uint32_t flags) override { c->completed(kind, result, flags); }
  };
  void completed(Op::Kind kind, int result, uint32_t flags);
  void on_recv(int result, uint32_t flags);
  void on_send(int result);
  void arm_recv();
  void send_now();
  void finish_if_idle();

  Reactor& reactor_;
  BufferRing& buffers_;
  int fd_;
  Handler* handler_ = nullptr;
  std::shared_ptr<TcpConnection> self_;  // while anything is in flight
  Op recv_op_{Op::kRecv};
  Op send_op_{Op::kSend};
  Op cancel_op_{Op::kCancel};
  unsigned in_flight_ = 0;
  bool recv_armed_ = false;
  bool reading_ = true;
  bool flush_scheduled_ = false;
  bool closing_ = false;
  bool close_after_flush_ = false;
  bool closed_ = false;
  int error_ = 0;
  std::string out_;
  std::string sending_;
  size_t sent_ = 0;
};

}  // namespace redcar::runtime
