// The values that cross the engine boundary: events, stream IDs, options and
// results of each operation. Plain data, copyable, no behaviour beyond
// comparisons and formatting. Front ends build these from their protocol and
// turn results back into it; the engine never sees RESP or protobuf.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace redcar {

// A Redis stream ID, kept beside each event's number. IDs increase strictly
// within a stream.
struct StreamId {
  uint64_t ms = 0;
  uint64_t seq = 0;
  auto operator<=>(const StreamId&) const = default;
  bool is_zero() const { return ms == 0 && seq == 0; }
  std::string to_string() const { return std::to_string(ms) + "-" + std::to_string(seq); }
  static constexpr StreamId min() { return {0, 0}; }
  static constexpr StreamId max() { return {UINT64_MAX, UINT64_MAX}; }
  // The ID just after/before this one (saturating).
  StreamId next() const;
  StreamId prev() const;
  // Parses "ms-seq" or "ms" (seq = missing_seq). False on bad syntax.
  static bool parse(std::string_view text, uint64_t missing_seq, StreamId* out);
};

struct Field {
  std::string name;
  std::string value;
};

// What a producer sends. `type`/`data` are the event-store view; `fields`
// the Redis view. A Redis client sees an event without fields as the pairs
// type/data; a native client sees a Redis event's fields as attributes.
struct EventData {
  std::string type;
  std::string data;
  std::vector<Field> fields;
  std::string idempotency_id;  // empty: none
  std::string content_type;
};

struct Event {
  std::string stream;
  uint64_t number = 0;
  StreamId id;
  int64_t timestamp_us = 0;
  EventData payload;
};
using EventPtr = std::shared_ptr<const Event>;

enum class ExpectedKind : uint8_t { kAny, kNoStream, kStreamExists, kExact };
struct ExpectedVersion {
  ExpectedKind kind = ExpectedKind::kAny;
  uint64_t last_number = 0;  // kExact: the number of the stream's last event
  static ExpectedVersion any() { return {}; }
  static ExpectedVersion no_stream() { return {ExpectedKind::kNoStream, 0}; }
  static ExpectedVersion exists() { return {ExpectedKind::kStreamExists, 0}; }
  static ExpectedVersion exact(uint64_t n) { return {ExpectedKind::kExact, n}; }
};

// Retention rules, applied at append (XADD MAXLEN/MINID) or on request.
// Max age and max bytes always work in whole index blocks: they may keep up
// to a block of events more than the rule asks, never fewer.
struct TrimSpec {
  enum class Kind : uint8_t { kNone, kMaxCount, kMinId, kMaxAge, kMaxBytes, kMinNumber };
  Kind kind = Kind::kNone;
  uint64_t value = 0;    // count, age in ms, bytes, or (kMinNumber) the first number kept
  StreamId min_id;       // kMinId
  bool approximate = false;  // '~': trimming may stop early at an index boundary
  uint64_t limit = 0;        // LIMIT: at most this many events removed (0 = none)
};

enum class IdMode : uint8_t {
  kAuto,        // '*': max(now_ms, last.ms)-seq
  kExplicit,    // 'ms-seq'
  kAutoSeq,     // 'ms-*'
};

struct AppendOptions {
  ExpectedVersion expected;
  IdMode id_mode = IdMode::kAuto;
  StreamId id;              // kExplicit: the ID; kAutoSeq: the ms part
  bool no_create = false;   // NOMKSTREAM: do nothing if the stream does not exist
  // Refuse (kWrongType) to create the stream when a key of the key-value
  // view holds its name, as Redis refuses XADD on a string key.
  bool refuse_over_key = false;
  TrimSpec trim;
};

struct AppendResult {
  uint64_t first_number = 0;
  uint64_t last_number = 0;
  StreamId first_id;
  StreamId last_id;
  bool duplicate = false;  // an idempotency id matched: nothing was written
  bool skipped = false;    // no_create and the stream did not exist
};

