// EncodedEvents and FramedMessage: an event is encoded once and shared; the
// cache stays within its bytes; a message assembled from framed entries
// reads back as the SubscribeResponse it stands for.
#include <gtest/gtest.h>

#include <grpcpp/support/proto_buffer_reader.h>

#include "frontends/grpc/encoded_events.h"
#include "redcar/v1/events.pb.h"

namespace redcar::grpcfe {
namespace {

EventPtr event(uint64_t number, std::string data) {
  auto e = std::make_shared<Event>();
  e->stream = "orders";
  e->number = number;
  e->id = {1000 + number, 0};
  e->timestamp_us = 1700000000000000 + static_cast<int64_t>(number);
  e->payload.type = "created";
  e->payload.data = std::move(data);
  e->payload.content_type = "application/json";
  return e;
}

std::string bytes_of(const grpc::Slice& s) { return std::string(reinterpret_cast<const char*>(s.begin()), s.size()); }

v1::SubscribeResponse parse(grpc::ByteBuffer b) {
  v1::SubscribeResponse r;
  grpc::ProtoBufferReader reader(&b);
  EXPECT_TRUE(r.ParseFromZeroCopyStream(&reader));
  return r;
}

TEST(EncodedEvents, OneEncodingPerEventSharedByEveryone) {
  EncodedEvents cache;
  auto e = event(7, "{\"id\":7}");
  auto a = cache.framed(e);
  auto b = cache.framed(e);
  EXPECT_EQ(a.begin(), b.begin());
  EXPECT_EQ(cache.entries(), 1u);
  auto other = event(7, "{\"id\":7}");  // an equal event, another object: encoded on its own
  EXPECT_NE(cache.framed(other).begin(), a.begin());
  EXPECT_EQ(bytes_of(cache.framed(other)), bytes_of(a));
}

TEST(EncodedEvents, StaysWithinItsBytesDroppingTheOldest) {
  size_t one = frame_event(*event(0, std::string(1000, 'x'))).size();
  EncodedEvents cache(one * 10);
  std::vector<EventPtr> events;
  for (uint64_t i = 0; i < 50; ++i) {
    events.push_back(event(i, std::string(1000, 'x')));
    cache.framed(events.back());
    EXPECT_LE(cache.bytes(), one * 10);
  }
  EXPECT_GE(cache.entries(), 9u);  // sizes differ by a byte or two with the numbers
  EXPECT_LE(cache.entries(), 10u);
  // The newest are still shared; the oldest was made again.
  auto newest = cache.framed(events.back());
  EXPECT_EQ(newest.begin(), cache.framed(events.back()).begin());
}

TEST(FramedMessage, ReadsBackAsASubscribeResponse) {
  EncodedEvents cache;
  FramedMessage m;
  for (uint64_t i = 0; i < 3; ++i) m.add(cache.framed(event(i, "{\"n\":" + std::to_string(i) + "}")));
  m.add_flag(2);  // caught_up
  EXPECT_EQ(m.entries(), 3u);
  auto r = parse(m.take());
  ASSERT_EQ(r.events_size(), 3);
  EXPECT_TRUE(r.caught_up());
  EXPECT_EQ(r.events(2).number(), 2u);
  EXPECT_EQ(r.events(2).stream(), "orders");
  EXPECT_EQ(r.events(2).event().type(), "created");
  EXPECT_EQ(r.events(2).event().text_data(), "{\"n\":2}");
  EXPECT_TRUE(m.empty());
  FramedMessage flag_only;
  flag_only.add_flag(2);
  auto f = parse(flag_only.take());
  EXPECT_EQ(f.events_size(), 0);
  EXPECT_TRUE(f.caught_up());
}

}  // namespace
}  // namespace redcar::grpcfe
