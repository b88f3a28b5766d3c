#include "frontends/grpc/encoded_events.h"

#include "frontends/grpc/cloudevent_codec.h"

namespace redcar::grpcfe {

grpc::Slice owned_slice(std::string bytes) {
  auto* owned = new std::string(std::move(bytes));
  return grpc::Slice(owned->data(), owned->size(), +[](void* p) { delete static_cast<std::string*>(p); }, owned);
}

grpc::Slice frame_event(const Event& e) {
  std::string out;
  append_recorded(e, 1, &out);  // SubscribeResponse.events
  return owned_slice(std::move(out));
}

grpc::Slice EncodedEvents::framed(const EventPtr& e) {
  auto it = map_.find(e.get());
  if (it != map_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return it->second.bytes;
  }
  auto bytes = frame_event(*e);
  lru_.push_front(e.get());
  map_.emplace(e.get(), Entry{e, bytes, lru_.begin()});
  bytes_ += bytes.size();
  while (bytes_ > max_bytes_ && lru_.size() > 1) {
    auto old = map_.find(lru_.back());
    bytes_ -= old->second.bytes.size();
    map_.erase(old);
    lru_.pop_back();
  }
  return bytes;
}

void FramedMessage::add(grpc::Slice framed) {
  bytes_ += framed.size();
  entries_++;
  slices_.push_back(std::move(framed));
}

void FramedMessage::add_flag(uint32_t field) {
  char bytes[2] = {static_cast<char>(field << 3), 1};  // varint wire type, value 1
  slices_.emplace_back(bytes, sizeof(bytes));  // copied
  bytes_ += sizeof(bytes);
}

grpc::ByteBuffer FramedMessage::take() {
  grpc::ByteBuffer b(slices_.data(), slices_.size());
  slices_.clear();
  bytes_ = 0;
  entries_ = 0;
  return b;
}

}  // namespace redcar::grpcfe
