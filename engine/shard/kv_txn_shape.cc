#include "engine/shard/kv_txn_shape.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>

#include "engine/shard/kv_store.h"

namespace redcar::shard {

namespace {

Status duplicate() {
  return Status(Code::kInvalidArgument, Reason::kDuplicateKey, "the transaction writes a key twice");
}

bool has_nested(const std::vector<KvOp>& ops) {
  return std::any_of(ops.begin(), ops.end(), [](const KvOp& op) { return op.kind == KvOp::Kind::kTxn; });
}

// Up to this many ops at one level, without nested transactions, are
// checked pairwise and without allocating: a lone SET or Put is checked
// here on every call.
constexpr size_t kFlatOps = 16;

Status check_flat(const std::vector<KvOp>& ops) {
  for (size_t i = 0; i < ops.size(); ++i) {
    const KvOp& op = ops[i];
    if (op.kind != KvOp::Kind::kPut) continue;
    for (size_t j = 0; j < ops.size(); ++j) {
      const KvOp& o = ops[j];
      bool clash = (o.kind == KvOp::Kind::kPut && j < i && o.range.key == op.range.key) ||
                   (o.kind == KvOp::Kind::kDelete && in_range(op.range.key, o.range.key, o.range.range_end));
      if (clash) return duplicate();
    }
  }
  return Status::ok();
}

// What a branch writes, nested transactions' branches included. Deletes of
// one key are kept apart from ranges, so that a transaction of many writes
// (SWAPDB's, one per key) is checked in n log n, not n squared.
struct Writes {
  std::set<std::string> puts;
  std::set<std::string> deleted_keys;
  std::vector<std::pair<std::string, std::string>> deleted_ranges;  // key, range end

  void add_delete(const std::string& key, const std::string& end) {
    if (end.empty()) deleted_keys.insert(key);
    else deleted_ranges.emplace_back(key, end);
  }
  void add_deletes(const Writes& w) {
    deleted_keys.insert(w.deleted_keys.begin(), w.deleted_keys.end());
    deleted_ranges.insert(deleted_ranges.end(), w.deleted_ranges.begin(), w.deleted_ranges.end());
  }
  bool deleted(const std::string& key) const {
    return deleted_keys.count(key) || std::any_of(deleted_ranges.begin(), deleted_ranges.end(),
                                                   [&](const auto& d) { return in_range(key, d.first, d.second); });
  }
};

Status gather(const std::vector<KvOp>& ops, Writes* out) {
  for (const KvOp& op : ops) {
    if (op.kind == KvOp::Kind::kDelete) out->add_delete(op.range.key, op.range.range_end);
  }
  // A nested transaction's puts against the puts and deletes around it;
  // then its deletes join this level's, against the puts that follow.
  for (const KvOp& op : ops) {
    if (op.kind != KvOp::Kind::kTxn) continue;
    Writes then, otherwise;
    if (Status s = gather(op.txn.front().success, &then); !s) return s;
    if (Status s = gather(op.txn.front().failure, &otherwise); !s) return s;
    for (const std::string& k : then.puts) {
      if (out->puts.count(k) || out->deleted(k)) return duplicate();
    }
    for (const std::string& k : otherwise.puts) {
      if ((out->puts.count(k) && !then.puts.count(k)) || out->deleted(k)) return duplicate();
    }
    out->puts.insert(then.puts.begin(), then.puts.end());
    out->puts.insert(otherwise.puts.begin(), otherwise.puts.end());
    out->add_deletes(then);
    out->add_deletes(otherwise);
  }
  for (const KvOp& op : ops) {
    if (op.kind != KvOp::Kind::kPut) continue;
    if (out->puts.count(op.range.key) || out->deleted(op.range.key)) return duplicate();
    out->puts.insert(op.range.key);
  }
  return Status::ok();
}

Status check_keys(const std::vector<KvOp>& ops) {
  for (const KvOp& op : ops) {
    if (op.kind == KvOp::Kind::kTxn) {
      if (op.txn.size() != 1) return Status(Code::kInvalidArgument, "a nested transaction op holds one transaction");
      if (Status s = check_keys(op.txn.front().success); !s) return s;
      if (Status s = check_keys(op.txn.front().failure); !s) return s;
    } else if (op.kind != KvOp::Kind::kRange && op.range.key.empty()) {
      return Status(Code::kInvalidArgument, Reason::kKeyMissing, "a write in the transaction names no key");
    }
  }
  return Status::ok();
}

}  // namespace

Status check_txn_writes(const TxnRequest& req) {
  for (const auto* branch : {&req.success, &req.failure}) {
    if (Status s = check_keys(*branch); !s) return s;
    if (branch->size() <= kFlatOps && !has_nested(*branch)) {
      if (Status s = check_flat(*branch); !s) return s;
      continue;
    }
    Writes w;
    if (Status s = gather(*branch, &w); !s) return s;
  }
  return Status::ok();
}

}  // namespace redcar::shard
