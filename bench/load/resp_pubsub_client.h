// The RESP pub/sub workload, `pubsub`: publish-to-delivery over Redis
// pub/sub, so that redis-server's fan-out and redcar's RESP front end are
// measured the way publish-to-delivery measures redcar's native Subscribe.
//
// --subscribers connections SUBSCRIBE to one channel named for the run
// (never reused, so that no earlier run's publisher or subscriber is
// counted); setup returns once every one has its confirmation. Each slot
// (--clients connections times --pipeline) sends PUBLISH with a
// --value-bytes payload whose first 8 bytes are the send time (the steady
// clock; when it was due, in the open loop). Every subscriber's receipt is a
// "delivery" latency, the same name as the native workload's, so results
// read both alike. Pub/sub keeps no history, so a message can only be lost,
// not replayed: at the end each subscriber must have received as many
// messages as PUBLISH calls succeeded, and any shortfall is an error.
//
// Kept apart from resp_client.* because its shape differs: subscriber
// connections that only read, many of them (1000 is a usual count), whose
// reads share one large buffer per event loop rather than holding one each.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "client.h"
#include "options.h"
#include "resp_codec.h"

namespace redcar::load {

std::unique_ptr<Client> make_resp_pubsub_client(const Options& options);

namespace pubsub {

inline constexpr size_t kSendTimeBytes = sizeof(int64_t);

// What a subscriber connection reads, reply by reply (pure, for the tests).
struct Push {
  enum class Kind {
    kMessage,    // ["message", channel, payload]
    kSubscribe,  // ["subscribe", channel, count]: the confirmation
    kError,      // an error reply (text)
    kOther,      // any other reply or push
  };
  Kind kind = Kind::kOther;
  std::string_view channel;
  std::string_view payload;  // kMessage: the message; kError: the error text
  // kMessage: the send time from the payload's first bytes; -1 if the
  // payload is shorter than that.
  int64_t send_ns = -1;
};

// Reads the RESP2 array or RESP3 push at the front of `in`, like
// resp::parse_reply.
resp::Parse read_push(std::string_view in, Push* push, size_t* consumed);

// Writes the send time into a payload of at least kSendTimeBytes.
void stamp_send_time(char* payload, int64_t send_ns);

}  // namespace pubsub
}  // namespace redcar::load
