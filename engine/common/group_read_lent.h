// XREADGROUP's hot path across the engine boundary (Engine::group_read_lent):
// a group read of new entries that a front end lends, and reuses from one
// request to the next, so that a read delivers without copying an event or
// allocating. The engine reads it on the stream's shard until the read's
// callback has run: each entry it delivers is lent to `visit` there, as the
// log holds it, before the deliver record is staged; the callback gets how
// many were delivered once that record is written. A read that fails after
// some entries were lent answers the failure, and delivers none of them.
// (The callback is not kept here: it holds the caller's reply, which holds
// this.)
#pragma once

#include <string>
#include <vector>

#include "engine/common/callback.h"
#include "engine/common/event_view.h"
#include "engine/common/types.h"

namespace redcar {

struct GroupReadLent {
  std::string stream;
  GroupReadOptions opt;  // new entries only: opt.history is ignored
  // Returns false to take no more (the entry it was given is not delivered).
  runtime::Function<bool(const EventView&), kCallbackInlineBytes> visit;
  // The engine's, while the read runs: what it has lent so far. Kept with
  // its capacity.
  std::vector<EventRef> delivered;
};

}  // namespace redcar
