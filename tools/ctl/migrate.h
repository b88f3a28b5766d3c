// migrate: copies streams from one server to another, in batches of
// Append calls. Each batch carries an expected version (NO_STREAM for the
// first, then EXACT the destination's last number), so two runs can never
// interleave their writes, and keeps every event's CloudEvent as the source
// served it, id included, so the destination treats a retried batch as a
// duplicate. Resumable: a run counts the events the destination stream
// already holds and skips that many source events (from FROM on), after
// checking that the destination's last event is the copy of the source
// event it stands for. Progress goes to stderr.
#pragma once
