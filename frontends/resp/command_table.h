// The RESP command table: each command is declared once with its name,
// arity (negative: at least that many) and flags, and a handler. dispatch()
// checks arity, authentication and the pub/sub context and calls the
// handler with the server's Context; the handler answers through its Reply,
// now or later. Neither knows about sockets: a Session and the in-process
// client of the command tests drive them the same way.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/api/engine.h"
#include "frontends/resp/context.h"
#include "frontends/resp/reply.h"

namespace redcar::resp {

using Args = std::span<const std::string_view>;
using Handler = void (*)(Context& ctx, const ReplyPtr& reply, Args args);

enum CommandFlags : uint32_t {
  kWrite = 1,
  kReadOnly = 2,
  kNoAuth = 4,      // allowed before AUTH
  kPubSubOk = 8,    // allowed in subscribed (RESP2) context
  kBlocking = 16,
  // A write the engine evaluates against its staged view: it may run while
  // earlier writes of the same connection are still in flight.
  kStaged = 32,
  // A consumer-group operation the engine applies to the group's state when
  // staged, one at a time per group in the order they arrive: it may run
  // while earlier group operations of the connection are in flight.
  kGroupStaged = 64,
  // Not a write, but held back by CLIENT PAUSE WRITE as one (PUBLISH, WAIT).
  kPausedAsWrite = 128,
  // Blocks whatever its arguments (WAIT); kBlocking ones block when asked
  // to (BLOCK).
  kAlwaysBlocks = 256,
  // Runs inside MULTI rather than being queued (EXEC, DISCARD, MULTI,
  // WATCH, QUIT, RESET).
  kTxnControl = 512,
  // Held back by CLIENT PAUSE WRITE when what it runs writes (EXEC).
  kPausedWhenQueueWrites = 1024,
  // Everything after it waits for its answer, and it waits for the writes
  // before it (EXEC).
  kRunsAlone = 2048,
  // Its key positions name shard channels (SPUBLISH, SSUBSCRIBE): they
  // belong to no database, and ACL checks them as channels, not keys.
  kChannelKeys = 4096,
  // Changes which database names mean (SELECT, SWAPDB, MOVE): an EXEC that
  // queues it holds every shard.
  kChangesDatabases = 8192,
};

struct Command {
  std::string_view name;
  int arity;
  uint32_t flags;
  Handler handler;
  int first_key = 0;
  int last_key = 0;
  int key_step = 0;
  // A container's subcommands, space-separated and in lower case ("get set
  // resetstat"): each is named "parent|sub" where Redis 7 names it — CLIENT
  // LIST's cmd=, INFO commandstats and latencystats, COMMAND LIST.
  std::string_view subcommands = {};
  // Keys whose places depend on the other arguments (XREAD's STREAMS, DEBUG
  // OBJECT): Redis's "movablekeys". Then first_key and the rest are 0.
  std::vector<size_t> (*keys_of)(std::span<const std::string_view> args) = nullptr;
};

class CommandTable {
 public:
  CommandTable();
  const Command* find(std::string_view name) const;
  const std::vector<Command>& all() const { return commands_; }

  // What is counted apart (CommandStats): every command, then every
  // subcommand. The slot of a call is its subcommand's when it names a known
  // one, else its command's.
  size_t slot_count() const { return slot_names_.size(); }
  const std::string& slot_name(size_t slot) const { return slot_names_[slot]; }
  uint32_t slot_of(const Command& cmd, Args args) const;
  // The subcommand slots of a command, in the order declared.
  std::vector<size_t> subcommand_slots(const Command& cmd) const;
  // A slot's parent command (itself for a command).
  const Command& parent_of(size_t slot) const { return commands_[slot_parent_[slot]]; }

