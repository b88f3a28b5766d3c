// Subscriptions to one stream: a subscriber starts at a number (or the
// stream's start or end), catches up by reading the log in batches, then
// follows live appends from the events of each written batch, with no gap
// and no duplicate at the switch. The next batch goes out only when the
// subscriber asks for more, so a slow one holds one batch and otherwise
// reads back from the log: producers never wait for it.
//
// Live events are decoded once per written batch and shared (EventPtr) by
// every subscriber of the stream. Runs on the shard's thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/shard/gate.h"
#include "engine/common/callback.h"
#include "engine/log/record.h"
#include "engine/shard/shard_subscription.h"
#include "engine/shard/stream_reader.h"
#include "engine/shard/stream_table.h"

namespace redcar::shard {

class StreamSubscriptions;

// One subscriber of one stream; lives on the stream's shard.
class StreamSubscriber : public ShardSubscription {
 public:
  StreamSubscriber(runtime::Reactor& reactor, StreamSubscriptions* owner, std::string stream, SubscribeOptions opt,
                   Subscription::Handler handler, StatusCallback end)
      : ShardSubscription(reactor, std::move(end)), owner_(owner), stream_(std::move(stream)), opt_(opt),
        handler_(std::move(handler)) {}

 private:
  friend class StreamSubscriptions;
  void detach() override;
  void drop_handler() override { handler_ = nullptr; }
  StreamSubscriptions* owner_;
  std::string stream_;
  SubscribeOptions opt_;
  Subscription::Handler handler_;
  uint64_t cursor_ = 0;
  bool in_flight_ = false;  // a batch is with the handler
  bool reading_ = false;    // reading back from the log
};

class StreamSubscriptions {
 public:
  // The shard's gate, which a subscriber asking for more passes.
  void set_gate(Gate* gate) { gate_ = gate; }
  StreamSubscriptions(StreamTable& table, StreamReader& reader) : table_(table), reader_(reader) {}

  void subscribe(std::shared_ptr<StreamSubscriber> sub);
  void unsubscribe(StreamSubscriber* sub);

  // A written event: kept for the stream's subscribers until the batch ends.
  void on_event(const log::RecordView& rec);
  // The stream was deleted: its subscribers end with `why`.
  void on_stream_deleted(std::string_view stream, const Status& why);
  // After a written batch: wakes the subscribers of the streams it touched.
  void after_batch();
  // Ends every subscription (engine stopping).
  void close_all(const Status& why);

 private:
  struct Followers {
    std::vector<std::shared_ptr<StreamSubscriber>> subs;
    std::vector<EventPtr> fresh;  // events of the last written batch
    bool touched = false;         // by the batch being applied
  };
  void pump(const std::shared_ptr<StreamSubscriber>& sub);
  // A subscriber asked for more: it reads on, unless a transaction holds
  // the shard (it then waits, gate.h).
  void resume(const std::shared_ptr<StreamSubscriber>& sub);
  // Delivers the fresh events to a subscriber at their start; false if it
  // is not there (it must catch up from the log).
  bool deliver_fresh(const std::shared_ptr<StreamSubscriber>& sub, const StreamState& s, Followers& f);
  void catch_up(const std::shared_ptr<StreamSubscriber>& sub);
  void deliver(const std::shared_ptr<StreamSubscriber>& sub, std::vector<EventPtr> evs);
  void end(const std::shared_ptr<StreamSubscriber>& sub, const Status& why);

  StreamTable& table_;
  StreamReader& reader_;
  NameMap<Followers> followers_;
  std::vector<std::string> touched_;
  Gate* gate_ = nullptr;  // the shard's; none in tests of the part alone
};

}  // namespace redcar::shard
