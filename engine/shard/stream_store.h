// A shard's streams and their consumer groups: in-memory state (sparse
// index, trims, deletions, idempotency window, groups, subscribers) rebuilt
// from the log, and the operations that stage records into it. Owned by one
// shard; every method runs on that shard's thread.
//
// Visibility: events, trims, deletes and ID changes are applied to the state
// readers see by apply(), which runs for each record once it is durable (and
// for each record at recovery) — so a reader never sees what a crash could
// take back. Appends check expected versions and assign numbers and IDs
// against the *staged* view (staged_next, staged_last_id), which runs ahead.
//
// Consumer-group records are the exception: they change state that the
// next group read must see at once (two readers must not get the same
// entry), so they are applied when staged, and replies still wait for the
// record to be durable. A crash before that may redeliver: at least once.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/api/engine.h"
#include "engine/api/types.h"
#include "engine/log/log.h"
#include "engine/shard/idempotency_window.h"
#include "engine/shard/shard_subscription.h"

namespace redcar::shard {

struct IndexEntry {
  uint64_t pos;          // log offset of the event record
  StreamId id;
  int64_t timestamp_us;
  uint64_t bytes_before; // bytes appended to the stream before this event
};

struct PendingInfo {
  uint64_t number = 0;
  std::string consumer;
  int64_t delivered_ms = 0;
  uint64_t delivery_count = 0;
};

struct ConsumerState {
  int64_t seen_ms = 0;
  int64_t active_ms = -1;
  uint64_t pending = 0;
};

struct GroupState {
  StreamId last_delivered;
  uint64_t cursor = 0;  // number of the first event after last_delivered
  uint64_t entries_read = 0;
  bool entries_read_valid = true;
  std::map<StreamId, PendingInfo> pel;
  std::map<std::string, ConsumerState> consumers;
};

// Group operations that read the stream are asynchronous; they run one at a
// time per group so that two readers never take the same entry.
struct GroupQueue {
  bool busy = false;
  std::deque<std::function<void()>> waiting;
};

class StreamSubscriber;

// Lets maps keyed by std::string be searched with a std::string_view (a
// record's name) without making a string.
struct NameHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using NameMap = std::unordered_map<std::string, V, NameHash, std::equal_to<>>;

struct StreamState {
  std::string name;
  bool exists = false;        // durable view
  bool staged_exists = false;
  uint64_t first = 0;         // first live number
  uint64_t next = 0;          // next number (durable view)
  uint64_t staged_next = 0;
  StreamId last_id;
  StreamId staged_last_id;
  StreamId max_deleted_id;
  uint64_t entries_added = 0;
  uint64_t total_bytes = 0;   // bytes ever appended
  int64_t last_timestamp_us = 0;  // of the newest event
  int64_t created_us = 0;
  uint64_t index_base = 0;    // number of index[0]; a multiple of kIndexStride
  std::vector<IndexEntry> index;
  std::set<uint64_t> deleted;  // XDEL'd numbers in [first, next)
  // Where the last forward read by number stopped: event `resume_number`
  // lies after log offset `resume_pos`, so the read that goes on from
  // it (a reader's next page) starts there rather than at its index
  // block's first event, which it would read from disk again.
  uint64_t resume_number = UINT64_MAX;
  uint64_t resume_pos = 0;
  // The ids of the latest appends (staged ones included), made on the
  // first event that carries one.
  std::unique_ptr<IdempotencyWindow> idempotency;
  std::map<std::string, GroupState> groups;
  std::vector<std::shared_ptr<StreamSubscriber>> subscribers;
  std::vector<EventPtr> fresh;  // events of the last durable batch, for live subscribers
  // Log offset of the delete record that started this incarnation: events
  // of the stream's earlier life sit below it.
  uint64_t incarnation_offset = 0;

  uint64_t length() const { return next - first - deleted.size(); }
  uint64_t live_bytes() const;
};

class StreamStore {
 public:
  StreamStore(log::Log& log, boost::asio::io_context& ctx, unsigned shard) : log_(log), ctx_(ctx), shard_(shard) {}
  ~StreamStore();

  // The log's record, durable (or at recovery). `live` is false at recovery.
  void apply(const log::RecordView& rec, uint64_t log_offset, bool live);
  // After a durable batch: wake the subscribers of the streams it touched.
  void after_batch();
  // Ends every subscription (engine stopping).
  void close_all(const Status& why);

  void append(std::string stream, std::vector<EventData> events, AppendOptions opt, Callback<AppendResult> cb);
  void read(std::string stream, ReadSpec spec, Callback<ReadResult> cb);
  void info(std::string stream, Callback<StreamInfo> cb);
  void list(const std::string& prefix, std::vector<std::string>* out) const;
  void delete_stream(std::string stream, Callback<bool> cb);
  void delete_events(std::string stream, std::vector<StreamId> ids, Callback<uint64_t> cb);
  void trim(std::string stream, TrimSpec spec, Callback<uint64_t> cb);
  void set_last_id(std::string stream, StreamId last, std::optional<uint64_t> entries_added,
                   std::optional<StreamId> max_deleted, Callback<bool> cb);
  void subscribe(std::shared_ptr<StreamSubscriber> sub);
  void unsubscribe(StreamSubscriber* sub);
  void pump(const std::shared_ptr<StreamSubscriber>& sub);

  // Consumer groups (groups.cc).
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

  size_t stream_count() const { return streams_.size(); }

