// The consumer-group state machine: how each group record (FORMAT.md types
// 9 to 16) changes a stream's groups, their consumers and pending entries.
// ConsumerGroups applies a record the moment it stages it; recovery applies
// the same records from the log, so both end in the same state. A record's
// own timestamp is its time, never the clock: it runs again at recovery.
#pragma once

#include "engine/log/record.h"
#include "engine/shard/record_bodies.h"
#include "engine/shard/stream_table.h"

namespace redcar::shard {

void apply_group_record(StreamTable& table, const log::RecordView& rec);
// The same with the record's body already decoded (`b` is what rec.body
// encodes): a record being staged is applied from the body it was encoded
// from.
void apply_group_record(StreamTable& table, const log::RecordView& rec, const GroupBody& b);

}  // namespace redcar::shard
