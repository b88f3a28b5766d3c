// grpc reactors that hand every reaction to a session object on one
// executor (a shard's loop), so that the session — its state, its engine
// subscriptions, its StreamOutbox — is touched by one thread only and needs
// no locks. The reactor deletes itself after the session has seen OnDone;
// work posted for the session after that finds it detached.
//
// A session provides on_write_done(bool), on_cancel(), on_done(), and for
// calls that read, on_read(bool). Each reactor counts itself in `live` while
// it exists, so that a stopping server can wait for the last one.
#pragma once

#include <grpcpp/support/server_callback.h>

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <memory>

namespace redcar::grpcfe {

// The reactions every streaming call has, over grpc's reactor type `Base`.
template <typename Session, typename Base>
class SessionReactor : public Base {
 public:
  SessionReactor(boost::asio::any_io_executor ex, std::atomic<int64_t>* live) : ex_(std::move(ex)), live_(live) {
    live_->fetch_add(1);
  }
  ~SessionReactor() override { live_->fetch_sub(1); }
  void attach(std::shared_ptr<Session> s) { session_ = std::move(s); }

  void OnWriteDone(bool ok) override {
    boost::asio::post(ex_, [s = session_, ok] { s->on_write_done(ok); });
  }
  void OnCancel() override {
    boost::asio::post(ex_, [s = session_] { s->on_cancel(); });
  }
  void OnDone() override {
    boost::asio::post(ex_, [s = session_, self = this] {
      s->on_done();
      delete self;
    });
  }

 protected:
  boost::asio::any_io_executor ex_;
  std::atomic<int64_t>* live_;
  std::shared_ptr<Session> session_;
};

template <typename Session, typename Request, typename Response>
class BidiSessionReactor final : public SessionReactor<Session, grpc::ServerBidiReactor<Request, Response>> {
 public:
  using SessionReactor<Session, grpc::ServerBidiReactor<Request, Response>>::SessionReactor;
  void OnReadDone(bool ok) override {
    boost::asio::post(this->ex_, [s = this->session_, ok] { s->on_read(ok); });
  }
};

template <typename Session, typename Response>
using WriterSessionReactor = SessionReactor<Session, grpc::ServerWriteReactor<Response>>;

}  // namespace redcar::grpcfe