  // Retention (retention.cc): notes what each segment holds, and removes the
  // oldest segments once nothing in them is live, after re-stating the state
  // their records carried (stream IDs, deletions, groups) at the head.
  void note_record(const log::RecordView& rec, uint64_t log_offset);
  void reclaim(std::function<void(Status, uint64_t removed)> done);
  // Stages the key-value view's whole state (shard with the key-value view).
  // `size` estimates what it writes: reclaiming must free several times that.
  void set_kv_restater(std::function<Status()> fn, std::function<uint64_t()> size) {
    kv_restater_ = std::move(fn);
    kv_restate_bytes_ = std::move(size);
  }
  // The durable view of a stream, or null.
  const StreamState* peek(std::string_view name) const {
    auto it = streams_.find(name);
    return it == streams_.end() ? nullptr : it->second.get();
  }

 private:
  using EventsCallback = std::function<void(Result<std::vector<Event>>)>;
  StreamState* find(std::string_view name);
  StreamState& get(std::string_view name);
  // Reads live events numbered [from, to] (at most `count`) of `s`, in order.
  void read_numbers(const std::string& stream, uint64_t from, uint64_t to, uint64_t count, EventsCallback cb);
  // Reads by ID range, forward or backward.
  void read_ids(const std::string& stream, StreamId lo, StreamId hi, uint64_t count, bool reverse,
                EventsCallback cb);
  void read_ids_reverse(const std::string& stream, StreamId lo, StreamId hi, uint64_t count, uint64_t block_end,
                        std::vector<Event> acc, EventsCallback cb);
  // The number of the first event whose ID is >= id (or next if none).
  void number_of_id(const std::string& stream, StreamId id, std::function<void(Result<uint64_t>)> cb);
  uint64_t index_pos_for(const StreamState& s, uint64_t number) const;
  void resolve_trim(const std::string& stream, const TrimSpec& spec, std::function<void(Result<uint64_t>)> cb);
  Result<uint64_t> stage_trim(const std::string& stream, uint64_t new_first);
  // `ts_us` is the record's timestamp; without one it is now. Any value is
  // a valid time (0 is the epoch), so "now" is the absent value, not 0.
  Result<uint64_t> stage(log::RecordType type, const std::string& name, uint64_t number, StreamId id,
                         std::string_view body, std::optional<int64_t> ts_us = std::nullopt);
  void reply_when_durable(std::function<void(const Status&)> fn);
  void apply_group_record(const log::RecordView& rec);
  // Stages a group record and applies it at once (see the top of this file).
  Status stage_group(log::RecordType type, const std::string& stream, uint64_t number, StreamId id,
                     const std::string& body, std::optional<int64_t> ts_us = std::nullopt);
  GroupState* find_group(const std::string& stream, const std::string& group);
  // Runs fn(done) when no other queued operation of this group runs.
  void group_serial(const std::string& stream, const std::string& group, std::function<void(std::function<void()>)> fn);
  void reply_bool(Callback<bool> cb);
  std::unordered_map<std::string, GroupQueue> group_queues_;

  struct SegmentUsage {
    NameMap<uint64_t> max_event;  // stream -> highest event number here
    std::set<std::string> meta;  // streams with non-event records here
    bool kv = false;             // key-value records: not reclaimable (see retention.cc)
  };
  bool segment_live(uint64_t seg_first, const SegmentUsage& u) const;
  void restate(const std::string& stream);
  std::map<uint64_t, SegmentUsage> usage_;
  // note_record()'s last answer: records come in runs of one stream in one
  // segment. Map nodes stay put until erased (reclaim() forgets these).
  uint64_t last_usage_seg_ = UINT64_MAX;
  SegmentUsage* last_usage_ = nullptr;
  const std::string* last_usage_name_ = nullptr;
  uint64_t* last_usage_max_ = nullptr;
  std::function<Status()> kv_restater_;
  std::function<uint64_t()> kv_restate_bytes_;
  bool reclaiming_ = false;
  void end_subscribers(StreamState& s, const Status& why);

  log::Log& log_;
  boost::asio::io_context& ctx_;
  unsigned shard_;
  NameMap<std::unique_ptr<StreamState>> streams_;
  // get()'s last answer, for runs of events of one stream; forgotten when a
  // stream's state is replaced (a delete).
  StreamState* last_stream_ = nullptr;
  std::vector<StreamState*> touched_;  // by the batch being applied
};

// One subscriber of one stream; lives on the stream's shard.
class StreamSubscriber : public ShardSubscription {
 public:
  StreamSubscriber(boost::asio::io_context& ctx, StreamStore* store, std::string stream, SubscribeOptions opt,
                   Subscription::Handler handler, StatusCallback end)
      : ShardSubscription(ctx, std::move(end)), store_(store), stream_(std::move(stream)), opt_(opt),
        handler_(std::move(handler)) {}

 private:
  friend class StreamStore;
  void detach() override;
  void drop_handler() override { handler_ = nullptr; }
  StreamStore* store_;
  std::string stream_;
  SubscribeOptions opt_;
  Subscription::Handler handler_;
  uint64_t cursor_ = 0;
  bool started_ = false;
  bool in_flight_ = false;  // a batch is with the handler
  bool reading_ = false;    // reading back from the log
};

int64_t now_us();
int64_t now_ms();
std::string encode_event_body(const EventData& e);
// The same, in place: write_event_body() writes exactly event_body_size().
size_t event_body_size(const EventData& e);
void write_event_body(const EventData& e, uint8_t* out);
bool decode_event_body(std::string_view body, EventData* out);
// The idempotency id alone (empty if none), read past the rest without
// copying it. False if the body does not parse.
bool event_idempotency_id(std::string_view body, std::string_view* id);

}  // namespace redcar::shard
