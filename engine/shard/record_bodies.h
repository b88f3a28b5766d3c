// The bodies of a shard's records (FORMAT.md, "Types and bodies"), encoded
// and decoded in one place: events, ID lists (XDEL, group entries), stream
// set-id, and the consumer-group records. And stage_record(), which frames
// a record with its header and stages it in the log.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/status.h"
#include "engine/common/event_view.h"
#include "engine/common/types.h"
#include "engine/log/log.h"
#include "engine/log/record.h"

namespace redcar::shard {

// Stages a record; its timestamp is `ts_us`, or now when absent (any value
// is a valid time: 0 is the epoch, so "now" is the absent value, not 0).
Result<uint64_t> stage_record(log::Log& log, log::RecordType type, std::string_view name, uint64_t number, StreamId id,
                              std::string_view body, std::optional<int64_t> ts_us = std::nullopt);

// --- events
size_t event_body_size(const EventData& e);
// Writes exactly event_body_size(e) bytes at `out`.
void write_event_body(const EventData& e, uint8_t* out);
std::string encode_event_body(const EventData& e);
bool decode_event_body(std::string_view body, EventData* out);
// The idempotency id alone (empty if none), read past the rest without
// copying it. False if the body does not parse.
bool event_idempotency_id(std::string_view body, std::string_view* id);
// The event an event record holds; its checksum passed, so it must parse.
Event make_event(const log::RecordView& rec);
// The same, lent: views into the record.
EventView view_event(const log::RecordView& rec);

// --- lists of events by number and ID (event-delete, group records)
void write_refs(log::BodyWriter& w, const std::vector<EventRef>& refs);
bool read_refs(log::BodyReader& r, std::vector<EventRef>* refs);
std::string encode_refs(const std::vector<EventRef>& refs);

// --- stream-set-id
struct SetIdBody {
  uint64_t entries_added = 0;
  StreamId max_deleted;
};
std::string encode_set_id(const SetIdBody& b);
bool decode_set_id(std::string_view body, SetIdBody* out);

// --- stream-config: the stream's settings as tagged values, every one
// each time, so a record says the whole of them and a missing tag is its
// default. Unknown tags are refused: they would be settings this version
// cannot keep.
struct StreamConfigBody {
  int64_t deadline_ms = 0;  // Unix ms the stream expires at; 0: never
};
std::string encode_stream_config(const StreamConfigBody& b);
bool decode_stream_config(std::string_view body, StreamConfigBody* out);

// --- consumer-group records: every body starts with the group's name;
// which other fields follow depends on the type.
namespace group_flags {
inline constexpr uint64_t kDeliverHistory = 1;  // re-delivery of the consumer's own pending entries
inline constexpr uint64_t kDeliverNoAck = 2;
inline constexpr uint64_t kClaimBumpCount = 1;
inline constexpr uint64_t kClaimSetCount = 2;
}  // namespace group_flags

struct GroupBody {
  std::string_view group{};
  std::string_view consumer{};   // consumer-create/delete, deliver, claim
  std::vector<EventRef> refs{};  // deliver, ack, claim
  uint64_t flags = 0;          // deliver, claim
  uint64_t count = 0;          // claim with kClaimSetCount
};
std::string encode_group_body(log::RecordType type, const GroupBody& b);
bool decode_group_body(log::RecordType type, std::string_view body, GroupBody* out);
inline bool is_group_record(log::RecordType t) {
  return t >= log::RecordType::kGroupCreate && t <= log::RecordType::kGroupClaim;
}

}  // namespace redcar::shard
