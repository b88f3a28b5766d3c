// What every subscription living on a shard shares (a stream subscriber, a
// log tail, a key-value watch): it ends exactly once, dropping its handler
// and calling `end`, and cancel() — callable from any thread — ends it on the
// shard's thread after it has left its owner's list.
#pragma once

#include <memory>

#include "engine/common/callback.h"
#include "runtime/reactor.h"

namespace redcar::shard {

class ShardSubscription : public Subscription, public std::enable_shared_from_this<ShardSubscription> {
 public:
  void cancel() final {
    auto self = shared_from_this();
    reactor_.post([self] {
      if (self->done_) return;
      self->detach();
      self->finish(Status(Code::kUnavailable, "cancelled"));
    });
  }

 protected:
  ShardSubscription(runtime::Reactor& reactor, StatusCallback end) : reactor_(reactor), end_(std::move(end)) {}

  // Ends the subscription once: the handler is released, then `end` runs.
  void finish(const Status& s) {
    if (done_) return;
    done_ = true;
    drop_handler();
    auto end = std::move(end_);
    if (end) end(s);
  }

  runtime::Reactor& reactor_;
  bool done_ = false;

 private:
  // Leaves the owner's list (on the shard's thread).
  virtual void detach() = 0;
  virtual void drop_handler() = 0;
  StatusCallback end_;
};

}  // namespace redcar::shard
