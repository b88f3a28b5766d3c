#include "runtime/tcp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace redcar::runtime {

bool split_host_port(const std::string& addr, std::string* host, uint16_t* port) {
  auto colon = addr.rfind(':');
  if (colon == std::string::npos) return false;
  std::string h = addr.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  unsigned p = 0;
  const char* b = addr.data() + colon + 1;
  const char* e = addr.data() + addr.size();
  auto r = std::from_chars(b, e, p);
  if (b == e || r.ec != std::errc() || r.ptr != e || p > 65535) return false;
  *host = h.empty() ? "127.0.0.1" : h;
  *port = static_cast<uint16_t>(p);
  return true;
}

// ------------------------------------------------------------------ listener

int TcpListener::open(Reactor& reactor, const std::string& host, uint16_t port, AcceptFn on_accept,
                      std::unique_ptr<TcpListener>* out) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family = AF_INET;
  if (auto* a4 = reinterpret_cast<sockaddr_in*>(&ss); ::inet_pton(AF_INET, host.c_str(), &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    len = sizeof(sockaddr_in);
  } else if (auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss); ::inet_pton(AF_INET6, host.c_str(), &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(port);
    len = sizeof(sockaddr_in6);
    family = AF_INET6;
  } else {
    return -EINVAL;
  }
  int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 1024) != 0) {
    int e = errno;
    ::close(fd);
    return -e;
  }
  std::unique_ptr<TcpListener> l(new TcpListener(reactor, fd, std::move(on_accept)));
  sockaddr_storage bound{};
  socklen_t blen = sizeof(bound);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen);
  l->port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  l->arm();
  *out = std::move(l);
  return 0;
}

TcpListener::~TcpListener() {
  if (fd_ >= 0) ::close(fd_);
}

void TcpListener::arm() {
  io_uring_sqe* sqe = reactor_.prepare(&op_);
  io_uring_prep_multishot_accept(sqe, fd_, nullptr, nullptr, SOCK_CLOEXEC);
  armed_ = true;
}