// A range of a stream, by event number or by Redis ID.
struct ReadSpec {
  bool by_id = false;
  uint64_t from_number = 0;           // by number: first number wanted
  uint64_t to_number = UINT64_MAX;    // inclusive
  StreamId from_id = StreamId::min(); // by id: inclusive bounds
  StreamId to_id = StreamId::max();
  uint64_t count = UINT64_MAX;
  bool reverse = false;               // newest first (from/to keep their meaning)
};

struct GroupInfo {
  std::string name;
  StreamId last_delivered;
  uint64_t entries_read = 0;  // 0 with has_entries_read=false: unknown
  bool has_entries_read = true;
  uint64_t pending = 0;
  uint64_t consumers = 0;
  std::optional<uint64_t> lag;
};

struct StreamInfo {
  std::string name;
  bool exists = false;
  uint64_t length = 0;          // live events
  uint64_t first_number = 0;    // first live (not trimmed) number
  uint64_t next_number = 0;     // number the next append gets
  StreamId first_id;            // of the first live event (zero if empty)
  StreamId last_id;             // last ID ever generated
  StreamId max_deleted_id;
  uint64_t entries_added = 0;
  uint64_t bytes = 0;
  int64_t created_us = 0;
  int64_t deadline_ms = 0;      // Unix ms the stream expires at; 0: never
  std::vector<GroupInfo> groups;
};

// Consumer groups.
struct PendingEntry {
  uint64_t number = 0;
  StreamId id;
  std::string consumer;
  int64_t delivered_ms = 0;
  uint64_t delivery_count = 0;
};
struct ConsumerInfo {
  std::string name;
  uint64_t pending = 0;
  int64_t seen_ms = 0;
  int64_t active_ms = 0;  // -1: never read
};
struct PendingSummary {
  uint64_t count = 0;
  StreamId lowest;
  StreamId highest;
  std::vector<std::pair<std::string, uint64_t>> per_consumer;
};
// An event of a stream by both its names: number and ID.
struct EventRef {
  uint64_t number = 0;
  StreamId id;
  bool operator==(const EventRef&) const = default;
};
struct GroupReadOptions {
  std::string group;
  std::string consumer;
  uint64_t count = UINT64_MAX;
  bool history = false;     // read the consumer's own pending entries from `after`
  StreamId after;           // history: IDs > after
  bool no_ack = false;
};
struct PendingQuery {
  std::string group;
  StreamId from = StreamId::min();
  StreamId to = StreamId::max();
  uint64_t count = UINT64_MAX;
  std::string consumer;      // empty: all
  int64_t min_idle_ms = 0;
};
struct ClaimOptions {
  std::string group;
  std::string consumer;
  int64_t min_idle_ms = 0;
  std::vector<StreamId> ids;      // XCLAIM
  bool autoclaim = false;         // XAUTOCLAIM: scan from `start`
  StreamId start;
  uint64_t count = 100;
  bool just_id = false;
  bool force = false;
  std::optional<int64_t> idle_ms;      // IDLE: the delivery time is this long before now
  std::optional<int64_t> time_ms;      // TIME: the delivery time itself, ms since the epoch (0 is the
                                       // epoch, not "now"); wins over idle_ms
  std::optional<uint64_t> retry_count;
};
struct ClaimResult {
  std::vector<Event> events;           // claimed, with data (unless just_id)
  std::vector<uint64_t> delivery_counts;  // beside events: each one's count after the claim
  std::vector<StreamId> claimed_ids;   // just_id
  std::vector<StreamId> deleted_ids;   // XAUTOCLAIM: pending entries whose event is gone
  StreamId next_start;                 // XAUTOCLAIM cursor (0-0 when done)
};

