// FLUSHALL and FLUSHDB [ASYNC|SYNC]: every key of every database (FLUSHALL)
// or of the client's (FLUSHDB) goes, strings, hashes and streams, at once. They run as a transaction over every shard (Engine::txn_begin):
// no other client sees the keyspace half emptied, and after a crash it is
// emptied whole or not at all. Inside EXEC, which already holds every shard
// for a command that names no key, they run within that transaction.
//
// ASYNC and SYNC answer the same way: a delete is one record per key, and
// the space goes when retention reclaims the segments.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "frontends/resp/command_table.h"
#include "frontends/resp/databases.h"
#include "runtime/txn_scope.h"

namespace redcar::resp {

namespace {

// Deletes every key-value key (strings and hashes) and every stream of
// database `db` (databases.h), or of all of them, with whatever transaction
// is current; `done` runs on the client's thread.
void delete_everything(Context& ctx, const ReplyPtr& r, std::optional<unsigned> db, std::function<void(Status)> done) {
  TxnRequest t;
  t.all_types = true;
  auto del = [&t](std::string from, std::string end) {
    KvOp& op = t.success.emplace_back();
    op.kind = KvOp::Kind::kDelete;
    op.range.key = std::move(from);
    op.range.range_end = std::move(end);
  };
  if (!db) {
    // From "\0" with range end "\0": every key (an empty one cannot be set).
    del(std::string(1, '\0'), std::string(1, '\0'));
  } else {
    for (auto& [first, end] : database_ranges(*db)) del(first, end);
  }
  ctx.engine.kv_txn(std::move(t), back_to<TxnResult>(r, [&ctx, r, db, done = std::move(done)](Result<TxnResult> kv) mutable {
    if (!kv) return done(kv.status());
    ctx.engine.list_streams(db ? stored_key(*db, "") : std::string(), back_to<std::vector<std::string>>(
        r, [&ctx, r, db, done = std::move(done)](Result<std::vector<std::string>> names) mutable {
          if (!names) return done(names.status());
          if (db) std::erase_if(*names, [&](const std::string& n) { return redis_database_of(n) != *db; });
          struct Left {
            size_t n;
            Status failed;
            std::function<void(Status)> done;
          };
          auto left = std::make_shared<Left>(Left{names->size(), Status::ok(), std::move(done)});
          if (left->n == 0) return left->done(Status::ok());
          for (const std::string& name : *names) {
            ctx.engine.delete_stream(name, back_to<bool>(r, [left](Result<bool> gone) {
              if (!gone) left->failed = gone.status();
              if (--left->n == 0) left->done(left->failed);
            }));
          }
        }));
  }));
}

void flush(Context& ctx, const ReplyPtr& r, Args a, std::optional<unsigned> db) {
  if (a.size() > 2 || (a.size() == 2 && !iequals(a[1], "async") && !iequals(a[1], "sync"))) {
    return reply_syntax_error(*r);
  }
  auto answer = [r](Status s) {
    if (!s) write_status_error(r->w(), s);
    else r->w().simple("OK");
    r->done();
  };
  if (r->client().in_exec) return delete_everything(ctx, r, db, answer);
  std::vector<unsigned> all;
  for (unsigned i = 0; i < ctx.engine.shard_count(); ++i) all.push_back(i);
  ctx.engine.txn_begin(all, back_to<uint64_t>(r, [&ctx, r, db, all, answer](Result<uint64_t> txn) {
    if (!txn) return answer(txn.status());
    runtime::TxnScope scope(*txn);
    delete_everything(ctx, r, db, [&ctx, r, all, answer, id = *txn](Status deleted) {
      // Committed whatever happened: what was deleted stays deleted.
      ctx.engine.txn_end(id, all, back_to<bool>(r, [answer, deleted](Result<bool> committed) {
        runtime::TxnScope none(0);
        if (!committed) return answer(committed.status());
        answer(deleted);
      }));
    });
  }));
}

void cmd_flushall(Context& ctx, const ReplyPtr& r, Args a) { flush(ctx, r, a, std::nullopt); }
void cmd_flushdb(Context& ctx, const ReplyPtr& r, Args a) { flush(ctx, r, a, r->client().db); }

}  // namespace

void add_flush_commands(std::vector<Command>& out) {
  out.push_back({"FLUSHALL", -1, kWrite, cmd_flushall});
  out.push_back({"FLUSHDB", -1, kWrite, cmd_flushdb});
}

}  // namespace redcar::resp