void TcpListener::AcceptOp::complete(int result, uint32_t flags) {
  TcpListener* self = l;
  if (!(flags & IORING_CQE_F_MORE)) self->armed_ = false;
  if (result >= 0) {
    if (self->closing_) {
      ::close(result);
    } else {
      int one = 1;
      ::setsockopt(result, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      self->on_accept_(result);
    }
  }
  if (self->armed_) return;
  if (self->closing_) {
    Task done = std::move(self->closed_);
    if (done) done();
    return;
  }
  self->arm();  // out of file descriptors, or the kernel ended the multishot: go on
}

void TcpListener::close(Task done) {
  if (closing_) return;
  closing_ = true;
  closed_ = std::move(done);
  // Shutting the listening socket down ends the accept.
  ::shutdown(fd_, SHUT_RDWR);
  if (!armed_) {
    Task d = std::move(closed_);
    if (d) d();
    return;
  }
  io_uring_sqe* sqe = reactor_.prepare(nullptr);
  io_uring_prep_cancel(sqe, &op_, 0);
}

// ------------------------------------------------------------------ connection

TcpConnection::TcpConnection(Reactor& reactor, BufferRing& buffers, int fd)
    : reactor_(reactor), buffers_(buffers), fd_(fd) {
  recv_op_.c = send_op_.c = cancel_op_.c = this;
}

TcpConnection::~TcpConnection() {
  if (fd_ >= 0) ::close(fd_);
}

void TcpConnection::start(Handler* handler) {
  handler_ = handler;
  self_ = shared_from_this();
  arm_recv();
}

void TcpConnection::arm_recv() {
  if (recv_armed_ || closing_ || !reading_) return;
  io_uring_sqe* sqe = reactor_.prepare(&recv_op_);
  io_uring_prep_recv_multishot(sqe, fd_, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = buffers_.group();
  recv_armed_ = true;
  ++in_flight_;
}

void TcpConnection::pause_reading() {
  if (!reading_) return;
  reading_ = false;
  if (!recv_armed_) return;
  io_uring_sqe* sqe = reactor_.prepare(&cancel_op_);
  io_uring_prep_cancel(sqe, &recv_op_, 0);
  ++in_flight_;
}

void TcpConnection::resume_reading() {
  if (reading_) return;
  reading_ = true;
  arm_recv();
}

void TcpConnection::completed(Op::Kind kind, int result, uint32_t flags) {
  auto hold = self_;  // closing may drop the last other reference
  switch (kind) {
    case Op::kRecv: on_recv(result, flags); break;
    case Op::kSend: on_send(result); break;
    case Op::kCancel: --in_flight_; break;
  }
  finish_if_idle();
}

void TcpConnection::on_recv(int result, uint32_t flags) {
  bool more = flags & IORING_CQE_F_MORE;
  if (!more) {
    recv_armed_ = false;
    --in_flight_;
  }
  if (result > 0) {
    auto id = static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
    if (!closing_) handler_->on_data(buffers_.bytes(id, static_cast<size_t>(result)));
    buffers_.recycle(id);
  } else if (result == 0) {
    return close();  // the peer is gone
  } else if (result != -ENOBUFS && result != -ECANCELED) {
    error_ = result;
    return close();
  }
  // Out of buffers (others' data is waiting to be read), or cancelled, or
  // the kernel ended the multishot: read again, if still reading.
  if (!recv_armed_) arm_recv();
}

void TcpConnection::flush() {
  if (flush_scheduled_ || closing_) return;
  flush_scheduled_ = true;
  // Everything this turn adds goes in one send.
  reactor_.at_turn_end([self = shared_from_this()] {
    self->flush_scheduled_ = false;
    self->send_now();
  });
}

void TcpConnection::send_now() {
  if (closed_ || (closing_ && !close_after_flush_)) return;
  if (sent_ < sending_.size()) return;  // a send is in flight; its completion goes on
  if (out_.empty()) {
    if (close_after_flush_) close();
    return;
  }
  sending_.swap(out_);
  out_.clear();
  sent_ = 0;
  io_uring_sqe* sqe = reactor_.prepare(&send_op_);
  io_uring_prep_send(sqe, fd_, sending_.data(), sending_.size(), MSG_NOSIGNAL);
  ++in_flight_;
}

void TcpConnection::on_send(int result) {
  --in_flight_;
  if (result < 0) {
    error_ = result;
    sending_.clear();
    sent_ = 0;
    return close();
  }
  sent_ += static_cast<size_t>(result);
  if (sent_ < sending_.size()) {
    // The socket took part of it: send the rest.
    io_uring_sqe* sqe = reactor_.prepare(&send_op_);
    io_uring_prep_send(sqe, fd_, sending_.data() + sent_, sending_.size() - sent_, MSG_NOSIGNAL);
    ++in_flight_;
    return;
  }
  sending_.clear();
  sent_ = 0;
  if (!out_.empty()) return send_now();
  if (close_after_flush_) return close();
  if (!closing_) handler_->on_drained();
}

void TcpConnection::close_after_flush() {
  close_after_flush_ = true;
  if (output_bytes() == 0) return close();
  flush();
}

void TcpConnection::close() {
  if (closing_) return;
  closing_ = true;
  reading_ = false;
  // Both directions end: the receive completes with end of data, a send in
  // flight with an error.
  ::shutdown(fd_, SHUT_RDWR);
  finish_if_idle();
}

void TcpConnection::finish_if_idle() {
  if (!closing_ || closed_ || in_flight_ > 0) return;
  closed_ = true;
  Handler* h = handler_;
  handler_ = nullptr;
  if (!h) return;
  // On a turn of its own: close() may be called from deep inside the
  // handler, which may go away in on_closed.
  reactor_.post([keep = std::move(self_), h, error = error_] { h->on_closed(error); });
}

}  // namespace redcar::runtime
