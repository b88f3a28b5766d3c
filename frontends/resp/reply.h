// A promise of one reply. A command handler writes into it — at once, or
// later from an engine callback — and calls done(); the client sends the
// replies of a connection in the order their commands arrived.
//
// Replies are counted references (ReplyPtr, client.h) recycled by their
// client: the last reference let go on the client's own thread returns the
// reply, and the capacity its buffer grew to, to the client's free list, so
// a connection in steady state makes no reply objects and no reply buffers.
// A reply let go on another thread is deleted there instead: the free list
// is touched by the client's thread only.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "engine/common/group_read_lent.h"
#include "engine/common/types.h"
#include "frontends/resp/client.h"
#include "frontends/resp/resp_writer.h"

#include <span>
#include <string_view>

namespace redcar::resp {

struct Context;

class Reply {
 public:
  ReplyWriter& w() { return writer_; }
  int protocol() const { return writer_.protocol(); }
  void done();
  Client& client() { return *client_; }
  const ClientPtr& client_ptr() const { return client_; }
  // The client's thread, where engine callbacks come back to.
  boost::asio::any_io_executor executor() const { return client_->executor(); }
  // What this command's later ones wait for (Session::submit).
  Hold hold = Hold::kNone;
  // Events a command lends the engine (Engine::append_lent): the reply
  // outlives the append, and its strings keep their capacity when the reply
  // is recycled, so that XADD fills them without allocating.
  std::vector<EventData>& lent_events() { return lent_events_; }
  // The same for a key-value transaction (SET, Engine::kv_txn_lent).
  TxnRequest& lent_txn() { return lent_txn_; }
  // The same for a group read (XREADGROUP, Engine::group_read_lent).
  GroupReadLent& lent_group_read() { return lent_group_read_; }
  // A key a command keeps until it answers (XRANGE's, for a string key's
  // WRONGTYPE), in a string that keeps its capacity.
  std::string& kept_key() { return kept_key_; }
  // The command's arguments with its keys in its client's database
  // (databases.h), kept until it answers.
  std::vector<std::string>& database_keys() { return database_keys_; }
  std::vector<std::string_view>& database_args() { return database_args_; }
  // Capacity held by the buffer and the lent requests, kept while recycled.
  size_t kept_bytes() const;

  // dispatch(): the command this reply answers (`command`: its slot in
  // the table, CommandTable::slot_of, or none), counted when done() — its time, whether it
  // failed, the slow log — and its client's CLIENT REPLY mode applied.
  static constexpr uint32_t kNoCommand = UINT32_MAX;
  void start(Context& ctx, uint32_t command, std::span<const std::string_view> args);
  // Counted as another command (kNoCommand: not counted), as a command
  // MULTI queues is counted when EXEC runs it.
  void count_as(uint32_t command) { command_ = command; }
  // Refused before it ran (arity, authentication, context).
  void mark_rejected() { rejected_ = true; }
  // CLIENT REPLY: whether the answer is sent.
  void set_silent(bool silent) { silent_ = silent; }

 private:
  friend class Client;
  friend void reply_add_ref(Reply* r) noexcept;
  friend void reply_release(Reply* r) noexcept;
  Reply() : writer_(buf_) {}

  std::atomic<uint32_t> refs_{0};
  ClientPtr client_;
  uint64_t slot_ = 0;
  // kept_bytes() when the reply went into its client's free list.
  size_t counted_bytes_ = 0;

  // Counts what done() completes (start() set it).
  void account(Hold held);

  std::string buf_;
  ReplyWriter writer_;
  Context* ctx_ = nullptr;  // set by start(), taken by done()
  uint32_t command_ = kNoCommand;
  bool rejected_ = false;
  bool silent_ = false;
  int64_t started_ns_ = 0;
  // The command's arguments as the slow log would show them, filled in
  // place (their strings keep their capacity when recycled): a command is
  // known to be slow only once it is done, and its arguments are gone then.
  std::vector<std::string> slow_args_;
  size_t slow_argc_ = 0;
  std::vector<EventData> lent_events_;
  TxnRequest lent_txn_;
  GroupReadLent lent_group_read_;
  std::string kept_key_;
  std::vector<std::string> database_keys_;
  std::vector<std::string_view> database_args_;
};

}  // namespace redcar::resp
