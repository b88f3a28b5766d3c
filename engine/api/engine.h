// The Engine facade: the only thing front ends call. It owns the shards,
// routes each operation to the shard that owns the stream (xxhash of the
// name modulo the shard count) or to the key-value shard, and hands back the
// answer.
//
// Thread-safety: every method may be called from any thread. Callbacks run
// on the owning shard's thread; wrap them with `on(executor, cb)` to have
// them posted to your own executor instead. A callback must not block.
//
// Errors are values: each callback receives a Result whose Status has a
// code and, where protocols word causes differently, a reason
// (engine/common/status.h). Messages are neutral; front ends word them.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/common/event_view.h"
#include "engine/common/callback.h"
#include "engine/common/fsync.h"
#include "engine/common/group_read_lent.h"
#include "engine/common/limits.h"
#include "engine/common/options.h"
#include "engine/common/status.h"
#include "engine/common/types.h"
#include "runtime/reactor.h"

namespace redcar {

namespace shard {
class DataDir;
class Shard;
}


class Engine {
 public:
  using WatchHandler = redcar::WatchHandler;

  static Result<std::unique_ptr<Engine>> open(EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Finishes what is staged, then stops every shard. Idempotent.
  void stop();

  // What the engine was opened with (the shard count as chosen).
  const EngineOptions& options() const { return opt_; }
  unsigned shard_count() const;
  unsigned shard_of(std::string_view stream) const;
  unsigned kv_shard() const { return 0; }
  // The shard's event loop (its io_uring reactor): front ends run their
  // connections on these, and post work to them from other threads.
  runtime::Reactor& context(unsigned shard);
  const RecoveryReport& recovery_report(unsigned shard) const;

  // --- streams ---
  // With opt.refuse_over_key, a new stream is refused (kWrongType) when a
  // key of the key-value view holds its name: one call for XADD.
  void append(std::string stream, std::vector<EventData> events, AppendOptions opt, Callback<AppendResult> cb);
  // The same with events the caller lends: they are read on the stream's
  // shard while the append is staged, and must stay until `cb` runs. A
  // front end that reuses one vector per request appends without copying.
  void append_lent(std::string stream, const std::vector<EventData>* events, AppendOptions opt,
                   Callback<AppendResult> cb);
  void read(std::string stream, ReadSpec spec, Callback<ReadResult> cb);
  // A forward read (spec.reverse is false) that lends each event to `visit`
  // on the stream's shard thread, in order, until it returns false; then
  // `done` runs there. What it writes from the views, it writes while the
  // visit lasts: the hot path of a range read, with no copy of any event.
  using EventVisitor = runtime::Function<bool(const EventView&), kCallbackInlineBytes>;
  using ReadDone = runtime::Function<void(Status), kCallbackInlineBytes>;
  void read_views(std::string stream, ReadSpec spec, EventVisitor visit, ReadDone done);
  void stream_info(std::string stream, Callback<StreamInfo> cb);
  // Streams of every shard whose name starts with `prefix`, sorted.
  void list_streams(std::string prefix, Callback<std::vector<std::string>> cb);
  void delete_stream(std::string stream, Callback<bool> cb);
  // Sets or (e.at_ms 0) removes the stream's deadline (EXPIRE, PERSIST); a
  // deadline passed deletes it. False: no stream, or the option refused.
  void stream_expire(std::string stream, KvExpire e, Callback<bool> cb);
  // The visible streams of every shard per Redis database, those with a
  // deadline and their mean time left, and how many have expired.
  void stream_expiry_stats(Callback<KvExpiryStats> cb);
  void delete_events(std::string stream, std::vector<StreamId> ids, Callback<uint64_t> cb);
  void trim(std::string stream, TrimSpec spec, Callback<uint64_t> cb);
  // XSETID: move the last ID (and optionally entries-added / max-deleted).
  void set_last_id(std::string stream, StreamId last, std::optional<uint64_t> entries_added,
                   std::optional<StreamId> max_deleted, Callback<bool> cb);
  std::shared_ptr<Subscription> subscribe(std::string stream, SubscribeOptions opt, Subscription::Handler handler,
                                          StatusCallback end);
  // Every stream whose name starts with `prefix` ("" for all), from the
  // beginning of the log or from now on. Each shard's events arrive in the
  // order they were committed; the handler runs on the shard's thread, so
  // batches of different shards may arrive concurrently. `end` runs once.
  std::shared_ptr<Subscription> subscribe_all(std::string prefix, bool from_start, Subscription::Handler handler,
                                              StatusCallback end);

  void storage_stats(Callback<StorageStats> cb);

  // --- consumer groups ---
  // `last` = StreamId::max() means "$" (the stream's last ID).
  void group_create(std::string stream, std::string group, StreamId last, bool mkstream,
                    std::optional<uint64_t> entries_read, Callback<bool> cb);
  void group_destroy(std::string stream, std::string group, Callback<bool> cb);
  void group_set_id(std::string stream, std::string group, StreamId last, std::optional<uint64_t> entries_read,
                    Callback<bool> cb);
  void consumer_create(std::string stream, std::string group, std::string consumer, Callback<bool> cb);
  void consumer_delete(std::string stream, std::string group, std::string consumer, Callback<uint64_t> cb);
  void group_read(std::string stream, GroupReadOptions opt, Callback<std::vector<GroupEntry>> cb);
  // New entries (never history) lent to req->visit on the stream's shard
  // (group_read_lent.h); `req` stays the caller's until `cb` has run.
  void group_read_lent(GroupReadLent* req, Callback<uint64_t> cb);
  void group_ack(std::string stream, std::string group, std::vector<StreamId> ids, Callback<uint64_t> cb);
  void group_pending_summary(std::string stream, std::string group, Callback<PendingSummary> cb);
  void group_pending(std::string stream, PendingQuery q, Callback<std::vector<PendingEntry>> cb);
  void group_claim(std::string stream, ClaimOptions opt, Callback<ClaimResult> cb);
  void group_consumers(std::string stream, std::string group, Callback<std::vector<ConsumerInfo>> cb);

  // --- key-value (etcd semantics) ---
  void kv_range(RangeRequest req, Callback<RangeResult> cb);
  // The current value of one key (nullopt: none), for a reader that uses it
  // at once: `view` runs on the key-value shard's thread and the value it
  // sees lives only for the call, so nothing is copied or gathered.
  void kv_get(std::string key, Callback<std::optional<std::string_view>> view) {
    kv_get(std::move(key), KvType::kString, std::move(view));
  }
  // The same for a key of type `type`: kWrongType if it holds another.
  void kv_get(std::string key, KvType type, Callback<std::optional<std::string_view>> view);
  // A token that changes with every write of `key` of any type, a delete
  // included (KvStore::last_change): what WATCH compares.
  void kv_last_change(std::string key, Callback<int64_t> cb);
  void kv_put(std::string key, std::string value, bool prev_kv, Callback<TxnResult> cb);
  void kv_delete(std::string key, std::string range_end, bool prev_kv, Callback<TxnResult> cb);
  void kv_txn(TxnRequest txn, Callback<TxnResult> cb);
  // The same with the caller's request: read on the key-value shard before
  // `cb` runs, and the caller's until then (SET lends its reply's).
  void kv_txn_lent(const TxnRequest* txn, Callback<TxnResult> cb);
  // A read-modify-write of `key` (INCR, APPEND, GETDEL...): `fn` runs on
  // the key-value shard, shown the key's value in the staged view, and what
  // it returns is written as one transaction before any other is planned,
  // so no other write comes between the read and the write. `cb` gets the
  // value before and after once the write is durable (at once if none).
  void kv_update(std::string key, KvUpdater fn, Callback<KvUpdateResult> cb) {
    kv_update(std::move(key), KvType::kString, std::move(fn), std::move(cb));
  }
  // The same for a key of type `type` (a hash's HSET): kWrongType, and no
  // call of `fn`, if it holds another.
  void kv_update(std::string key, KvType type, KvUpdater fn, Callback<KvUpdateResult> cb);
  void kv_compact(int64_t revision, Callback<int64_t> cb);
  // Sets or removes a key's deadline (KvStore::expire): whether it did.
  void kv_expire(std::string key, KvExpire e, Callback<bool> cb);
  // A key's written deadline: -2 no key, -1 none, else Unix ms.
  void kv_deadline(std::string key, Callback<int64_t> cb);
  void kv_expiry_stats(Callback<KvExpiryStats> cb);
  void kv_status(Callback<KvStatus> cb);
  // Delivers batches of changes from `start_revision` on, in revision order;
  // `more()` asks for the next batch. Ends with kCompacted if the start was
  // compacted away.
  std::shared_ptr<Subscription> kv_watch(WatchOptions opt, WatchHandler handler, StatusCallback end);

  // --- transactions (EXEC; FORMAT.md, Transactions) ---
  // Holds `shards` for one transaction (the key-value shard is added: it
  // numbers and decides them, so transactions queue there one at a time).
  // From when `cb` runs until txn_end, only work of the transaction runs on
  // them — what the caller does with its id current (runtime::TxnScope) and
  // everything that causes — and what it writes there is provisional: after
  // a crash it is all there or none of it is, whichever shards it touched.
  // Others' requests to those shards wait, in order, and subscribers see
  // the writes only once they commit. `cb` runs on the last shard held.
  void txn_begin(std::vector<unsigned> shards, Callback<uint64_t> cb);
  // Commits what the transaction wrote and lets its shards go; `cb` runs
  // once the commit is durable (true: something was written), or with why
  // it could not be. Called with the same shards, once.
  void txn_end(uint64_t txn, std::vector<unsigned> shards, Callback<bool> cb);

 private:
  explicit Engine(EngineOptions options);
  shard::Shard& shard_for(std::string_view stream);
  shard::Shard& kv() { return *shards_[kv_shard()]; }
  // Runs fn(shard, stream) on the thread of the shard that owns `stream`.
  template <typename Fn>
  void on_stream(std::string stream, Fn&& fn);
  // How a new stream asks the key-value shard whether a key holds its name.
  void wire_key_probes();
  // The shards of a transaction, as txn_begin takes them: sorted, once
  // each, the key-value shard among them.
  std::vector<unsigned> txn_shards(std::vector<unsigned> shards) const;

  EngineOptions opt_;
  std::unique_ptr<shard::DataDir> data_dir_;
  std::vector<std::unique_ptr<shard::Shard>> shards_;
  bool stopped_ = false;
};

}  // namespace redcar
