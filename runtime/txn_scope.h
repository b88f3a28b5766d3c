// The transaction a piece of work belongs to, carried across threads.
//
// An EXEC holds the shards it touches (engine/shard/shard.h): while a shard
// is held, only work of the holding transaction runs there; everyone else's
// waits. Work belongs to a transaction because it was caused by it: a task
// posted while the transaction's tag is current carries the tag with it
// (Reactor::post), and runs with it current again, on whichever loop. So a
// command's continuations — the engine's answer, the next engine call it
// makes — stay inside the transaction without any API having to pass it.
//
// The tag is 0 outside any transaction, which is nearly always: a post then
// costs one thread-local read.
#pragma once

#include <cstdint>

namespace redcar::runtime {

inline thread_local uint64_t t_current_txn = 0;

inline uint64_t current_txn() { return t_current_txn; }

// Makes `txn` current for its lifetime, then restores the one before.
class TxnScope {
 public:
  explicit TxnScope(uint64_t txn) : saved_(t_current_txn) { t_current_txn = txn; }
  ~TxnScope() { t_current_txn = saved_; }
  TxnScope(const TxnScope&) = delete;
  TxnScope& operator=(const TxnScope&) = delete;

 private:
  uint64_t saved_;
};

}  // namespace redcar::runtime
