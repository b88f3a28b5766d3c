// Subscriptions to every stream of a shard whose name starts with a prefix
// (the empty prefix: all streams). Such a subscriber follows the shard's log
// itself: its cursor is a log offset, catch-up is a scan of the log and live
// delivery the same scan over the newest batch, so it needs no per-stream
// bookkeeping and sees a shard's events in the order they were committed.
// Events trimmed, deleted or from a deleted stream's earlier life are
// skipped. Owned by one shard; runs on its thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/shard/gate.h"
#include "engine/common/callback.h"
#include "engine/log/log.h"
#include "engine/shard/shard_subscription.h"
#include "engine/shard/stream_table.h"

namespace redcar::shard {

class TailSubscriber;

class TailSubscriptions {
 public:
  // The shard's gate, which a subscriber asking for more passes.
  void set_gate(Gate* gate) { gate_ = gate; }
  TailSubscriptions(log::Log& log, const StreamTable& table) : log_(log), table_(table) {}
  void add(std::shared_ptr<TailSubscriber> sub);
  void remove(TailSubscriber* sub);
  void after_batch();
  void close_all(const Status& why);
  void pump(const std::shared_ptr<TailSubscriber>& sub);
  // A subscriber asked for more: it reads on, unless a transaction holds
  // the shard (it then waits, gate.h).
  void resume(const std::shared_ptr<TailSubscriber>& sub);

 private:
  log::Log& log_;
  const StreamTable& table_;
  std::vector<std::shared_ptr<TailSubscriber>> subs_;
  Gate* gate_ = nullptr;  // the shard's; none in tests of the part alone
};

class TailSubscriber : public ShardSubscription {
 public:
  TailSubscriber(runtime::Reactor& reactor, TailSubscriptions* owner, std::string prefix, bool from_start,
                 Subscription::Handler handler, StatusCallback end)
      : ShardSubscription(reactor, std::move(end)), owner_(owner), prefix_(std::move(prefix)), from_start_(from_start),
        handler_(std::move(handler)) {}

 private:
  friend class TailSubscriptions;
  void detach() override { owner_->remove(this); }
  void drop_handler() override { handler_ = nullptr; }
  TailSubscriptions* owner_;
  std::string prefix_;
  bool from_start_;
  Subscription::Handler handler_;
  uint64_t cursor_ = 0;
  bool in_flight_ = false;
  bool reading_ = false;
};

}  // namespace redcar::shard
