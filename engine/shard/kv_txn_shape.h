// The shape of a key-value transaction, nested transactions included,
// decided before any of it runs: whether it writes a key twice (etcd
// refuses that, whichever branch would run), and which branch each of its
// transactions takes. Every compare on the chosen path is evaluated against
// the state before the transaction's first write, as etcd evaluates them.
#pragma once

#include <vector>

#include "engine/common/status.h"
#include "engine/common/types.h"

namespace redcar::shard {

// kInvalidArgument: a write that names no key (kKeyMissing), or a branch
// that writes one key twice (kDuplicateKey): two puts of a key, or a put of
// a key that a delete covers, at one level or through nested transactions.
// A nested transaction's two branches never both run, so they may put the
// same key.
Status check_txn_writes(const TxnRequest& req);

// The outcome of each transaction on the chosen path, in the order they are
// planned: `req` first, then the nested transactions of its chosen branch,
// depth first. `holds(compare)` evaluates one compare.
template <typename Holds>
void choose_branches(const TxnRequest& req, Holds& holds, std::vector<char>* path) {
  bool ok = true;
  for (const KvCompare& c : req.compare) {
    if (!holds(c)) {
      ok = false;
      break;
    }
  }
  path->push_back(ok);
  for (const KvOp& op : ok ? req.success : req.failure) {
    if (op.kind == KvOp::Kind::kTxn) choose_branches(op.txn.front(), holds, path);
  }
}

}  // namespace redcar::shard
