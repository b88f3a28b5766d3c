// The key-value view with etcd's semantics: one revision counter for the
// whole key space, per-key create/mod revision and version, history kept
// until compaction. It lives on one shard (the engine's kv shard) because a
// revision is a total order and a transaction may span any keys. Watches
// follow it through KvWatchers (kv_watch.h).
//
// Reads (range, watch) see written revisions only. Writes are evaluated
// against the staged view — written state plus the writes still in flight —
// so transactions issued back to back compare against each other's results
// without waiting for a flush.
//
// Values and their history are held in memory; the log is their durable
// copy. Runs on the shard's thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/callback.h"
#include "engine/log/log.h"

namespace redcar::shard {

class KvStore {
 public:
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

  explicit KvStore(log::Log& log);
  ~KvStore();

  // A key-value record, written (`live`) or recovered.
  void apply(const log::RecordView& rec, bool live);
  // Whether anything changed since the last call (watchers have news).
  bool take_changed() { return std::exchange(changed_, false); }

  void range(const RangeRequest& req, Callback<RangeResult> cb);
  // The written value of `key` now, seen by `view` during the call only.
  void get(const std::string& key, Callback<std::optional<std::string_view>> view) const;
  void txn(TxnRequest req, Callback<TxnResult> cb);
  // The same with the caller's request, read before this returns.
  void txn_lent(const TxnRequest& req, Callback<TxnResult> cb);
  // A read-modify-write of one key (Engine::kv_update), planned at once
  // against the staged view.
  void update(const std::string& key, KvUpdater& fn, Callback<KvUpdateResult> cb);
  void compact(int64_t revision, Callback<int64_t> cb);
  void status(Callback<KvStatus> cb);
  // Whether a live key holds `key` (staged view: a write in flight counts).
  bool has_key(const std::string& key) const { return staged_lookup(key) != nullptr; }

  int64_t revision() const { return revision_; }
  int64_t compact_revision() const { return compact_revision_; }
  // Written changes, in revision order, and a key's history (oldest first).
  const std::vector<Change>& changes() const { return changes_; }
  const std::vector<Version>* history(const std::string& key) const {
    auto it = keys_.find(key);
    return it == keys_.end() ? nullptr : &it->second;
  }
  static KeyValue to_kv(const std::string& key, const Version& v, bool keys_only);

  // Stages every version the view keeps as kv-restore records, so that the
  // segments holding the original writes can be reclaimed.
  Status restate();
  // About how many bytes restate() would write.
  uint64_t restate_bytes() const;

 private:
  struct TxnPlan;
  void apply_txn(const log::RecordView& rec, bool live);
  void apply_compact(int64_t rev);
  void apply_restore(const log::RecordView& rec, bool live);
  // The latest version of `key` in the staged view, or null if absent.
  const Version* staged_lookup(const std::string& key) const;
  // Keys alive in the staged view within [key, end).
  std::vector<std::string> staged_keys(const std::string& key, const std::string& end) const;
  RangeResult range_at(const RangeRequest& req, bool staged) const;
  Status check_revision(int64_t revision) const;
  bool compare(const KvCompare& c) const;
  static Status check_txn(const TxnRequest& req);
  Status plan_op(const KvOp& op, TxnPlan& plan, KvOpResult* r) const;
  void plan_delete(const KvOp& op, TxnPlan& plan, KvOpResult* r) const;
  Status stage_restore(std::string_view versions, uint64_t count);

  log::Log& log_;
  // A transaction's plan and record body are built in these, which keep
  // their capacity from one transaction to the next (txn is not reentrant:
  // it runs start to end on the shard's thread).
  std::unique_ptr<TxnPlan> plan_;
  std::string body_;
  std::map<std::string, std::vector<Version>> keys_;  // written history, oldest first
  std::vector<Change> changes_;                        // written, revision order
  // As in etcd, an empty store is at revision 1 and the first write makes 2.
  int64_t revision_ = 1;
  int64_t compact_revision_ = 0;
  std::map<std::string, Version> staged_;  // newest staged version per key
  int64_t staged_revision_ = 1;
  bool changed_ = false;
};

// Whether `key` falls in etcd's [key, range_end) convention.
bool in_range(const std::string& key, const std::string& start, const std::string& end);

}  // namespace redcar::shard
