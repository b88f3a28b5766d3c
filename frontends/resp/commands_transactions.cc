// MULTI, EXEC, DISCARD, WATCH and UNWATCH, with Redis's semantics: inside
// MULTI a command is checked (name, arity, authentication) and queued; one
// refused there makes EXEC answer EXECABORT; EXEC runs the queue as one
// transaction and answers with every command's answer, or with a null
// array when a WATCHed key changed since WATCH.
//
// EXEC holds the shards its keys live on (Engine::txn_begin): while it
// runs, no other client's request reaches them, so nothing interleaves with
// the queue, and what it writes is provisional until it commits — after a
// crash all of it is there or none (engine/FORMAT.md, Transactions). The
// queue runs one command after another, each answered before the next
// starts, with the transaction current (runtime/txn_scope.h) so that their
// engine calls get through the hold.
#include <memory>
#include <string>
#include <vector>

#include "frontends/resp/command_table.h"
#include "runtime/txn_scope.h"

namespace redcar::resp {

namespace {

// What a key holds, in a form that changes with every write to it: the
// revision of the last write of its string (a delete included), and its
// stream's shape (created when, how many appended, deleted, trimmed).
// Answered on the client's thread.
using Tokens = std::vector<std::string>;
void watch_tokens(Context& ctx, const ReplyPtr& r, std::vector<std::string> keys,
                  std::function<void(Result<Tokens>)> done) {
  struct Gather {
    Tokens tokens, strings, streams;  // a token is its string part, then its stream part
    size_t remaining = 0;
    Status failed;
    std::function<void(Result<Tokens>)> done;
  };
  auto g = std::make_shared<Gather>();
  g->tokens.resize(keys.size());
  g->strings.resize(keys.size());
  g->streams.resize(keys.size());
  g->remaining = keys.size() * 2;
  g->done = std::move(done);
  if (keys.empty()) return g->done(Tokens{});
  auto finish = [g] {
    if (--g->remaining > 0) return;
    if (!g->failed) return g->done(g->failed);
    for (size_t i = 0; i < g->tokens.size(); ++i) g->tokens[i] = g->strings[i] + ";" + g->streams[i];
    g->done(std::move(g->tokens));
  };
  for (size_t i = 0; i < keys.size(); ++i) {
    ctx.engine.kv_last_change(keys[i], back_to<int64_t>(r, [g, i, finish](Result<int64_t> rev) {
      if (!rev) g->failed = rev.status();
      else g->strings[i] = std::to_string(*rev);
      finish();
    }));
    ctx.engine.stream_info(keys[i], back_to<StreamInfo>(r, [g, i, finish](Result<StreamInfo> info) {
      if (!info) {
        if (info.status().code() != Code::kNotFound) g->failed = info.status();
      } else if (info->exists) {
        const StreamInfo& s = *info;
        g->streams[i] = std::to_string(s.created_us) + "," + std::to_string(s.next_number) + "," +
                        std::to_string(s.length) + "," + std::to_string(s.first_number) + "," +
                        s.last_id.to_string() + "," + s.max_deleted_id.to_string() + "," +
                        std::to_string(s.entries_added) + "," + std::to_string(s.deadline_ms);
        // Creating or destroying a group changes the key too, as EXPIRE does.
        for (const GroupInfo& gi : s.groups) g->streams[i] += "," + gi.name;
      }
      finish();
    }));
  }
}

// The shards EXEC holds: the key-value shard (the engine adds it) and the
// shard of every key its commands and watches name; all of them when a
// command names no key (KEYS, DBSIZE, FLUSHALL, ...), since it may read or
// write anywhere.
std::vector<unsigned> shards_of(Context& ctx, const Client& c) {
  std::vector<unsigned> out;
  auto all = [&] {
    out.clear();
    for (unsigned i = 0; i < ctx.engine.shard_count(); ++i) out.push_back(i);
    return out;
  };
  // Another database's keys are stored under other names (databases.h),
  // and SELECT may change the database midway: all of them then.
  if (c.db != 0) return all();
  std::vector<std::string_view> argv;
  for (const Client::Queued& q : c.queued) {
    if (q.cmd->flags & kChangesDatabases) return all();
    argv.assign(q.args.begin(), q.args.end());
    std::vector<size_t> keys = key_positions(*q.cmd, argv);
    if (keys.empty()) return all();
    for (size_t k : keys) out.push_back(ctx.engine.shard_of(argv[k]));
  }
  for (const Client::Watched& w : c.watched) out.push_back(ctx.engine.shard_of(w.key));
  return out;
}

// One EXEC, from holding its shards to letting them go.
class ExecRun : public std::enable_shared_from_this<ExecRun> {
 public:
  ExecRun(Context& ctx, ReplyPtr reply) : ctx_(ctx), reply_(std::move(reply)), client_(reply_->client_ptr()) {
    Client& c = *client_;
    shards_ = shards_of(ctx, c);
    queued_ = std::move(c.queued);
    watched_ = std::move(c.watched);
    c.discard_transaction();
  }

