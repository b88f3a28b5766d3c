// The wire form of recorded events, made once per event and shared by every
// subscriber that delivers it. Without it each Subscribe call builds and
// serializes its own copy of each event: with a thousand subscribers on a
// stream that is a thousand encodings of every append.
//
// EncodedEvents keeps the most recent encodings of one shard (an LRU bounded
// in bytes), keyed by the engine's event object: live subscribers of a
// stream are handed the same objects. It is used by that shard's thread
// alone. An encoding is a grpc slice: every message that carries it holds a
// reference to the same bytes (grpc's reference count, one atomic step per
// message, no allocation). FramedMessage assembles a SubscribeResponse from
// shared encodings as a ByteBuffer of those slices, without copying.
#pragma once

#include <grpcpp/support/byte_buffer.h>

#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/common/types.h"

namespace redcar::grpcfe {

inline constexpr size_t kEncodedEventsCacheBytes = 16u << 20;

class EncodedEvents {
 public:
  explicit EncodedEvents(size_t max_bytes = kEncodedEventsCacheBytes) : max_bytes_(max_bytes) {}

  // `e` as one entry of the `events` field (field 1) of a SubscribeResponse:
  // tag, length, RecordedEvent bytes.
  grpc::Slice framed(const EventPtr& e);
  size_t bytes() const { return bytes_; }
  size_t entries() const { return map_.size(); }

 private:
  struct Entry {
    EventPtr event;  // keeps the key's address from being reused
    grpc::Slice bytes;
    std::list<const Event*>::iterator lru;
  };
  size_t max_bytes_;
  size_t bytes_ = 0;
  std::unordered_map<const Event*, Entry> map_;
  std::list<const Event*> lru_;  // most recent first
};

// The framed entry of one event, made without a cache.
grpc::Slice frame_event(const Event& e);

// A slice that owns `bytes` (moved, not copied) until grpc lets go of it.
grpc::Slice owned_slice(std::string bytes);

class FramedMessage {
 public:
  void add(grpc::Slice framed);
  // A varint field after the entries (protobuf does not mind the order).
  void add_flag(uint32_t field);
  size_t bytes() const { return bytes_; }
  size_t entries() const { return entries_; }
  bool empty() const { return slices_.empty(); }
  grpc::ByteBuffer take();

 private:
  std::vector<grpc::Slice> slices_;
  size_t bytes_ = 0;
  size_t entries_ = 0;
};

}  // namespace redcar::grpcfe