// Key-value view, etcd semantics.
//
// What a key holds. etcd sees strings only: a Redis hash is a key of the
// same space (so a name is one thing at a time, and the two share the
// revision counter, deadlines and transactions), left out of every etcd
// read, compare, delete and watch. Requests that set `all_types` (the
// RESP front end's) see every type.
enum class KvType : uint8_t { kString = 0, kHash = 1 };
// Redis's databases other than 0 keep their keys (strings, hashes and
// streams alike) under names that begin with a NUL byte and then the
// database's number, 1 to 255; the RESP front end adds and removes that
// prefix. Those names are Redis's: etcd and the native API neither see nor
// write them. 0 for any other name.
inline unsigned redis_database_of(std::string_view name) {
  return name.size() >= 2 && name[0] == '\0' && name[1] != '\0' ? static_cast<uint8_t>(name[1]) : 0;
}
struct KeyValue {
  KvType type = KvType::kString;
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t expire_ms = 0;  // when the key expires (Unix ms; 0: never)
};
struct RangeRequest {
  std::string key;
  std::string range_end;  // empty: just key; "\0": all keys >= key; else [key, range_end)
  int64_t limit = 0;
  int64_t revision = 0;   // 0: current
  bool keys_only = false;
  bool count_only = false;
  bool all_types = false;  // every type, not just etcd's strings
};
struct RangeResult {
  std::vector<KeyValue> kvs;
  bool more = false;
  int64_t count = 0;
  int64_t revision = 0;
};
struct KvCompare {
  enum class Target : uint8_t { kVersion, kCreate, kMod, kValue };
  enum class Op : uint8_t { kEqual, kGreater, kLess, kNotEqual };
  Target target = Target::kValue;
  Op op = Op::kEqual;
  std::string key;
  std::string range_end;
  int64_t number = 0;
  std::string value;
};
struct TxnRequest;
struct TxnResult;
struct KvOp {
  // kTxn: a transaction nested in this one (etcd's RequestOp.request_txn).
  // Its compares are evaluated with the outer ones, before any write of
  // the transaction; its writes are the transaction's, in one revision.
  enum class Kind : uint8_t { kRange, kPut, kDelete, kTxn };
  Kind kind = Kind::kPut;
  RangeRequest range;  // kRange; kDelete uses key/range_end
  std::string value;   // kPut
  KvType type = KvType::kString;  // kPut
  bool prev_kv = false;
  bool ignore_value = false;
  // kPut: when the key expires (Unix ms; 0: never), or, with keep_ttl,
  // whatever deadline the key had (a new key: none).
  int64_t expire_ms = 0;
  bool keep_ttl = false;
  std::vector<TxnRequest> txn;  // kTxn: the one nested transaction
};
struct KvOpResult {
  RangeResult range;
  std::vector<KeyValue> prev;  // previous values (put: at most one)
  int64_t deleted = 0;
  std::vector<TxnResult> txn;  // kTxn: its result (one)
};
struct TxnRequest {
  std::vector<KvCompare> compare;
  std::vector<KvOp> success;
  std::vector<KvOp> failure;
  // Compares, deletes and range ops see every type (RESP: DEL removes a
  // hash, SET NX finds one); a put over another type then replaces it, and
  // a put asking for the previous value of another type is refused
  // (kWrongType), as SET ... GET of a hash is.
  bool all_types = false;
};
// A read-modify-write of one key (Engine::kv_update): what its function
// decided to do with the value it was shown.
struct KvUpdate {
  enum class Write : uint8_t { kNone, kPut, kDelete };
  Write write = Write::kNone;
  std::string value;  // kPut
  // kPut: the key's new deadline (Unix ms; 0: none); unset keeps its own,
  // as Redis's INCR or APPEND do.
  std::optional<int64_t> expire_ms;
};
// A key's new deadline (Engine::kv_expire), and Redis's EXPIRE options:
// set only if the key has none (nx), has one (xx), or it moves later (gt)
// or earlier (lt), no deadline counting as later than any.
struct KvExpire {
  int64_t at_ms = 0;  // Unix ms; 0 removes the deadline (PERSIST)
  bool nx = false, xx = false, gt = false, lt = false;
  // Whether it changes a deadline of `have` (0: none). PERSIST of one
  // without a deadline changes nothing.
  bool applies_to(int64_t have) const {
    if (at_ms == 0 && have == 0) return false;
    if (nx && have != 0) return false;
    if (xx && have == 0) return false;
    if (gt && (have == 0 || at_ms <= have)) return false;
    if (lt && have != 0 && at_ms >= have) return false;
    return true;
  }
};
// The live keys of each Redis database (redis_database_of) and those with
// deadlines among them, their mean time left; and how many keys have been
// deleted for having expired since the start.
struct KvExpiryStats {
  struct Database {
    uint64_t keys = 0;  // of every type
    uint64_t expiring = 0;
    int64_t avg_ttl_ms = 0;
  };
  std::vector<Database> databases;  // by number, up to the last with a key
  uint64_t expired = 0;
  const Database& database(unsigned db) const {
    static const Database kNone;
    return db < databases.size() ? databases[db] : kNone;
  }
  // Adds another count of other keys (streams, another shard's).
  void add(const KvExpiryStats& other);
};
struct KvUpdateResult {
  std::optional<std::string> before;  // the value the function was shown
  std::optional<std::string> after;   // the value the key has now
};
struct TxnResult {
  bool succeeded = true;
  int64_t revision = 0;
  std::vector<KvOpResult> results;
};
struct WatchEvent {
  enum class Type : uint8_t { kPut, kDelete };
  Type type = Type::kPut;
  KeyValue kv;
  std::optional<KeyValue> prev;
};
struct WatchOptions {
  std::string key;
  std::string range_end;
  int64_t start_revision = 0;  // 0: from the next revision
  bool prev_kv = false;
};
struct KvStatus {
  int64_t revision = 0;
  int64_t compact_revision = 0;
  uint64_t keys = 0;  // live keys of every type
};

