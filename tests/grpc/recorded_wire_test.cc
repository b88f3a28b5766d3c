// RecordedEvent's wire form as cloudevent_codec writes it without protobuf
// messages: the same bytes from an owned event and from a view of the same
// event in a log record, and bytes that protobuf reads back as the rules in
// events.proto say (the cases a hand-written encoding gets wrong: members
// of a oneof that are set but empty, repeated names, negative times, names
// that are not UTF-8, a field standing in for a required attribute).
#include <gtest/gtest.h>

#include <google/protobuf/util/time_util.h>

#include "engine/common/body_codec.h"
#include "frontends/grpc/cloudevent_codec.h"

namespace redcar::grpcfe {
namespace {

namespace ce = ::io::cloudevents::v1;
using Attr = ce::CloudEvent::CloudEventAttributeValue;
using google::protobuf::util::TimeUtil;

// `e` as an EventView over bytes laid out as a record body's fields are;
// `fields` keeps those bytes.
EventView view_of(const Event& e, std::string* fields) {
  BodyWriter w(fields);
  for (const Field& f : e.payload.fields) {
    w.str(f.name);
    w.str(f.value);
  }
  EventView v;
  v.stream = e.stream;
  v.number = e.number;
  v.id = e.id;
  v.timestamp_us = e.timestamp_us;
  v.type = e.payload.type;
  v.data = e.payload.data;
  v.fields = EventView::Fields(*fields, e.payload.fields.size());
  v.idempotency_id = e.payload.idempotency_id;
  v.content_type = e.payload.content_type;
  return v;
}

Event event(std::string type, std::string data, std::string content_type, std::vector<Field> fields = {}) {
  Event e;
  e.stream = "orders";
  e.number = 42;
  e.id = {1700000000123, 7};
  e.timestamp_us = 1700000000123456;
  e.payload.type = std::move(type);
  e.payload.data = std::move(data);
  e.payload.content_type = std::move(content_type);
  e.payload.fields = std::move(fields);
  return e;
}

// Encodes `e` both ways, checks the bytes agree and that the framed entry
// is the bare message behind a tag and a length, and parses it.
v1::RecordedEvent encoded(const Event& e) {
  std::string from_event, from_view, framed, field_bytes;
  append_recorded(e, 0, &from_event);
  append_recorded(view_of(e, &field_bytes), 0, &from_view);
  EXPECT_EQ(from_event, from_view);
  append_recorded(e, 1, &framed);
  EXPECT_GT(framed.size(), from_event.size());
  EXPECT_EQ(framed[0], '\x0a');  // field 1, length-delimited
  EXPECT_EQ(framed.substr(framed.size() - from_event.size()), from_event);
  v1::RecordedEvent out;
  EXPECT_TRUE(out.ParseFromString(from_event));
  return out;
}

const Attr* attr(const ce::CloudEvent& e, const std::string& name) {
  auto it = e.attributes().find(name);
  return it == e.attributes().end() ? nullptr : &it->second;
}

TEST(RecordedWire, TypedEventWithItsAttributes) {
  auto e = event("com.example.created", R"({"id":1})", "application/json",
                 {{"source", "https://shop.example"},
                  {"subject", "order-1"},
                  {"time", "2024-05-01T10:20:30.5Z"},
                  {"dataschema", "https://schemas.example/order"},
                  {"blob", std::string("\xff\xfe", 2)}});
  e.payload.idempotency_id = "order-1-created";
  auto r = encoded(e);
  EXPECT_EQ(r.stream(), "orders");
  EXPECT_EQ(r.number(), 42u);
  EXPECT_EQ(r.redis_id(), "1700000000123-7");
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(r.recorded_time()), 1700000000123456);
  const auto& c = r.event();
  EXPECT_EQ(c.id(), "order-1-created");
  EXPECT_EQ(c.source(), "https://shop.example");
  EXPECT_EQ(c.spec_version(), "1.0");
  EXPECT_EQ(c.type(), "com.example.created");
  ASSERT_EQ(c.data_case(), ce::CloudEvent::kTextData);
  EXPECT_EQ(c.text_data(), R"({"id":1})");
  EXPECT_EQ(attr(c, "source"), nullptr);
  ASSERT_NE(attr(c, "subject"), nullptr);
  EXPECT_EQ(attr(c, "subject")->ce_string(), "order-1");
  ASSERT_NE(attr(c, "time"), nullptr);
  ASSERT_EQ(attr(c, "time")->attr_case(), Attr::kCeTimestamp);
  EXPECT_EQ(TimeUtil::ToString(attr(c, "time")->ce_timestamp()), "2024-05-01T10:20:30.500Z");
  ASSERT_NE(attr(c, "dataschema"), nullptr);
  EXPECT_EQ(attr(c, "dataschema")->ce_uri(), "https://schemas.example/order");
  ASSERT_NE(attr(c, "blob"), nullptr);
  EXPECT_EQ(attr(c, "blob")->ce_bytes(), std::string("\xff\xfe", 2));
  ASSERT_NE(attr(c, "datacontenttype"), nullptr);
  EXPECT_EQ(attr(c, "datacontenttype")->ce_string(), "application/json");
  EXPECT_EQ(c.attributes().size(), 5u);
}

TEST(RecordedWire, RedisEntryWithRepeatedAndEmptyFields) {
  // An XADD entry: no type, fields as strings; the last of a repeated name
  // is the one a reader keeps, and "time" or "source" are fields like any.
  auto e = event("", "", "", {{"f", "1"}, {"f", "2"}, {"time", "2024-05-01T10:20:30Z"}, {"source", "x"}, {"", ""}});
  e.number = 0;
  auto r = encoded(e);
  EXPECT_EQ(r.number(), 0u);
  const auto& c = r.event();
  EXPECT_EQ(c.type(), kRedisEntryType);
  EXPECT_EQ(c.id(), "1700000000123-7");
  EXPECT_EQ(c.source(), "/streams/orders");
  EXPECT_EQ(c.data_case(), ce::CloudEvent::DATA_NOT_SET);
  ASSERT_NE(attr(c, "f"), nullptr);
  EXPECT_EQ(attr(c, "f")->ce_string(), "2");
  ASSERT_NE(attr(c, "time"), nullptr);
  EXPECT_EQ(attr(c, "time")->attr_case(), Attr::kCeString);
  EXPECT_EQ(attr(c, "source")->ce_string(), "x");
  ASSERT_NE(attr(c, ""), nullptr);
  EXPECT_EQ(attr(c, "")->attr_case(), Attr::kCeString);
  EXPECT_EQ(attr(c, "")->ce_string(), "");
}

TEST(RecordedWire, DataKinds) {
  // Set but empty: the member is on the wire, so a reader sees its case.
  auto empty_text = encoded(event("t", "", "text/plain"));
  EXPECT_EQ(empty_text.event().data_case(), ce::CloudEvent::kTextData);
  EXPECT_EQ(empty_text.event().text_data(), "");
  auto empty_binary = encoded(event("t", "", "application/octet-stream"));
  EXPECT_EQ(empty_binary.event().data_case(), ce::CloudEvent::kBinaryData);

  auto not_utf8_text = encoded(event("t", std::string("\xc3\x28", 2), "text/plain"));
  EXPECT_EQ(not_utf8_text.event().data_case(), ce::CloudEvent::kBinaryData);
  EXPECT_EQ(not_utf8_text.event().binary_data(), std::string("\xc3\x28", 2));

  auto proto = encoded(event("t", std::string("\x08\x01", 2), "application/protobuf",
                             {{"dataschema", "type.googleapis.com/example.Order"}}));
  ASSERT_EQ(proto.event().data_case(), ce::CloudEvent::kProtoData);
  EXPECT_EQ(proto.event().proto_data().type_url(), "type.googleapis.com/example.Order");
  EXPECT_EQ(proto.event().proto_data().value(), std::string("\x08\x01", 2));

  // Without a schema protobuf data has no type URL to go with: bytes.
  auto no_schema = encoded(event("t", std::string("\x08\x01", 2), "application/protobuf"));
  EXPECT_EQ(no_schema.event().data_case(), ce::CloudEvent::kBinaryData);

  std::string big(100000, 'x');
  auto large = encoded(event("t", big, ""));
  EXPECT_EQ(large.event().binary_data(), big);
}

TEST(RecordedWire, NamesThatAreNotUtf8AndTimesBeforeTheEpoch) {
  auto e = event(std::string("t\xff", 2), "d", "", {{std::string("k\xfe", 2), "v"}});
  e.stream = std::string("s/\xff", 3);
  e.timestamp_us = -1500001;  // 1.500001 s before the epoch
  auto r = encoded(e);
  EXPECT_EQ(r.stream(), "s%2F%FF");
  EXPECT_EQ(r.event().type(), "t%FF");
  EXPECT_EQ(r.event().source(), "/streams/s%2F%FF");
  ASSERT_NE(attr(r.event(), "k%FE"), nullptr);
  EXPECT_EQ(r.recorded_time().seconds(), -2);
  EXPECT_EQ(r.recorded_time().nanos(), 499999000);
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(r.recorded_time()), -1500001);
}

TEST(RecordedWire, AnEmptySourceFieldLeavesTheStreamsOwn) {
  auto r = encoded(event("t", "", "", {{"source", "a"}, {"source", ""}}));
  EXPECT_EQ(r.event().source(), "/streams/orders");
  EXPECT_EQ(attr(r.event(), "source"), nullptr);
}

}  // namespace
}  // namespace redcar::grpcfe
