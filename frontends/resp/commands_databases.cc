// SWAPDB: two databases (databases.h) trade every key. The key-value keys
// (strings and hashes, with their deadlines) are read and rewritten in one
// transaction of the key-value view, with the view's shard held meanwhile
// (Engine::txn_begin) so that no other write comes between the read and
// the write, and after a crash the swap is there whole or not at all. A
// stream cannot change its name, so databases holding streams are not
// swapped, and SWAPDB says so.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "frontends/resp/command_table.h"
#include "frontends/resp/context.h"
#include "frontends/resp/databases.h"
#include "runtime/txn_scope.h"

namespace redcar::resp {
namespace {

const char* kStreamsStay =
    "ERR redcar cannot swap databases that hold streams: a stream's events stay in the log of the shard its name "
    "placed them on";

// Reads both databases' keys, then writes each key where the other was and
// deletes those the other does not have; `done` on the client's thread.
void swap_keys(Context& ctx, const ReplyPtr& r, unsigned x, unsigned y, std::function<void(Status)> done) {
  TxnRequest read;
  read.all_types = true;
  std::vector<unsigned> of;  // the database of each range read
  for (unsigned db : {x, y}) {
    for (auto& [first, end] : database_ranges(db)) {
      KvOp& op = read.success.emplace_back();
      op.kind = KvOp::Kind::kRange;
      op.range.key = first;
      op.range.range_end = end;
      op.range.all_types = true;
      of.push_back(db);
    }
  }
  ctx.engine.kv_txn(std::move(read), back_to<TxnResult>(r, [&ctx, r, x, y, of, done](Result<TxnResult> got) {
    if (!got) return done(got.status());
    std::vector<const KeyValue*> in_x, in_y;
    std::set<std::string_view> names_x, names_y;
    for (size_t i = 0; i < of.size(); ++i) {
      for (const KeyValue& kv : got->results[i].range.kvs) {
        if (redis_database_of(kv.key) != of[i]) continue;  // database 0's ranges hold no other's, but be sure
        (of[i] == x ? in_x : in_y).push_back(&kv);
        (of[i] == x ? names_x : names_y).insert(user_key(kv.key));
      }
    }
    TxnRequest t;
    t.all_types = true;
    auto move_all = [&t](const std::vector<const KeyValue*>& from, const std::set<std::string_view>& stay, unsigned src,
                         unsigned dst) {
      for (const KeyValue* kv : from) {
        KvOp& put = t.success.emplace_back();
        put.kind = KvOp::Kind::kPut;
        put.range.key = stored_key(dst, user_key(kv->key));
        put.value = kv->value;
        put.type = kv->type;
        put.expire_ms = kv->expire_ms;
        if (stay.count(user_key(kv->key))) continue;  // the other database's key takes its place
        KvOp& del = t.success.emplace_back();
        del.kind = KvOp::Kind::kDelete;
        del.range.key = stored_key(src, user_key(kv->key));
      }
    };
    move_all(in_x, names_y, x, y);
    move_all(in_y, names_x, y, x);
    if (t.success.empty()) return done(Status::ok());
    ctx.engine.kv_txn(std::move(t), back_to<TxnResult>(r, [done](Result<TxnResult> res) {
      done(res ? Status::ok() : res.status());
    }));
  }));
}

void cmd_swapdb(Context& ctx, const ReplyPtr& r, Args a) {
  int64_t x, y;
  if (!parse_int(a[1], &x)) return reply_error(*r, "ERR invalid first DB index");
  if (!parse_int(a[2], &y)) return reply_error(*r, "ERR invalid second DB index");
  const auto n = static_cast<int64_t>(ctx.options.databases);
  if (x < 0 || y < 0 || x >= n || y >= n) return reply_error(*r, "ERR DB index is out of range");
  auto answer = [r](Status s) {
    if (!s) write_status_error(r->w(), s);
    else r->w().simple("OK");
    r->done();
  };
  if (x == y) return answer(Status::ok());
  const auto dx = static_cast<unsigned>(x), dy = static_cast<unsigned>(y);
  ctx.engine.list_streams("", back_to<std::vector<std::string>>(r, [&ctx, r, dx, dy, answer](Result<std::vector<std::string>> s) {
    if (!s) return answer(s.status());
    for (const std::string& name : *s) {
      if (unsigned db = redis_database_of(name); db == dx || db == dy) return reply_error(*r, kStreamsStay);
    }
    // Within EXEC, whose hold covers every shard for SWAPDB, as it is.
    if (r->client().in_exec) return swap_keys(ctx, r, dx, dy, answer);
    std::vector<unsigned> kv{ctx.engine.kv_shard()};
    ctx.engine.txn_begin(kv, back_to<uint64_t>(r, [&ctx, r, dx, dy, kv, answer](Result<uint64_t> txn) {
      if (!txn) return answer(txn.status());
      runtime::TxnScope scope(*txn);
      swap_keys(ctx, r, dx, dy, [&ctx, r, kv, answer, id = *txn](Status swapped) {
        ctx.engine.txn_end(id, kv, back_to<bool>(r, [answer, swapped](Result<bool> committed) {
          runtime::TxnScope none(0);
          if (!committed) return answer(committed.status());
          answer(swapped);
        }));
      });
    }));
  }));
}

}  // namespace

void add_database_commands(std::vector<Command>& out) {
  out.push_back({"SWAPDB", 3, kWrite | kChangesDatabases, cmd_swapdb});
}

}  // namespace redcar::resp
