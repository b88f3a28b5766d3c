// The native redcar.v1.Events client, grpc++ callback API, calls spread over
// --channels channels:
//   native-append         Append of --batch events (unary), one per slot
//   native-append-stream  one AppendStream call per operation, carrying
//                         --appends-per-call appends of --batch events
//   publish-to-delivery   Append to one fresh stream followed live by
//                         --subscribers Subscribe calls; every event carries
//                         its send time (the first 8 bytes of its data, the
//                         steady clock; when it was due, in the open loop),
//                         and each subscriber's receipt is a "delivery"
//                         latency. A gap, a duplicate or a delivery missing
//                         at the end is an error.
//   catch-up-read         Read of --read-count events from a stream written
//                         before (filled up to --prefill events if shorter),
//                         range after range through the stream
// Events are CloudEvents with type "bench", source "redcar-bench", binary
// data of --value-bytes, and ids unique across runs (so that the server's
// idempotency check never drops one as a retry): on every event, or with
// --event-ids on the first of each append only, or on none.
#pragma once

#include <memory>

#include "client.h"
#include "options.h"

namespace redcar::load {

std::unique_ptr<Client> make_native_client(const Options& options);

}  // namespace redcar::load
