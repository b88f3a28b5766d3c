// The three positions of a shard's log, in log offsets, and the one place
// their order is checked:
//
//   durable <= written <= staged
//
// staged:  the end of the records handed to the log (batches not yet written
//          included);
// written: the end of the batches whose writes completed, in log order.
//          This is what readers see and what is acknowledged;
// durable: what a crash keeps. Under --fsync always a batch is durable when
//          its write completes (O_DSYNC), so durable == written; under
//          interval and never it lags until a sync (or the close) catches up.
#pragma once

#include <cstdint>

#include "engine/common/assert.h"

namespace redcar::log {

struct LogPositions {
  uint64_t durable = 0;
  uint64_t written = 0;
  uint64_t staged = 0;

  void check() const {
    REDCAR_CHECK(durable <= written);
    REDCAR_CHECK(written <= staged);
  }
};

}  // namespace redcar::log
