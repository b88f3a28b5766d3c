// One client of the RESP front end as commands see it: its protocol,
// authentication, name and pub/sub subscriptions, and what a command may do
// to it besides answering — push out-of-band data, wait until its output
// drains, run code on its thread. A socket Session is one; the in-process
// client of the command tests is another.
//
// A client lives on one thread (its executor); every member is touched
// there only.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "frontends/resp/acl.h"
#include "runtime/reactor.h"

namespace redcar::resp {

class Reply;
struct Command;

// What a command in flight holds back of its connection's later commands,
// which run in the order they came (Session::submit):
//   kWrite     a write: later reads wait until it is written (and visible);
//   kGroupOp   a consumer-group operation, applied to the group when staged:
//              later reads wait, later group reads of the same pipeline
//              need not (the shard runs a group's operations in order);
//   kBlocking  a command that may block (XREAD/XREADGROUP BLOCK): everything
//              later waits for its answer, as in Redis;
//   kAlone     EXEC: everything later waits for it too, but the client is
//              not blocked (CLIENT LIST, INFO's blocked_clients).
enum class Hold : uint8_t { kNone, kWrite, kGroupOp, kBlocking, kAlone };
void reply_add_ref(Reply* r) noexcept;
void reply_release(Reply* r) noexcept;

// A counted reference to a Reply. Copies are noexcept (unlike
// boost::intrusive_ptr's), so that a callback capturing one — even as the
// const copy a lambda makes of a `const ReplyPtr&` — is moved rather than
// put on the heap by runtime::Function.
class ReplyPtr {
 public:
  ReplyPtr() noexcept = default;
  explicit ReplyPtr(Reply* r) noexcept : p_(r) {
    if (p_) reply_add_ref(p_);
  }
  ReplyPtr(const ReplyPtr& o) noexcept : p_(o.p_) {
    if (p_) reply_add_ref(p_);
  }
  ReplyPtr(ReplyPtr&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  ReplyPtr& operator=(ReplyPtr o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~ReplyPtr() {
    if (p_) reply_release(p_);
  }
  Reply* get() const noexcept { return p_; }
  Reply* operator->() const noexcept { return p_; }
  Reply& operator*() const noexcept { return *p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }

 private:
  Reply* p_ = nullptr;
};

// Recycled replies: enough for a deep pipeline. Their memory is kept up to
// a total per client, and none past a large answer's size: a pipeline of
// big replies must not leave megabytes behind on every connection.
inline constexpr size_t kMaxFreeReplies = 1024;
inline constexpr size_t kMaxKeptBufferBytes = 16 * 1024;
inline constexpr size_t kMaxKeptBytesPerClient = 256 * 1024;

class Client : public std::enable_shared_from_this<Client> {
 public:
  virtual ~Client();

  uint64_t id = 0;
  int protocol = 2;
  unsigned db = 0;  // SELECT (databases.h)
  bool authenticated = false;
  // The ACL user it is logged in as (acl.h), and the Acl version that user
  // was read at: a newer one is read before the next command.
  std::string user = "default";
  std::shared_ptr<const Acl::User> acl_user;
  uint64_t acl_version = 0;
  std::string name;
  std::string peer;
  int64_t created_ms = 0;
  // Blocking commands and subscriptions register a cancel hook here, run
  // when the client leaves.
  std::vector<std::function<void()>> on_close;
  // Pub/sub: channels and patterns this client listens to.
  std::vector<std::string> channels;
  std::vector<std::string> patterns;
  std::vector<std::string> shard_channels;  // SSUBSCRIBE
  bool subscribed() const { return !channels.empty() || !patterns.empty() || !shard_channels.empty(); }

  // What CLIENT LIST and CLIENT INFO show besides.
  std::string local;  // the address it connected to
  std::string lib_name, lib_ver;  // CLIENT SETINFO
  std::string_view last_command = "NULL";  // a name in the command table
  int64_t last_active_ms = 0;  // steady clock
  // CLIENT REPLY: OFF answers nothing; SKIP answers nothing to the next
  // command.
  enum class ReplyMode : uint8_t { kOn, kOff, kSkipNext };
  ReplyMode reply_mode = ReplyMode::kOn;
  bool no_evict = false;
  bool no_touch = false;

  // MULTI ... EXEC (commands_transactions.cc): the commands queued, whether
  // one was refused (EXEC then aborts), the keys WATCHed with what they
  // held then, and whether EXEC is running the queue (nothing blocks then).
  struct Queued {
    const Command* cmd = nullptr;
    std::vector<std::string> args;
  };
  struct Watched {
    std::string key;
    std::string seen;  // what the key held, as watch_token() says it
  };
  bool in_multi = false;
  bool multi_refused = false;
  bool queued_writes = false;  // a command queued writes (CLIENT PAUSE WRITE holds EXEC)
  std::vector<Queued> queued;
  size_t queued_bytes = 0;
  std::vector<Watched> watched;
  bool in_exec = false;
  // Where the answers of EXEC's commands go, on the client's thread: the
  // reply of its i-th command has slot kExecSlots + i.
  std::function<void(size_t i, std::string_view answer)> exec_sink;
  static constexpr uint64_t kExecSlots = uint64_t{1} << 63;
  // DISCARD, RESET, and a client that leaves: no transaction, no watches.
  void discard_transaction() {
    in_multi = multi_refused = queued_writes = false;
    queued.clear();
    queued_bytes = 0;
    watched.clear();
  }

  virtual int fd() const { return -1; }
  virtual size_t input_bytes() const { return 0; }
  virtual size_t output_bytes() const { return 0; }
  // Waiting in a blocking command.
  virtual bool blocked() const { return false; }
  // CLIENT KILL: the connection closes; or, for the client that asked,
  // once its answer has gone out.
  virtual void kill() = 0;
  virtual void kill_after_reply() { kill(); }
  // A CLIENT PAUSE ended (or was lifted): what waited for it may run.
  virtual void pause_ended() {}

  // Sends out-of-band data (pub/sub messages, event pushes) after the
  // replies already queued.
  virtual void push(std::string_view bytes) = 0;
  // Runs `fn` once the client's buffered output is below the pause mark:
  // subscriptions ask the engine for more only when the client keeps up.
  virtual void when_writable(std::function<void()> fn) = 0;
  // The loop the client lives on; engine callbacks come back to it.
  virtual runtime::Reactor& loop() = 0;
  boost::asio::any_io_executor executor() { return loop().get_executor(); }
  virtual bool closed() const = 0;
  // The reply in `slot` is complete (Reply::done()): `bytes` are its
  // encoding, which the client copies (the reply keeps its buffer for the
  // next request). `held`: what it held back of the client's later
  // commands, now released.
  virtual void complete(uint64_t slot, std::string_view bytes, Hold held) = 0;

  // A reply for `slot`, from the free list when it has one. On the client's
  // thread only.
  ReplyPtr make_reply(uint64_t slot);
  // The memory the free replies keep (at most kMaxKeptBytesPerClient).
  size_t free_bytes() const { return free_bytes_; }

 private:
  friend void reply_release(Reply* r) noexcept;
  // The last reference to `r` went, on this client's thread.
  void recycle(Reply* r);
  // Lets go of the memory a free reply holds beyond itself.
  void forget_memory(Reply* r);

  // Taken and given back at the end: the front holds the replies longest
  // unused (a pipeline deeper than the usual one left them), and those
  // before cold_ hold no memory beyond themselves. When the memory kept
  // reaches the client's budget it is taken from the front, so that the
  // replies in steady use keep theirs.
  std::vector<Reply*> free_replies_;
  size_t cold_ = 0;
  size_t free_bytes_ = 0;  // capacity held by free_replies_
};

using ClientPtr = std::shared_ptr<Client>;

}  // namespace redcar::resp
