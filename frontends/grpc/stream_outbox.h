// The write side of a streaming call whose state lives on one executor (a
// shard's loop): one write in flight at a time, the messages waiting behind
// it in order, and for each message an `after` action run once it has been
// written. Flow control hangs on `after`: a session asks the engine for its
// next batch there, so what waits here is bounded by what the session lets
// in, never by how fast the engine produces.
//
// Not thread-safe: every method runs on the session's executor, grpc's
// OnWriteDone included (the reactor posts it there). After detach() (the
// reactor is gone) everything is a no-op.
#pragma once

#include <grpcpp/support/status.h>

#include <deque>
#include <functional>
#include <optional>
#include <utility>

namespace redcar::grpcfe {

template <typename Reactor, typename Message>
class StreamOutbox {
 public:
  explicit StreamOutbox(Reactor* reactor) : reactor_(reactor) {}

  // Queues `m`; `after` runs once it is written (not if the call ends first).
  void send(Message m, std::function<void()> after = {}) {
    if (!reactor_ || finishing_) return;
    queue_.push_back({std::move(m), std::move(after)});
    pump();
  }

  // Ends the call with `s` once what is queued has been written. The first
  // status given wins.
  void finish(grpc::Status s) {
    if (!reactor_ || finishing_) return;
    finishing_ = true;
    status_ = std::move(s);
    pump();
  }

  // Ends the call at once, dropping what is queued (the peer is gone).
  void abort(grpc::Status s) {
    queue_.clear();
    if (!reactor_ || finished_) return;
    finishing_ = true;
    status_ = std::move(s);
    pump();
  }

  // The reactor's OnWriteDone. False: the stream broke and the call is
  // being ended.
  bool write_done(bool ok) {
    writing_ = false;
    auto after = std::move(current_after_);
    current_after_ = nullptr;
    if (!ok) {
      abort(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
      return false;
    }
    pump();
    if (after) after();
    return true;
  }

  void detach() {
    reactor_ = nullptr;
    queue_.clear();
  }

  bool attached() const { return reactor_ != nullptr; }
  bool finishing() const { return finishing_; }
  bool idle() const { return !writing_ && queue_.empty(); }
  size_t queued() const { return queue_.size() + (writing_ ? 1 : 0); }

 private:
  void pump() {
    if (!reactor_ || writing_ || finished_) return;
    if (!queue_.empty()) {
      current_ = std::move(queue_.front().first);
      current_after_ = std::move(queue_.front().second);
      queue_.pop_front();
      writing_ = true;
      reactor_->StartWrite(&current_);
      return;
    }
    if (finishing_) {
      finished_ = true;
      reactor_->Finish(std::move(*status_));
    }
  }

  Reactor* reactor_;
  std::deque<std::pair<Message, std::function<void()>>> queue_;
  Message current_;  // what grpc is writing: must outlive the write
  std::function<void()> current_after_;
  bool writing_ = false;
  bool finishing_ = false;
  bool finished_ = false;
  std::optional<grpc::Status> status_;
};

}  // namespace redcar::grpcfe
