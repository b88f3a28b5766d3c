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
// A version may carry a deadline (Redis's EXPIRE; Unix ms). From that
// instant the key reads as absent everywhere the current state is read
// (get, range, compares, a write's view); reap() then deletes it with a
// revision of its own, so etcd watchers see the delete, as they see a
// lease's. Changing a deadline writes a new version of the same value:
// as in etcd, where a key takes a lease only by a Put.
//
// A version has a type (KvType): a Redis hash is a key here too, its value
// the hash's encoding (hash_value.h). Whatever serves etcd sees strings
// only: reads, compares, deletes and watches skip other types unless the
// request asks for all of them, and a put of one type over another starts
// the key anew (create revision, version 1).
//
// Values and their history are held in memory; the log is their durable
// copy. Runs on the shard's thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <cstdint>
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
    int64_t expire_ms = 0;  // 0: never
    KvType type = KvType::kString;  // a tombstone: the type it deleted
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
  // The written value of `key` now, seen by `view` during the call only;
  // kWrongType when the key holds another type than `type`.
  void get(const std::string& key, KvType type, Callback<std::optional<std::string_view>> view) const;
  // A token that changes with every write of `key` (WATCH): the revision
  // of its last write, negated once it has expired; 0 for a key never
  // written or compacted away.
  int64_t last_change(const std::string& key) const;
  void txn(TxnRequest req, Callback<TxnResult> cb);
  // The same with the caller's request, read before this returns.
  void txn_lent(const TxnRequest& req, Callback<TxnResult> cb);
  // A read-modify-write of one key of type `type` (Engine::kv_update),
  // planned at once against the staged view; kWrongType when the key holds
  // another type.
  void update(const std::string& key, KvType type, KvUpdater& fn, Callback<KvUpdateResult> cb);
  void compact(int64_t revision, Callback<int64_t> cb);
  void status(Callback<KvStatus> cb);
  // Sets or removes `key`'s deadline (false: no such key, or `when` says
  // no); a deadline already past deletes the key, as Redis does.
  void expire(const std::string& key, const KvExpire& e, Callback<bool> cb);
  // The written deadline of `key`: -2 no key, -1 none, else Unix ms.
  int64_t deadline(const std::string& key) const;
  // The earliest deadline of a written version (INT64_MAX: none), and
  // deletes, in one revision, every key whose deadline is past at `now_ms`.
  int64_t next_deadline() const { return deadlines_.empty() ? INT64_MAX : deadlines_.begin()->first; }
  void reap(int64_t now_ms);
  KvExpiryStats expiry_stats() const;
  // Whether a live key holds `key` (staged view: a write in flight counts).
  bool has_key(const std::string& key) const { return staged_lookup(key) != nullptr; }
  // Whether `v` is there at `now_ms`: not deleted, not expired.
  static bool alive(const Version& v, int64_t now_ms) {
    return !v.tombstone && (v.expire_ms == 0 || v.expire_ms > now_ms);
  }

  int64_t revision() const { return revision_; }
  int64_t compact_revision() const { return compact_revision_; }
  // Written changes, in revision order, and a key's history (oldest first).
  const std::vector<Change>& changes() const { return changes_; }
  const std::vector<Version>* history(const std::string& key) const {
    auto it = keys_.find(key);
    return it == keys_.end() ? nullptr : &it->second;
  }
  static KeyValue to_kv(const std::string& key, const Version& v, bool keys_only);

  // Stages every version the view keeps as kv-restore records (kv_restate.cc), so that the
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
  std::vector<std::string> staged_keys(const std::string& key, const std::string& end, bool all_types) const;
  // A range of the written view, or of the staged one with `plan`'s writes
  // on top (a range inside a transaction sees the transaction's earlier
  // writes, as in etcd).
  RangeResult range_at(const RangeRequest& req, bool staged, const TxnPlan* plan = nullptr) const;
  Status check_revision(int64_t revision) const;
  bool compare(const KvCompare& c, bool all_types) const;
  // Plans the branch path_[at] chose of `t`, nested transactions included.
  Status plan_branch(const TxnRequest& t, bool all_types, size_t& at, TxnPlan& plan, TxnResult* res) const;
  Status plan_op(const KvOp& op, bool all_types, TxnPlan& plan, KvOpResult* r) const;
  // The plan's writes within `req`'s range, laid over `hits` (by key).
  void overlay(const TxnPlan& plan, const RangeRequest& req, int64_t now,
               std::vector<std::pair<std::string, const Version*>>* hits) const;
  void plan_delete(const KvOp& op, bool all_types, TxnPlan& plan, KvOpResult* r) const;
  Status stage_restore(std::string_view versions, uint64_t count);
  // Stages the plan's record; `cb` with `res` once it is durable.
  void stage_plan(TxnPlan& plan, TxnResult res, Callback<TxnResult> cb);
  // The newest staged version of `key`, expired or not (null: deleted).
  const Version* staged_raw(const std::string& key) const;
  void note_deadline(const std::string& key, const Version& v);

  log::Log& log_;
  // A transaction's plan and record body are built in these, which keep
  // their capacity from one transaction to the next (txn is not reentrant:
  // it runs start to end on the shard's thread).
  std::unique_ptr<TxnPlan> plan_;
  std::vector<char> path_;  // the branch each transaction on the path takes
  std::string body_;
  std::map<std::string, std::vector<Version>> keys_;  // written history, oldest first
  std::vector<Change> changes_;                        // written, revision order
  // As in etcd, an empty store is at revision 1 and the first write makes 2.
  int64_t revision_ = 1;
  int64_t compact_revision_ = 0;
  std::map<std::string, Version> staged_;  // newest staged version per key
  // (deadline, key) of written versions that carry one; entries of
  // versions since replaced stay until reap() meets them.
  std::set<std::pair<int64_t, std::string>> deadlines_;
  uint64_t expired_ = 0;  // keys reap() deleted
  int64_t staged_revision_ = 1;
  bool changed_ = false;
};

// Whether `key` falls in etcd's [key, range_end) convention.
bool in_range(const std::string& key, const std::string& start, const std::string& end);

}  // namespace redcar::shard
