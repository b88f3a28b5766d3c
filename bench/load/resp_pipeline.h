// One pipelined RESP connection on boost.asio, shared by the RESP client
// (resp_client.*) and the pub/sub client's PUBLISH connections
// (resp_pubsub_client.*): the socket, the output buffer and the write in
// flight, the read buffer, and the ring of slots waiting for a reply.
// What a request is and what its reply means is the owner's, through a
// Handler set once at construction, so a request costs no allocation here.
//
// Invariants: everything after connect() runs on the connection's event
// loop (issue() hops onto it). At most one write is in flight; whatever the
// slots asked for meanwhile is sent as the next single write. Replies answer
// slots in the order they were sent (the ring, oldest first, holds at most
// `depth` slots, which the driver ensures by issuing only idle slots). A
// slot answered inside a read is sent again before the next write, so a
// pipeline stays full. A connection that fails answers its outstanding
// slots with a fatal error and every later request on it too; once the
// client is stopping, it answers nothing more.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "client.h"
#include "resp_codec.h"

namespace redcar::load {

class RespPipeline {
 public:
  class Handler {
   public:
    // Appends the request for one operation due at `start_ns` to `out`.
    virtual void encode(std::string& out, int64_t start_ns) = 0;
    // What a reply means for the operation that asked for it. The result's
    // error may point into the handler's own scratch: it is read before the
    // next call.
    virtual OpResult judge(const resp::Reply& reply) = 0;

   protected:
    ~Handler() = default;
  };

  // `depth`: the slots this connection serves (--pipeline). `stopping` is
  // the client's: a failure after it is set is the client closing, not an
  // error.
  RespPipeline(boost::asio::io_context& io, size_t depth, Sink& sink, const std::atomic<bool>& stopping,
               Handler& handler);

  // Blocking, before start().
  boost::system::error_code connect(const boost::asio::ip::tcp::resolver::results_type& endpoints);
  // Starts reading; from the setup thread, before the loop runs or while it does.
  void start();
  // From any thread, for a slot of this connection that is idle.
  void issue(int slot, int64_t start_ns);
  // From any thread: closes the socket on the loop (the client is stopping).
  void close();

 private:
  void send(int slot, int64_t start_ns);
  void flush();
  void start_read();
  void on_read(boost::system::error_code ec, size_t n);
  void fail(std::string reason);
  int pop_slot();

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::socket sock_;
  Sink& sink_;
  const std::atomic<bool>& stopping_;
  Handler& handler_;
  std::string out_, writing_;
  bool write_busy_ = false;
  // Inside on_read's loop over replies: sends wait for its one flush.
  bool in_read_ = false;
  bool dead_ = false;
  std::string dead_reason_;
  std::vector<char> in_;
  size_t in_len_ = 0;
  std::vector<int> ring_;  // slots waiting for a reply, oldest first
  size_t head_ = 0, count_ = 0;
};

}  // namespace redcar::load