  void start() {
    auto self = shared_from_this();
    ctx_.engine.txn_begin(shards_, back_to<uint64_t>(reply_, [self](Result<uint64_t> txn) {
      if (!txn) return self->answer_error(txn.status());
      self->txn_ = *txn;
      self->check_watches();
    }));
  }

 private:
  void check_watches() {
    runtime::TxnScope scope(txn_);
    if (watched_.empty()) return run();
    std::vector<std::string> keys;
    for (const auto& w : watched_) keys.push_back(w.key);
    auto self = shared_from_this();
    watch_tokens(ctx_, reply_, std::move(keys), [self](Result<Tokens> now) {
      if (!now) return self->finish(now.status());
      for (size_t i = 0; i < now->size(); ++i) {
        // Changed since WATCH: the queue does not run.
        if ((*now)[i] != self->watched_[i].seen) return self->finish(false);
      }
      self->run();
    });
  }

  // The queue, in order. A write the engine evaluates against its staged
  // view (SET, INCR, XADD, ...) starts while the writes before it are still
  // being written, as in a pipeline, so that they share a flush; anything
  // else waits until every command before it has answered. A command
  // answered at once does not recurse into the next.
  void run() {
    runtime::TxnScope scope(txn_);
    Client& c = *client_;
    if (!c.exec_sink) {
      auto self = shared_from_this();
      c.in_exec = true;
      answers_.resize(queued_.size());
      staged_.resize(queued_.size());
      c.exec_sink = [self](size_t i, std::string_view answer) { self->answered(i, answer); };
    }
    while (next_ < queued_.size()) {
      const Client::Queued& q = queued_[next_];
      const bool staged = q.cmd->flags & kStaged;
      if (outstanding_ > 0 && !(staged && outstanding_staged_ == outstanding_)) return;
      ++outstanding_;
      outstanding_staged_ += staged;
      staged_[next_] = staged;
      argv_.assign(q.args.begin(), q.args.end());
      dispatching_ = true;
      dispatch(ctx_, c.make_reply(Client::kExecSlots + next_++), argv_, q.cmd);
      dispatching_ = false;
    }
    if (outstanding_ == 0) finish(true);
  }

  void answered(size_t i, std::string_view answer) {
    // The client's sink may hold the last reference, and finish() drops it.
    auto self = shared_from_this();
    answers_[i].assign(answer);
    --outstanding_;
    outstanding_staged_ -= staged_[i];
    if (!dispatching_) run();
  }

  // Commits (ran: the queue ran) and lets the shards go, then answers.
  void finish(Result<bool> ran) {
    auto self = shared_from_this();  // before the sink, which may hold the last reference, goes
    Client& c = *client_;
    c.in_exec = false;
    c.exec_sink = nullptr;
    ctx_.engine.txn_end(txn_, shards_, back_to<bool>(reply_, [self, ran](Result<bool> committed) {
      runtime::TxnScope none(0);
      if (!ran) return self->answer_error(ran.status());
      if (!committed) return self->answer_error(committed.status());
      ReplyWriter& w = self->reply_->w();
      if (!*ran) {
        w.null_array();
      } else {
        w.array(self->answers_.size());
        for (const std::string& a : self->answers_) w.raw(a);
      }
      self->reply_->done();
    }));
  }

