// A shard's gate: while a transaction holds the shard (Shard::hold), work
// that is not the transaction's waits, and runs in order once it lets go.
// Client requests meet it in Shard::post; the parts that post to their own
// loop for a client meet it here — a subscriber or a watcher asking for
// more — so that nobody reads what a transaction wrote before it commits.
#pragma once

#include "runtime/task.h"

namespace redcar::shard {

class Gate {
 public:
  // Whether work may run now (on the shard's thread).
  virtual bool admits() const = 0;
  // Keeps `t` until the transaction lets go.
  virtual void defer(runtime::Task t) = 0;

 protected:
  ~Gate() = default;
};

}  // namespace redcar::shard
