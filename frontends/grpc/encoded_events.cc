#include "frontends/grpc/encoded_events.h"

#include "frontends/grpc/cloudevent_codec.h"
#include "redcar/v1/events.pb.h"

namespace redcar::grpcfe {

namespace {

void put_varint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

}  // namespace

std::shared_ptr<const std::string> frame_event(const Event& e) {
  ::redcar::v1::RecordedEvent rec;
  encode_recorded(e, &rec);
  std::string body = rec.SerializeAsString();
  auto out = std::make_shared<std::string>();
  out->reserve(body.size() + 6);
  out->push_back(static_cast<char>((1 << 3) | 2));  // field 1, length-delimited
  put_varint(out.get(), body.size());
  out->append(body);
  return out;
}

std::shared_ptr<const std::string> EncodedEvents::framed(const EventPtr& e) {
  auto it = map_.find(e.get());
  if (it != map_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return it->second.bytes;
  }
  auto bytes = frame_event(*e);
  lru_.push_front(e.get());
  map_.emplace(e.get(), Entry{e, bytes, lru_.begin()});
  bytes_ += bytes->size();
  while (bytes_ > max_bytes_ && lru_.size() > 1) {
    auto old = map_.find(lru_.back());
    bytes_ -= old->second.bytes->size();
    map_.erase(old);
    lru_.pop_back();
  }
  return bytes;
}

void FramedMessage::add(std::shared_ptr<const std::string> framed) {
  // The slice refers to the shared bytes and holds a reference to them
  // until grpc has sent it.
  auto* hold = new std::shared_ptr<const std::string>(std::move(framed));
  bytes_ += (*hold)->size();
  entries_++;
  slices_.emplace_back(const_cast<char*>((*hold)->data()), (*hold)->size(),
                       +[](void* p) { delete static_cast<std::shared_ptr<const std::string>*>(p); }, hold);
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
