// Watches of the key-value view: each replays the changes from its start
// revision, in revision order, then follows written changes. A batch never
// splits a revision (a transaction arrives whole), and the next batch goes
// out only when the watcher asks for more. A watch whose start was
// compacted away ends with kCompacted (detail: the compaction revision).
// Runs on the kv shard's thread.
#pragma once

#include <memory>
#include <vector>

#include "engine/shard/gate.h"
#include "engine/common/callback.h"
#include "engine/shard/kv_store.h"
#include "engine/shard/shard_subscription.h"

namespace redcar::shard {

class KvWatchers;

class KvWatcher : public ShardSubscription {
 public:
  KvWatcher(runtime::Reactor& reactor, KvWatchers* owner, WatchOptions opt, WatchHandler handler,
            StatusCallback end)
      : ShardSubscription(reactor, std::move(end)), owner_(owner), opt_(std::move(opt)), handler_(std::move(handler)) {}

 private:
  friend class KvWatchers;
  void detach() override;
  void drop_handler() override { handler_ = nullptr; }
  KvWatchers* owner_;
  WatchOptions opt_;
  WatchHandler handler_;
  int64_t cursor_ = 0;  // next revision to deliver
  bool in_flight_ = false;
};

class KvWatchers {
 public:
  // The shard's gate, which a subscriber asking for more passes.
  void set_gate(Gate* gate) { gate_ = gate; }
  explicit KvWatchers(const KvStore& kv) : kv_(kv) {}

  void watch(std::shared_ptr<KvWatcher> w);
  void unwatch(KvWatcher* w);
  // The key-value view changed: wake every watcher.
  void after_batch();
  void close_all(const Status& why);

 private:
  void pump(const std::shared_ptr<KvWatcher>& w);
  // A subscriber asked for more: it reads on, unless a transaction holds
  // the shard (it then waits, gate.h).
  void resume(const std::shared_ptr<KvWatcher>& w);
  // The next batch of changes for `w` from its cursor on; moves the cursor.
  std::vector<WatchEvent> next_batch(KvWatcher& w) const;

  const KvStore& kv_;
  std::vector<std::shared_ptr<KvWatcher>> watchers_;
  Gate* gate_ = nullptr;  // the shard's; none in tests of the part alone
};

}  // namespace redcar::shard
