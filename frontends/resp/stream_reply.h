// How stream entries look on the wire: [id, [field, value, ...]]. An event
// written through another front end (one with a type) shows its type and
// data as the pairs "type" and "data", then its attributes as fields.
#pragma once

#include "engine/common/event_view.h"
#include "engine/common/types.h"
#include "frontends/resp/resp_writer.h"

namespace redcar::resp {

void write_entry(ReplyWriter& w, const Event& e);
void write_entry(ReplyWriter& w, const EventView& e);
void write_entries(ReplyWriter& w, const std::vector<Event>& events);
// Parses a range bound: "-", "+", "ms", "ms-seq", "(ms-seq". `start` picks
// the missing sequence (0 for a start, max for an end).
bool parse_range_bound(std::string_view text, bool start, StreamId* out, bool* exclusive);

}  // namespace redcar::resp
