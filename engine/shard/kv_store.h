// The key-value view with etcd's semantics: one revision counter for the
// whole key space, per-key create/mod revision and version, history kept
// until compaction, and watches that replay history and then follow live
// writes. It lives on one shard (Engine::kv_shard()) because a revision is a
// total order and a transaction may span any keys.
//
// Reads (range, watch) see durable revisions only. Writes are evaluated
// against the staged view — durable state plus the writes still in flight —
// so transactions issued back to back compare against each other's results
// without waiting for a flush.
//
// Values and their history are held in memory; the log is their durable copy.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/api/engine.h"
#include "engine/log/log.h"
#include "engine/shard/shard_subscription.h"

namespace redcar::shard {

class KvWatcher;

class KvStore {
 public:
  KvStore(log::Log& log, boost::asio::io_context& ctx) : log_(log), ctx_(ctx) {}

  void apply(const log::RecordView& rec, bool live);
  void after_batch();
  void close_all(const Status& why);

  void range(const RangeRequest& req, Callback<RangeResult> cb);
  void txn(TxnRequest req, Callback<TxnResult> cb);
  void compact(int64_t revision, Callback<int64_t> cb);
  void status(Callback<KvStatus> cb);
  void watch(std::shared_ptr<KvWatcher> w);
  void unwatch(KvWatcher* w);
  void pump(const std::shared_ptr<KvWatcher>& w);

  int64_t revision() const { return revision_; }
  // Stages every version the view keeps as kv-restore records, so that the
  // segments holding the original writes can be reclaimed.
  Status restate();
  // About how many bytes restate() would write.
  uint64_t restate_bytes() const;

 private:
  struct Version {
    int64_t mod = 0;
    int64_t create = 0;
    int64_t version = 0;
    bool tombstone = false;
    std::string value;
  };
  struct Change {
    int64_t rev;
    std::string key;
  };
  // The latest version of `key` in the staged view, or null if absent.
  void apply_restore(const log::RecordView& rec, bool live);
  const Version* staged_lookup(const std::string& key) const;
  // Keys alive in the staged view within [key, end).
  std::vector<std::string> staged_keys(const std::string& key, const std::string& end) const;
  RangeResult range_at(const RangeRequest& req, bool staged) const;
  bool compare(const KvCompare& c) const;
  static KeyValue to_kv(const std::string& key, const Version& v, bool keys_only);

  log::Log& log_;
  boost::asio::io_context& ctx_;
  std::map<std::string, std::vector<Version>> keys_;  // durable history, oldest first
  std::vector<Change> changes_;                        // durable, revision order
  // As in etcd, an empty store is at revision 1 and the first write makes 2.
  int64_t revision_ = 1;
  int64_t compact_revision_ = 0;
  std::map<std::string, Version> staged_;  // newest staged version per key
  int64_t staged_revision_ = 1;
  std::vector<std::shared_ptr<KvWatcher>> watchers_;
  bool changed_ = false;
};

class KvWatcher : public ShardSubscription {
 public:
  KvWatcher(boost::asio::io_context& ctx, KvStore* store, WatchOptions opt, Engine::WatchHandler handler,
            StatusCallback end)
      : ShardSubscription(ctx, std::move(end)), store_(store), opt_(std::move(opt)), handler_(std::move(handler)) {}

 private:
  friend class KvStore;
  void detach() override { store_->unwatch(this); }
  void drop_handler() override { handler_ = nullptr; }
  KvStore* store_;
  WatchOptions opt_;
  Engine::WatchHandler handler_;
  int64_t cursor_ = 0;  // next revision to deliver
  bool in_flight_ = false;
};

// Whether `key` falls in etcd's [key, range_end) convention.
bool in_range(const std::string& key, const std::string& start, const std::string& end);

}  // namespace redcar::shard