 private:
  // Looked up by string_view without building a string.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::vector<Command> commands_;
  std::unordered_map<std::string, size_t, Hash, std::equal_to<>> by_name_;
  std::vector<std::string> slot_names_;  // "get", ..., "client|list", ...
  std::vector<size_t> slot_parent_;
  // "client|list" -> its slot.
  std::unordered_map<std::string, size_t, Hash, std::equal_to<>> sub_slots_;
};

// Runs one command; `cmd` is its table entry (null: unknown command).
// Inside MULTI, a command is queued instead (commands_transactions.cc).
void dispatch(Context& ctx, const ReplyPtr& reply, Args args, const Command* cmd);
// MULTI's queue: `cmd` waits for EXEC; the answer now is QUEUED.
void queue_command(Context& ctx, const ReplyPtr& reply, Args args, const Command* cmd);
// The positions of the keys in a call of `c` (COMMAND GETKEYS).
std::vector<size_t> key_positions(const Command& c, Args a);
// XREAD's and XREADGROUP's keys: the first half of what follows STREAMS.
std::vector<size_t> keys_after_streams(Args a);

// Families register their commands (commands_*.cc).
void add_server_commands(std::vector<Command>& out);
void add_stream_commands(std::vector<Command>& out);
void add_key_commands(std::vector<Command>& out);
void add_group_commands(std::vector<Command>& out);
void add_pubsub_commands(std::vector<Command>& out);
void add_client_commands(std::vector<Command>& out);
void add_info_commands(std::vector<Command>& out);
void add_string_commands(std::vector<Command>& out);
void add_hash_commands(std::vector<Command>& out);
void add_key_info_commands(std::vector<Command>& out);
void add_key_move_commands(std::vector<Command>& out);
void add_database_commands(std::vector<Command>& out);
void add_transaction_commands(std::vector<Command>& out);
void add_flush_commands(std::vector<Command>& out);
void add_expiry_commands(std::vector<Command>& out);
void add_acl_commands(std::vector<Command>& out);

// Helpers shared by the families.
std::string lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
bool parse_int(std::string_view s, int64_t* out);
bool parse_uint(std::string_view s, uint64_t* out);
// How an expire option or command gives its time: seconds or milliseconds,
// from now or since the Unix epoch (EX, PX, EXAT, PXAT).
struct Deadline {
  bool millis = false;
  bool absolute = false;
};
// EX, PX, EXAT or PXAT, in any case; nothing for another word.
std::optional<Deadline> deadline_option(std::string_view word);
// The Unix ms `value` names; false with Redis's error text for `command`
// when it is not an integer or overflows, or (`allow_past` false, as SET
// and GETEX have it) is not positive.
bool parse_deadline(std::string_view value, Deadline d, std::string_view command, bool allow_past, int64_t* at_ms,
                    std::string* error);
// Writes the Redis error for an engine Status.
void write_status_error(ReplyWriter& w, const Status& s);
// The same for consumer-group commands, whose missing-group error names the
// key and the group in one of Redis's three wordings.
enum class NoGroupText : uint8_t {
  kKeyOrGroup,             // XPENDING, XCLAIM, XAUTOCLAIM
  kKeyOrGroupInReadGroup,  // XREADGROUP
  kGroupForKey,            // XGROUP SETID / CREATECONSUMER / DELCONSUMER, XINFO CONSUMERS
};
void write_group_error(ReplyWriter& w, const Status& s, std::string_view key, std::string_view group, NoGroupText text);
// Redis's answer to a command on a key of another type.
inline constexpr const char* kWrongTypeError = "WRONGTYPE Operation against a key holding the wrong kind of value";
// Whether a key-value key (a string or a hash) holds `key`, told to `then`
// on the client's thread: a stream command that finds no stream answers
// WRONGTYPE when one does.
void string_key_exists(Context& ctx, const ReplyPtr& r, std::string key, std::function<void(bool)> then);
// `empty` is a stream command's answer for a missing stream; WRONGTYPE when
// a string or hash holds the name.
void reply_missing_stream(Context& ctx, const ReplyPtr& r, std::string key, std::function<void(ReplyWriter&)> empty);
// For each of `names`, whether a key-value key (string or hash) and whether
// a stream holds it; `done` runs on the key-value shard's thread.
void exists_both(Context& ctx, std::vector<std::string> names,
                 std::function<void(Result<std::vector<std::pair<bool, bool>>>)> done);
// What one key holds: a string's value, a hash's (encoded, hash_value.h),
// or a stream's description, or none. `then` runs on the client's thread;
// an error is answered.
struct KeyFacts {
  std::optional<std::string> string;
  std::optional<std::string> hash;
  std::optional<StreamInfo> stream;
};
void key_facts(Context& ctx, const ReplyPtr& r, std::string key, std::function<void(KeyFacts&)> then);
// How the value of a string key is held, in Redis's words: int, embstr, raw.
const char* string_encoding(std::string_view value);
// How Redis 7.0 would hold a hash of these fields (hash_value.h): listpack
// up to 128 fields of at most 64 bytes each, a hashtable beyond.
const char* hash_encoding(std::string_view encoded);
// How many keys there are (strings, hashes and streams), on the client's thread.
void count_keys(Context& ctx, const ReplyPtr& r, std::function<void(Result<uint64_t>)> done);
void reply_error(Reply& r, std::string_view message);
// The Redis error for an engine Status (write_status_error), then done().
void reply_status_error(Reply& r, const Status& s);
void reply_syntax_error(Reply& r);
// Text for people (INFO, CLIENT LIST, DOCTOR): a verbatim string under
// RESP3, a bulk string under RESP2; then done().
void reply_text(Reply& r, std::string_view text);
// A HELP subcommand's answer: one status line per line of text.
void reply_help(Reply& r, std::span<const char* const> lines);
// Redis 7's words for a subcommand (a[1]) it does not know, or for one it
// knows given the wrong number of arguments (counted as rejected).
void reply_unknown_subcommand(Context& ctx, Reply& r, Args a);
void reply_wrong_arity(Reply& r, std::string_view cmd);

// Runs `fn()` on the client's thread: at once when already there (a
// connection on the shard that owns its key), else as one task posted to the
// client's loop. The reply goes with the task, so that its last reference is
// let go on the client's thread, where it is recycled, and not on the
// engine's.
template <typename F>
void on_client(ReplyPtr r, F fn) {
  runtime::Reactor& loop = r->client().loop();
  if (loop.in_loop_thread()) return fn();
  loop.post([r = std::move(r), fn = std::move(fn)]() mutable { fn(); });
}

// An engine callback that runs `fn(result)` on the client's thread.
template <typename T, typename F>
Callback<T> back_to(const ReplyPtr& reply, F fn) {
  return [r = ReplyPtr(reply), fn = std::move(fn)](Result<T> res) mutable {
    on_client(std::move(r), [fn = std::move(fn), res = std::move(res)]() mutable { fn(std::move(res)); });
  };
}

// Finishes a reply written on another thread.
inline void done_on_client(ReplyPtr r) {
  Reply* reply = r.get();
  on_client(std::move(r), [reply] { reply->done(); });
}

}  // namespace redcar::resp
