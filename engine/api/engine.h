// The Engine facade: the only thing front ends call. It owns the shards,
// routes each operation to the shard that owns the stream (xxhash of the
// name modulo the shard count) or to the key-value shard, and hands back the
// answer.
//
// Thread-safety: every method may be called from any thread. Callbacks run
// on the owning shard's thread; wrap them with `on(executor, cb)` to have
// them posted to your own executor instead. A callback must not block.
//
// Errors are values: each callback receives a Result whose Status names
// what went wrong (kWrongExpectedVersion carries the actual version in its
// message and in detail(), kNoSpace/kIoError carry the errno).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/api/types.h"
#include "engine/common/status.h"
#include "engine/log/log.h"

namespace redcar {

namespace io {
class MemFs;
}
namespace shard {
class Shard;
}

template <typename T>
using Callback = std::function<void(Result<T>)>;
using StatusCallback = std::function<void(Status)>;

// Wraps a callback so that it runs on `ex` rather than on the shard. When
// the shard's thread is `ex`'s thread, it runs at once: no hop.
template <typename T>
Callback<T> on(boost::asio::any_io_executor ex, Callback<T> cb) {
  return [ex, cb = std::move(cb)](Result<T> r) mutable {
    boost::asio::dispatch(ex, [cb = std::move(cb), r = std::move(r)]() mutable { cb(std::move(r)); });
  };
}

struct EngineOptions {
  std::string data_dir = "./data";
  unsigned shards = 0;  // 0: one per core
  log::FsyncMode fsync = log::FsyncMode::kAlways;
  uint32_t fsync_interval_ms = 100;
  uint64_t segment_bytes = limits::kDefaultSegmentBytes;
  size_t hot_cache_bytes = limits::kDefaultHotCacheBytes;
  bool repair = false;
  uint32_t reclaim_interval_ms = 1000;  // how often shards look for segments to reclaim
  io::MemFs* mem_fs = nullptr;  // tests: use the in-memory disk
};

// Parses "always", "never", "interval:MS".
bool parse_fsync_mode(std::string_view text, log::FsyncMode* mode, uint32_t* interval_ms);

struct ReadResult {
  std::vector<Event> events;
  bool exists = false;
  uint64_t next_number = 0;   // the number the next append will get
  StreamId last_id;
};

struct GroupEntry {
  StreamId id;
  std::optional<Event> event;  // empty: the event was deleted or trimmed
  uint64_t delivery_count = 0; // with this delivery (0: NOACK, not pending)
};

// Subscription to one stream: events arrive in order, in batches; the next
// batch comes only after `more()` is called, so a slow subscriber holds at
// most one batch and otherwise reads back from the log when it asks again.
class Subscription {
 public:
  using Handler = std::function<void(std::vector<EventPtr> events, std::function<void()> more)>;
  virtual ~Subscription() = default;
  virtual void cancel() = 0;
};

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> open(EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Finishes what is staged, then stops every shard. Idempotent.
  void stop();

  unsigned shard_count() const;
  unsigned shard_of(std::string_view stream) const;
  unsigned kv_shard() const { return 0; }
  // The shard's event loop: front ends run their connections on these.
  boost::asio::io_context& context(unsigned shard);
  const log::RecoveryReport& recovery_report(unsigned shard) const;

  // --- streams ---
  void append(std::string stream, std::vector<EventData> events, AppendOptions opt, Callback<AppendResult> cb);
  void read(std::string stream, ReadSpec spec, Callback<ReadResult> cb);
  void stream_info(std::string stream, Callback<StreamInfo> cb);
  // Streams of every shard whose name starts with `prefix`, sorted.
  void list_streams(std::string prefix, Callback<std::vector<std::string>> cb);
  void delete_stream(std::string stream, Callback<bool> cb);
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
  void group_ack(std::string stream, std::string group, std::vector<StreamId> ids, Callback<uint64_t> cb);
  void group_pending_summary(std::string stream, std::string group, Callback<PendingSummary> cb);
  void group_pending(std::string stream, PendingQuery q, Callback<std::vector<PendingEntry>> cb);
  void group_claim(std::string stream, ClaimOptions opt, Callback<ClaimResult> cb);
  void group_consumers(std::string stream, std::string group, Callback<std::vector<ConsumerInfo>> cb);

  // --- key-value (etcd semantics) ---
  void kv_range(RangeRequest req, Callback<RangeResult> cb);
  void kv_put(std::string key, std::string value, bool prev_kv, Callback<TxnResult> cb);
  void kv_delete(std::string key, std::string range_end, bool prev_kv, Callback<TxnResult> cb);
  void kv_txn(TxnRequest txn, Callback<TxnResult> cb);
  void kv_compact(int64_t revision, Callback<int64_t> cb);
  void kv_status(Callback<KvStatus> cb);
  // Delivers batches of changes from `start_revision` on, in revision order;
  // `more()` asks for the next batch. Ends with kCompacted if the start was
  // compacted away.
  using WatchHandler = std::function<void(std::vector<WatchEvent> events, int64_t revision, std::function<void()> more)>;
  std::shared_ptr<Subscription> kv_watch(WatchOptions opt, WatchHandler handler, StatusCallback end);

 private:
  explicit Engine(EngineOptions options);
  shard::Shard& shard_for(std::string_view stream);
  EngineOptions opt_;
  std::vector<std::unique_ptr<shard::Shard>> shards_;
  int lock_fd_ = -1;
  bool stopped_ = false;
};

}  // namespace redcar
