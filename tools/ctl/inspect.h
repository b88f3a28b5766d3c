// inspect: runs a command once per event of a stream, one at a time and in
// order, with the event's data on its stdin and REDCAR_STREAM,
// REDCAR_NUMBER, REDCAR_TYPE, REDCAR_ID and REDCAR_SOURCE in its
// environment. Without --follow it stops at the last event the stream held
// when it started (Read); with --follow it keeps following (Subscribe, with
// the same reconnection as `subscribe`). A failing command stops inspect
// with that command's exit status, unless --keep-going.
#pragma once

#include <string>
#include <vector>

#include "redcar/v1/events.pb.h"

namespace redcar::ctl {

// Runs argv with `e` as described above; returns its exit status (128+N
// when killed by signal N, 127 when it could not be started).
int run_for_event(const std::vector<std::string>& argv, const v1::RecordedEvent& e);

}  // namespace redcar::ctl
