// CloudEvents <-> engine events, for the native API. The rules are the
// contract stated in proto/redcar/v1/events.proto:
//   type, data            the event's type and body
//   id                    its idempotency id (empty: none)
//   source, attributes    named fields, as strings; datacontenttype is the
//                         event's content type
//   proto_data            body = the Any's value, content type
//                         application/protobuf, dataschema = its type URL
//                         (a dataschema that says otherwise is refused)
// and back: an event keeps its id, or gets its Redis ID as one; an event
// with no source gets "/streams/<name>"; textual content comes back as
// text_data; an XADD entry (fields, no type) has the type
// "redis.stream.entry" and its fields as string attributes. What a protobuf
// string cannot hold (bytes that are not UTF-8, as Redis values may be)
// comes back as bytes: such a value as ce_bytes, such data as binary_data,
// such a name (of a field, a type, a stream) percent-encoded.
#pragma once

#include <grpcpp/support/status.h>

#include "engine/common/event_view.h"
#include "engine/common/types.h"
#include "io/cloudevents/v1/cloudevents.pb.h"
#include "redcar/v1/events.pb.h"

namespace redcar::grpcfe {

inline constexpr const char* kRedisEntryType = "redis.stream.entry";

// INVALID_ARGUMENT (naming the event by its index) when the event breaks
// the CloudEvents rules: no type, an unknown spec version, an attribute
// name outside [a-z0-9], or one of the required attributes given again; or
// when it cannot be kept whole (proto_data with another dataschema).
// A name (of a stream, a type, a field) as a protobuf string can carry it:
// itself, or percent-encoded when it is not UTF-8 (a name written over RESP
// may be any bytes). Such a stream cannot be addressed by that name here.
std::string wire_name(const std::string& name);

// The event's strings are moved out of `in` (an append's request, owned by
// its call and not read again), so that decoding allocates nothing for them.
grpc::Status decode_cloudevent(::io::cloudevents::v1::CloudEvent& in, size_t index, EventData* out);
// Appends `e` as a RecordedEvent entry of field `field` of the message
// being written (tag, length, bytes), or with `field` 0 its bytes alone.
// Written straight from the event, without a protobuf message: from the
// log's bytes (Read) or an owned event (Subscribe). Appends nothing and is
// false when `out` would grow past `max_bytes`.
bool append_recorded(const EventView& e, uint32_t field, std::string* out, size_t max_bytes = SIZE_MAX);
bool append_recorded(const Event& e, uint32_t field, std::string* out, size_t max_bytes = SIZE_MAX);
// The same as a message (parsed from those bytes, so that there is one
// encoding).
void encode_recorded(const Event& e, ::redcar::v1::RecordedEvent* out);

}  // namespace redcar::grpcfe