// The log's footprint on disk, over every shard.
struct StorageStats {
  uint64_t segments = 0;
  uint64_t allocated_bytes = 0;  // segment files as preallocated
  uint64_t used_bytes = 0;       // log bytes from the oldest kept to the newest durable
};

// What a read of a stream returns: the events, and where the stream stood.
struct ReadResult {
  std::vector<Event> events;
  bool exists = false;
  uint64_t next_number = 0;   // the number the next append will get
  StreamId last_id;
};

// One entry a consumer-group read hands out.
struct GroupEntry {
  StreamId id;
  std::optional<Event> event;  // empty: the event was deleted or trimmed
  uint64_t delivery_count = 0; // with this delivery (0: NOACK, not pending)
};

// What a shard's recovery found when it opened its log, logged at start.
struct RecoveryReport {
  uint64_t segments = 0;
  uint64_t batches = 0;
  uint64_t records = 0;
  uint64_t bytes_scanned = 0;
  uint64_t truncated_bytes = 0;   // torn tail removed
  uint64_t bytes_read = 0;        // read from the segment files: the valid data and what was checked past it
  bool clean_close = false;       // the log ended with a close batch: no tail search, no spare check
  std::string repaired;           // what --repair dropped, if anything
  double seconds = 0;
  // Transactions (FORMAT.md): the newest commit mark, the decisions (commit
  // marks of transactions that wrote on several shards) and the highest id
  // seen; a transaction the log ended inside of, and what became of it.
  uint64_t last_txn_commit = 0;
  std::vector<uint64_t> txn_decisions;
  uint64_t max_txn = 0;
  uint64_t txn_dropped = 0;       // never committed: its provisional batches were cut off
  uint64_t txn_completed = 0;     // committed elsewhere: applied, and its commit mark written now
};

// Where a subscription starts.
struct SubscribeOptions {
  enum class From : uint8_t { kStart, kEnd, kNumber };
  From from = From::kStart;
  uint64_t number = 0;
  std::optional<uint64_t> to;   // inclusive; the subscription ends after it
};

}  // namespace redcar
