// Keys that move or are copied: RENAME, RENAMENX, COPY, MOVE (to another
// database, databases.h). A string or a hash
// (a key-value key of either type) moves in
// one transaction of the key-value view (the source read, then a
// transaction that compares its mod revision, deletes it and writes the
// destination), tried again if another write came between; a stream cannot
// move, since its events live in the log of the shard its name chose, and
// the command says so rather than copy the log.
#include "frontends/resp/command_table.h"
#include "frontends/resp/context.h"
#include "frontends/resp/databases.h"

namespace redcar::resp {
namespace {

const char* kStreamsStay =
    "ERR redcar cannot rename, copy or move a stream: its events stay in the log of the shard its name placed them "
    "on";
constexpr int kMaxTries = 16;

struct Move {
  std::string from, to;
  bool remove_source = true;  // RENAME; COPY keeps it
  bool replace = true;        // RENAME; RENAMENX and COPY without REPLACE do not
  bool answer_integer = false;
  bool missing_is_zero = false;  // MOVE answers 0 for a key that is not there
};

// One try: reads the source, then writes if nothing changed it meanwhile.
void try_move(Context& ctx, const ReplyPtr& r, std::shared_ptr<Move> m, int tries_left) {
  // Read as a transaction reads: from the staged view, which the compare
  // below checks against (a plain range reads what is durable, and would
  // lose to every write still in flight).
  TxnRequest read;
  read.all_types = true;
  KvOp& rd = read.success.emplace_back();
  rd.kind = KvOp::Kind::kRange;
  rd.range.key = m->from;
  ctx.engine.kv_txn(std::move(read), back_to<TxnResult>(r, [&ctx, r, m, tries_left](Result<TxnResult> txn) {
    if (!txn) {
      write_status_error(r->w(), txn.status());
      return r->done();
    }
    const RangeResult* got = &txn->results[0].range;
    if (got->kvs.empty()) {
      // Not a key-value key: a stream, or nothing.
      return ctx.engine.stream_info(m->from, back_to<StreamInfo>(r, [r, m](Result<StreamInfo> info) {
        if (info && info->exists) return reply_error(*r, kStreamsStay);
        if (!m->missing_is_zero) return reply_error(*r, "ERR no such key");
        r->w().integer(0);
        r->done();
      }));
    }
    const KeyValue& src = got->kvs[0];
    if (m->from == m->to) {
      // Redis: renaming a key to itself changes nothing; COPY refuses.
      if (!m->remove_source) return reply_error(*r, "ERR source and destination objects are the same");
      if (m->answer_integer) r->w().integer(0);
      else r->w().simple("OK");
      return r->done();
    }
    TxnRequest t;
    t.all_types = true;
    KvCompare same;
    same.target = KvCompare::Target::kMod;
    same.op = KvCompare::Op::kEqual;
    same.key = m->from;
    same.number = src.mod_revision;
    t.compare.push_back(same);
    KvOp put;
    put.kind = KvOp::Kind::kPut;
    put.range.key = m->to;
    put.value = src.value;
    put.type = src.type;
    put.expire_ms = src.expire_ms;  // a key keeps its deadline where it goes, as in Redis
    t.success.push_back(std::move(put));
    if (m->remove_source) {
      KvOp del;
      del.kind = KvOp::Kind::kDelete;
      del.range.key = m->from;
      t.success.push_back(std::move(del));
    }
    // Whether the destination is taken is read in the failure branch.
    KvOp dest;
    dest.kind = KvOp::Kind::kRange;
    dest.range.key = m->to;
    dest.range.count_only = true;
    t.failure.push_back(std::move(dest));
    if (!m->replace) {
      KvCompare free;
      free.target = KvCompare::Target::kCreate;
      free.op = KvCompare::Op::kEqual;
      free.key = m->to;
      free.number = 0;
      t.compare.push_back(free);
    }
    ctx.engine.kv_txn(std::move(t), back_to<TxnResult>(r, [&ctx, r, m, tries_left](Result<TxnResult> res) {
      if (!res) {
        write_status_error(r->w(), res.status());
        return r->done();
      }
      if (res->succeeded) {
        if (m->answer_integer) r->w().integer(1);
        else r->w().simple("OK");
        return r->done();
      }
      bool taken = !res->results.empty() && res->results[0].range.count > 0;
      if (!m->replace && taken) {
        r->w().integer(0);
        return r->done();
      }
      if (tries_left <= 1) return reply_error(*r, "ERR the key kept changing while it was moved; try again");
      try_move(ctx, r, m, tries_left - 1);
    }));
  }));
}

// The destination may not be a stream: replacing one would need deleting
// its log, which a move of a string should not do behind the client's back.
void move_key(Context& ctx, const ReplyPtr& r, std::shared_ptr<Move> m) {
  ctx.engine.stream_info(m->to, back_to<StreamInfo>(r, [&ctx, r, m](Result<StreamInfo> info) {
    if (info && info->exists && m->from != m->to) {
      if (!m->replace) {
        r->w().integer(0);
        return r->done();
      }
      return reply_error(*r, kStreamsStay);
    }
    try_move(ctx, r, m, kMaxTries);
  }));
}

void cmd_rename(Context& ctx, const ReplyPtr& r, Args a) {
  auto m = std::make_shared<Move>();
  m->from = std::string(a[1]);
  m->to = std::string(a[2]);
  move_key(ctx, r, m);
}

void cmd_renamenx(Context& ctx, const ReplyPtr& r, Args a) {
  auto m = std::make_shared<Move>();
  m->from = std::string(a[1]);
  m->to = std::string(a[2]);
  m->replace = false;
  m->answer_integer = true;
  move_key(ctx, r, m);
}

// COPY source destination [DB index] [REPLACE]
void cmd_copy(Context& ctx, const ReplyPtr& r, Args a) {
  auto m = std::make_shared<Move>();
  m->from = std::string(a[1]);
  m->to = std::string(a[2]);
  m->remove_source = false;
  m->replace = false;
  m->answer_integer = true;
  for (size_t i = 3; i < a.size(); ++i) {
    if (iequals(a[i], "replace")) {
      m->replace = true;
    } else if (iequals(a[i], "db") && i + 1 < a.size()) {
      int64_t db;
      if (!parse_int(a[++i], &db)) return reply_error(*r, "ERR value is not an integer or out of range");
      if (db < 0 || db >= static_cast<int64_t>(ctx.options.databases)) return reply_error(*r, "ERR DB index is out of range");
      m->to = stored_key(static_cast<unsigned>(db), user_key(a[2]));
    } else {
      return reply_syntax_error(*r);
    }
  }
  move_key(ctx, r, m);
}

// MOVE key db: into another database, if the key is not there already.
void cmd_move(Context& ctx, const ReplyPtr& r, Args a) {
  int64_t db;
  if (!parse_int(a[2], &db)) return reply_error(*r, "ERR value is not an integer or out of range");
  if (db < 0 || db >= static_cast<int64_t>(ctx.options.databases)) return reply_error(*r, "ERR DB index is out of range");
  if (static_cast<unsigned>(db) == r->client().db) return reply_error(*r, "ERR source and destination objects are the same");
  auto m = std::make_shared<Move>();
  m->from = std::string(a[1]);
  m->to = stored_key(static_cast<unsigned>(db), user_key(a[1]));
  m->replace = false;
  m->answer_integer = true;
  m->missing_is_zero = true;
  move_key(ctx, r, m);
}

}  // namespace

void add_key_move_commands(std::vector<Command>& out) {
  out.push_back({"MOVE", 3, kWrite | kChangesDatabases, cmd_move, 1, 1, 1});
  out.push_back({"RENAME", 3, kWrite, cmd_rename, 1, 2, 1});
  out.push_back({"RENAMENX", 3, kWrite, cmd_renamenx, 1, 2, 1});
  out.push_back({"COPY", -3, kWrite, cmd_copy, 1, 2, 1});
}

}  // namespace redcar::resp
