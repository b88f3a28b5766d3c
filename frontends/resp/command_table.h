// The RESP command table: each command is declared once with its name,
// arity (negative: at least that many) and flags, and a handler. dispatch()
// checks arity, authentication and the pub/sub context and calls the
// handler with the server's Context; the handler answers through its Reply,
// now or later. Neither knows about sockets: a Session and the in-process
// client of the command tests drive them the same way.
#pragma once

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
};

struct Command {
  std::string_view name;
  int arity;
  uint32_t flags;
  Handler handler;
  int first_key = 0;
  int last_key = 0;
  int key_step = 0;
};

class CommandTable {
 public:
  CommandTable();
  const Command* find(std::string_view name) const;
  const std::vector<Command>& all() const { return commands_; }

 private:
  // Looked up by string_view without building a string.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::vector<Command> commands_;
  std::unordered_map<std::string, size_t, Hash, std::equal_to<>> by_name_;
};

// Runs one command; `cmd` is its table entry (null: unknown command).
void dispatch(Context& ctx, const ReplyPtr& reply, Args args, const Command* cmd);

// Families register their commands (commands_*.cc).
void add_server_commands(std::vector<Command>& out);
void add_stream_commands(std::vector<Command>& out);
void add_key_commands(std::vector<Command>& out);
void add_group_commands(std::vector<Command>& out);
void add_pubsub_commands(std::vector<Command>& out);

// Helpers shared by the families.
std::string lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
bool parse_int(std::string_view s, int64_t* out);
bool parse_uint(std::string_view s, uint64_t* out);
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
void reply_error(Reply& r, std::string_view message);
void reply_syntax_error(Reply& r);
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