  void answer_error(const Status& s) {
    reply_->w().error("EXECABORT Transaction discarded: " + s.message());
    reply_->done();
  }

  Context& ctx_;
  ReplyPtr reply_;
  ClientPtr client_;
  std::vector<Client::Queued> queued_;
  std::vector<Client::Watched> watched_;
  std::vector<unsigned> shards_;
  uint64_t txn_ = 0;
  size_t next_ = 0;
  size_t outstanding_ = 0;         // dispatched, not answered
  size_t outstanding_staged_ = 0;  // of which staged writes
  std::vector<bool> staged_;
  std::vector<std::string> answers_;
  std::vector<std::string_view> argv_;
  bool dispatching_ = false;
};

void cmd_multi(Context&, const ReplyPtr& r, Args) {
  Client& c = r->client();
  if (c.in_multi) return reply_error(*r, "ERR MULTI calls can not be nested");
  c.in_multi = true;
  c.multi_refused = false;
  r->w().simple("OK");
  r->done();
}

void cmd_exec(Context& ctx, const ReplyPtr& r, Args) {
  Client& c = r->client();
  if (!c.in_multi) return reply_error(*r, "ERR EXEC without MULTI");
  if (c.multi_refused) {
    c.discard_transaction();
    return reply_error(*r, "EXECABORT Transaction discarded because of previous errors.");
  }
  std::make_shared<ExecRun>(ctx, r)->start();
}

void cmd_discard(Context&, const ReplyPtr& r, Args) {
  Client& c = r->client();
  if (!c.in_multi) return reply_error(*r, "ERR DISCARD without MULTI");
  c.discard_transaction();
  r->w().simple("OK");
  r->done();
}

void cmd_watch(Context& ctx, const ReplyPtr& r, Args a) {
  Client& c = r->client();
  if (c.in_multi) return reply_error(*r, "ERR WATCH inside MULTI is not allowed");
  std::vector<std::string> keys(a.begin() + 1, a.end());
  watch_tokens(ctx, r, keys, [r, keys](Result<Tokens> seen) {
    if (!seen) {
      write_status_error(r->w(), seen.status());
      return r->done();
    }
    Client& cl = r->client();
    for (size_t i = 0; i < keys.size(); ++i) {
      bool known = false;
      for (const auto& w : cl.watched) known = known || w.key == keys[i];
      if (!known) cl.watched.push_back({keys[i], (*seen)[i]});
    }
    r->w().simple("OK");
    r->done();
  });
}

void cmd_unwatch(Context&, const ReplyPtr& r, Args) {
  r->client().watched.clear();
  r->w().simple("OK");
  r->done();
}

}  // namespace

void queue_command(Context& ctx, const ReplyPtr& reply, Args args, const Command* cmd) {
  Client& c = reply->client();
  // Counted when EXEC runs it.
  reply->count_as(Reply::kNoCommand);
  Client::Queued q;
  q.cmd = cmd;
  size_t bytes = 0;
  for (std::string_view a : args) bytes += a.size();
  const size_t limit = ctx.options.session.max_queued_bytes;
  if (c.queued_bytes + bytes > limit) {
    // EXEC will abort, as after any command refused while queued.
    c.multi_refused = true;
    return reply_error(*reply, "ERR MULTI's queue would pass its limit of " + std::to_string(limit) + " bytes");
  }
  c.queued_bytes += bytes;
  c.queued_writes = c.queued_writes || (cmd->flags & (kWrite | kPausedAsWrite));
  q.args.assign(args.begin(), args.end());
  c.queued.push_back(std::move(q));
  reply->w().simple("QUEUED");
  reply->done();
}

void add_transaction_commands(std::vector<Command>& out) {
  out.push_back({"MULTI", 1, kTxnControl, cmd_multi});
  out.push_back({"EXEC", 1, kTxnControl | kRunsAlone | kPausedWhenQueueWrites, cmd_exec});
  out.push_back({"DISCARD", 1, kTxnControl, cmd_discard});
  out.push_back({"WATCH", -2, kTxnControl | kReadOnly, cmd_watch, 1, -1, 1});
  out.push_back({"UNWATCH", 1, 0, cmd_unwatch});
}

}  // namespace redcar::resp
