// CloudEvents through Append and Read: what is kept and how it comes back
// (the rules at the top of events.proto), and the events the server refuses
// — INVALID_ARGUMENT naming the event's index, with nothing of that append
// written.
#include <google/protobuf/util/time_util.h>

#include "tests/grpc/grpc_stream_clients.h"

namespace redcar::grpctest {
namespace {

using Attr = ce::CloudEvent::CloudEventAttributeValue;
using google::protobuf::util::TimeUtil;

class CloudEventTest : public GrpcTest {
 protected:
  // Appends `e` alone to a fresh stream and reads it back.
  v1::RecordedEvent round_trip(const ce::CloudEvent& e) {
    std::string stream = "rt-" + std::to_string(next_++);
    auto a = append(stub(), stream, {e});
    EXPECT_TRUE(a.ok()) << describe(a.status);
    auto r = read(stub(), read_request(stream));
    EXPECT_TRUE(r.status.ok()) << describe(r.status);
    if (r.events.size() != 1) {
      ADD_FAILURE() << "read " << r.events.size() << " events";
      return {};
    }
    EXPECT_EQ(r.events[0].stream(), stream);
    return r.events[0];
  }

  static const Attr* attr(const ce::CloudEvent& e, const std::string& name) {
    auto it = e.attributes().find(name);
    return it == e.attributes().end() ? nullptr : &it->second;
  }
  static std::string string_attr(const ce::CloudEvent& e, const std::string& name) {
    const Attr* a = attr(e, name);
    if (!a) return "(absent)";
    if (a->attr_case() != Attr::kCeString) return "(not a string: case " + std::to_string(a->attr_case()) + ")";
    return a->ce_string();
  }

  int next_ = 0;
};

TEST_F(CloudEventTest, IdSourceTypeAndJsonText) {
  ce::CloudEvent e;
  e.set_id("order-17");
  e.set_source("https://shop.example/orders");
  e.set_spec_version("1.0");
  e.set_type("com.example.order.created");
  (*e.mutable_attributes())["datacontenttype"].set_ce_string("application/json");
  e.set_text_data(R"({"id":17,"items":["book"]})");
  auto got = round_trip(e).event();
  EXPECT_EQ(got.id(), "order-17");
  EXPECT_EQ(got.source(), "https://shop.example/orders");
  EXPECT_EQ(got.spec_version(), "1.0");
  EXPECT_EQ(got.type(), "com.example.order.created");
  ASSERT_EQ(got.data_case(), ce::CloudEvent::kTextData);
  EXPECT_EQ(got.text_data(), R"({"id":17,"items":["book"]})");
  EXPECT_EQ(string_attr(got, "datacontenttype"), "application/json");
  // Nothing invented beside it.
  EXPECT_EQ(got.attributes().size(), 1u);
}

TEST_F(CloudEventTest, TextWithoutAContentTypeIsPlainText) {
  ce::CloudEvent e;
  e.set_type("t");
  e.set_text_data("hello");
  auto got = round_trip(e).event();
  ASSERT_EQ(got.data_case(), ce::CloudEvent::kTextData);
  EXPECT_EQ(got.text_data(), "hello");
  EXPECT_EQ(string_attr(got, "datacontenttype"), "text/plain");
  // An empty spec version means 1.0; no id: the Redis ID; no source: the stream.
  EXPECT_EQ(got.spec_version(), "1.0");
  EXPECT_FALSE(got.id().empty());
  EXPECT_EQ(got.source().rfind("/streams/rt-", 0), 0u) << got.source();
}

TEST_F(CloudEventTest, EventWithoutSourceOrIdGetsTheStreamsAndTheRedisId) {
  ce::CloudEvent e;
  e.set_type("t");
  auto a = append(stub(), "shop/orders 1", {e});
  ASSERT_TRUE(a.ok()) << describe(a.status);
  auto r = read(stub(), read_request("shop/orders 1"));
  ASSERT_TRUE(r.status.ok()) << describe(r.status);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].event().source(), "/streams/shop%2Forders%201");
  EXPECT_EQ(r.events[0].event().id(), r.events[0].redis_id());
  EXPECT_EQ(r.events[0].event().data_case(), ce::CloudEvent::DATA_NOT_SET);
}

TEST_F(CloudEventTest, BinaryData) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  ce::CloudEvent e;
  e.set_type("t");
  e.set_binary_data(bytes);
  auto got = round_trip(e).event();
  ASSERT_EQ(got.data_case(), ce::CloudEvent::kBinaryData);
  EXPECT_EQ(got.binary_data(), bytes);
  EXPECT_EQ(attr(got, "datacontenttype"), nullptr);

  // With a content type that is not textual it stays binary, and text data
  // with such a type comes back as binary too.
  ce::CloudEvent img;
  img.set_type("t");
  (*img.mutable_attributes())["datacontenttype"].set_ce_string("image/png");
  img.set_binary_data(bytes);
  auto g2 = round_trip(img).event();
  ASSERT_EQ(g2.data_case(), ce::CloudEvent::kBinaryData);
  EXPECT_EQ(g2.binary_data(), bytes);
  EXPECT_EQ(string_attr(g2, "datacontenttype"), "image/png");

  ce::CloudEvent odd;
  odd.set_type("t");
  (*odd.mutable_attributes())["datacontenttype"].set_ce_string("application/octet-stream");
  odd.set_text_data("abc");
  auto g3 = round_trip(odd).event();
  ASSERT_EQ(g3.data_case(), ce::CloudEvent::kBinaryData);
  EXPECT_EQ(g3.binary_data(), "abc");

  // Binary data with a textual content type comes back as text.
  ce::CloudEvent xml;
  xml.set_type("t");
  (*xml.mutable_attributes())["datacontenttype"].set_ce_string("application/cloudevents+xml");
  xml.set_binary_data("<a/>");
  auto g4 = round_trip(xml).event();
  ASSERT_EQ(g4.data_case(), ce::CloudEvent::kTextData);
  EXPECT_EQ(g4.text_data(), "<a/>");
}

TEST_F(CloudEventTest, ProtoDataKeepsItsTypeUrl) {
  google::protobuf::Timestamp payload;
  payload.set_seconds(1700000000);
  payload.set_nanos(5);
  ce::CloudEvent e;
  e.set_type("t");
  e.mutable_proto_data()->PackFrom(payload);
  auto got = round_trip(e).event();
  ASSERT_EQ(got.data_case(), ce::CloudEvent::kProtoData);
  EXPECT_EQ(got.proto_data().type_url(), "type.googleapis.com/google.protobuf.Timestamp");
  google::protobuf::Timestamp back;
  ASSERT_TRUE(got.proto_data().UnpackTo(&back));
  EXPECT_EQ(back.seconds(), 1700000000);
  EXPECT_EQ(back.nanos(), 5);
  EXPECT_EQ(string_attr(got, "datacontenttype"), "application/protobuf");
  // The type URL travels as the dataschema, a URI.
  const Attr* schema = attr(got, "dataschema");
  ASSERT_NE(schema, nullptr);
  ASSERT_EQ(schema->attr_case(), Attr::kCeUri);
  EXPECT_EQ(schema->ce_uri(), "type.googleapis.com/google.protobuf.Timestamp");
}

TEST_F(CloudEventTest, NamesThatAreNotUtf8ArePercentEncoded) {
  // A stream (or type) named over RESP may be any bytes. It shows
  // percent-encoded, and the streams and events beside it are served.
  ASSERT_TRUE(fill(stub(), "a", 2));
  const std::string odd("b\xff", 2);
  ASSERT_TRUE(test::append(h_.engine(), odd, {test::fields_event({{"k", "v"}})}));
  ASSERT_TRUE(test::append(h_.engine(), "c", {test::event("data", std::string("t\xfe", 2))}));
  v1::ListStreamsRequest req;
  auto l = unary<v1::ListStreamsResponse>(
      [&](grpc::ClientContext* c, const v1::ListStreamsRequest& r, v1::ListStreamsResponse* o) {
        return stub().ListStreams(c, r, o);
      },
      req);
  ASSERT_TRUE(l.ok()) << describe(l.status);
  EXPECT_EQ(std::vector<std::string>(l.resp.streams().begin(), l.resp.streams().end()),
            (std::vector<std::string>{"a", "b%FF", "c"}));
  Subscriber all(stub(), subscribe_all());
  ASSERT_TRUE(all.wait_events(4)) << "delivered " << all.count();
  auto per = all.per_stream();
  EXPECT_EQ(per["a"], range_of(0, 2));
  EXPECT_EQ(per["b%FF"], range_of(0, 1));
  EXPECT_EQ(per["c"], range_of(0, 1));
  for (auto& e : all.events()) {
    if (e.stream() == "c") {
      EXPECT_EQ(e.event().type(), "t%FE");
    }
  }
  // A group so named, in DescribeStream.
  auto made = test::call<bool>([&](auto cb) {
    h_.engine().group_create("a", std::string("g\xff", 2), StreamId::min(), false, 0, cb);
  });
  ASSERT_TRUE(made) << made.status().to_string();
  auto d = describe_stream(stub(), "a");
  ASSERT_TRUE(d.ok()) << describe(d.status);
  ASSERT_EQ(d.resp.groups_size(), 1);
  EXPECT_EQ(d.resp.groups(0).name(), "g%FF");
}

TEST_F(CloudEventTest, ProtoDataWithADataschema) {
  // The type URL is kept as the dataschema: one that says the same is fine,
  // one that differs would lose the type URL, and is refused.
  google::protobuf::Timestamp payload;
  payload.set_seconds(7);
  ce::CloudEvent same;
  same.set_type("t");
  same.mutable_proto_data()->PackFrom(payload);
  (*same.mutable_attributes())["dataschema"].set_ce_uri(same.proto_data().type_url());
  auto got = round_trip(same).event();
  ASSERT_EQ(got.data_case(), ce::CloudEvent::kProtoData);
  google::protobuf::Timestamp back;
  ASSERT_TRUE(got.proto_data().UnpackTo(&back));
  EXPECT_EQ(back.seconds(), 7);

  ce::CloudEvent other = same;
  (*other.mutable_attributes())["dataschema"].set_ce_uri("https://example.com/schemas/ts.proto");
  auto a = append(stub(), "s", {text_event("ok"), other});
  EXPECT_EQ(a.code(), grpc::StatusCode::INVALID_ARGUMENT) << describe(a.status);
  EXPECT_EQ(a.status.error_message().rfind("event 1:", 0), 0u) << a.status.error_message();
  EXPECT_NE(a.status.error_message().find("dataschema"), std::string::npos) << a.status.error_message();
  EXPECT_EQ(stream_length(stub(), "s"), -1);
}

TEST_F(CloudEventTest, AttributesOfEachKind) {
  google::protobuf::Timestamp when;
  ASSERT_TRUE(TimeUtil::FromString("2024-05-06T07:08:09.123456Z", &when));
  ce::CloudEvent e;
  e.set_type("t");
  auto& a = *e.mutable_attributes();
  a["flag"].set_ce_boolean(true);
  a["off"].set_ce_boolean(false);
  a["count"].set_ce_integer(-42);
  a["label"].set_ce_string("blue");
  a["blob"].set_ce_bytes(std::string("\x00\x01\xfe\xff", 4));
  a["link"].set_ce_uri("https://example.com/x?y=1");
  a["ref"].set_ce_uri_ref("../relative#frag");
  *a["when"].mutable_ce_timestamp() = when;
  *a["time"].mutable_ce_timestamp() = when;
  a["dataschema"].set_ce_uri("https://example.com/schema.json");
  a["n2"].set_ce_string("");
  auto got = round_trip(e).event();

  // Kept as named strings: every kind but `time` and `dataschema` comes
  // back as a string — booleans and integers in words, bytes in base64,
  // timestamps in RFC 3339.
  EXPECT_EQ(string_attr(got, "flag"), "true");
  EXPECT_EQ(string_attr(got, "off"), "false");
  EXPECT_EQ(string_attr(got, "count"), "-42");
  EXPECT_EQ(string_attr(got, "label"), "blue");
  EXPECT_EQ(string_attr(got, "blob"), "AAH+/w==");
  EXPECT_EQ(string_attr(got, "link"), "https://example.com/x?y=1");
  EXPECT_EQ(string_attr(got, "ref"), "../relative#frag");
  EXPECT_EQ(string_attr(got, "when"), "2024-05-06T07:08:09.123456Z");
  EXPECT_EQ(string_attr(got, "n2"), "");
  // `time` comes back as the timestamp it was.
  const Attr* t = attr(got, "time");
  ASSERT_NE(t, nullptr);
  ASSERT_EQ(t->attr_case(), Attr::kCeTimestamp);
  EXPECT_EQ(t->ce_timestamp().seconds(), when.seconds());
  EXPECT_EQ(t->ce_timestamp().nanos(), when.nanos());
  const Attr* schema = attr(got, "dataschema");
  ASSERT_NE(schema, nullptr);
  ASSERT_EQ(schema->attr_case(), Attr::kCeUri);
  EXPECT_EQ(schema->ce_uri(), "https://example.com/schema.json");
  EXPECT_EQ(got.attributes().size(), 11u);
}

TEST_F(CloudEventTest, TimeGivenAsAStringThatIsATimeComesBackAsATimestamp) {
  // What is kept is text: a `time` string in RFC 3339 is indistinguishable
  // from a timestamp, and comes back as one; any other text stays text.
  ce::CloudEvent e;
  e.set_type("t");
  (*e.mutable_attributes())["time"].set_ce_string("2020-01-02T03:04:05Z");
  auto got = round_trip(e).event();
  const Attr* t = attr(got, "time");
  ASSERT_NE(t, nullptr);
  ASSERT_EQ(t->attr_case(), Attr::kCeTimestamp);
  EXPECT_EQ(TimeUtil::ToString(t->ce_timestamp()), "2020-01-02T03:04:05Z");

  ce::CloudEvent f;
  f.set_type("t");
  (*f.mutable_attributes())["time"].set_ce_string("yesterday");
  EXPECT_EQ(string_attr(round_trip(f).event(), "time"), "yesterday");
}

TEST_F(CloudEventTest, BytesThatAreNotUtf8ComeBackAsBytes) {
  // Redis values are binary: an XADD entry (fields, no type; written here
  // through the engine as the RESP front end writes it) may hold bytes that
  // no protobuf string can carry. Such values come back as ce_bytes, such
  // names percent-encoded, and the events around them read as usual.
  const std::string raw("\xff\xfe\x00z", 4);
  ASSERT_TRUE(test::append(h_.engine(), "x", {test::fields_event({{"k", raw}, {"plain", "text"}})}));
  ASSERT_TRUE(test::append(h_.engine(), "x", {test::fields_event({{std::string("n\xff", 2), "v"}})}));
  ASSERT_TRUE(test::append(h_.engine(), "x", {test::fields_event({{"k", "fine"}})}));
  // Native data declared textual that is not UTF-8 comes back as binary data.
  ce::CloudEvent e;
  e.set_type("t");
  (*e.mutable_attributes())["datacontenttype"].set_ce_string("text/plain");
  e.set_binary_data(raw);
  ASSERT_TRUE(append(stub(), "x", {e}).ok());

  auto check = [&](const std::vector<v1::RecordedEvent>& evs) {
    ASSERT_EQ(numbers_of(evs), range_of(0, 4));
    const auto& first = evs[0].event();
    EXPECT_EQ(first.type(), "redis.stream.entry");
    const Attr* k = attr(first, "k");
    ASSERT_NE(k, nullptr);
    ASSERT_EQ(k->attr_case(), Attr::kCeBytes);
    EXPECT_EQ(k->ce_bytes(), raw);
    EXPECT_EQ(string_attr(first, "plain"), "text");
    EXPECT_EQ(string_attr(evs[1].event(), "n%FF"), "v");
    EXPECT_EQ(string_attr(evs[2].event(), "k"), "fine");
    const auto& data = evs[3].event();
    ASSERT_EQ(data.data_case(), ce::CloudEvent::kBinaryData);
    EXPECT_EQ(data.binary_data(), raw);
    EXPECT_EQ(string_attr(data, "datacontenttype"), "text/plain");
  };
  auto r = read(stub(), read_request("x"));
  ASSERT_TRUE(r.status.ok()) << describe(r.status);
  check(r.events);
  Subscriber sub(stub(), subscribe_stream("x"));
  ASSERT_TRUE(sub.wait_events(4)) << "the subscription delivered " << sub.count();
  check(sub.events());
}

TEST_F(CloudEventTest, InvalidEventsAreRefusedWholeAppend) {
  ASSERT_TRUE(append(stub(), "s", text_events(2)).ok());
  struct Case {
    std::string what;
    std::function<void(ce::CloudEvent&)> spoil;
    std::string in_message;
  };
  const std::vector<Case> cases = {
      {"no type", [](ce::CloudEvent& e) { e.clear_type(); }, "type"},
      {"spec version 0.3", [](ce::CloudEvent& e) { e.set_spec_version("0.3"); }, "0.3"},
      {"upper-case attribute", [](ce::CloudEvent& e) { (*e.mutable_attributes())["Color"].set_ce_string("red"); },
       "Color"},
      {"attribute with a dash", [](ce::CloudEvent& e) { (*e.mutable_attributes())["a-b"].set_ce_string("x"); }, "a-b"},
      {"empty attribute name", [](ce::CloudEvent& e) { (*e.mutable_attributes())[""].set_ce_string("x"); }, "attribute"},
      {"attribute with no value", [](ce::CloudEvent& e) { (*e.mutable_attributes())["empty"]; }, "empty"},
      {"id as an attribute", [](ce::CloudEvent& e) { (*e.mutable_attributes())["id"].set_ce_string("x"); }, "id"},
      {"type as an attribute", [](ce::CloudEvent& e) { (*e.mutable_attributes())["type"].set_ce_string("x"); }, "type"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    auto batch = text_events(4, c.what);
    c.spoil(batch[2]);
    for (const std::string stream : {"s", "fresh"}) {
      auto a = append(stub(), stream, batch);
      EXPECT_EQ(a.code(), grpc::StatusCode::INVALID_ARGUMENT) << describe(a.status);
      EXPECT_NE(a.status.error_message().find("event 2"), std::string::npos) << a.status.error_message();
      EXPECT_NE(a.status.error_message().find(c.in_message), std::string::npos) << a.status.error_message();
    }
  }
  // Nothing of any of them was written.
  auto r = read(stub(), read_request("s"));
  ASSERT_TRUE(r.status.ok()) << describe(r.status);
  EXPECT_EQ(numbers_of(r.events), range_of(0, 2));
  EXPECT_EQ(stream_length(stub(), "fresh"), -1);
  auto next = append(stub(), "s", text_events(1));
  ASSERT_TRUE(next.ok()) << describe(next.status);
  EXPECT_EQ(next.resp.first_number(), 2u);
}

TEST_F(CloudEventTest, TheRefusedEventIsNamedByItsIndex) {
  for (int bad : {0, 1, 9}) {
    auto batch = text_events(10);
    batch[static_cast<size_t>(bad)].clear_type();
    auto a = append(stub(), "s", batch);
    EXPECT_EQ(a.code(), grpc::StatusCode::INVALID_ARGUMENT) << describe(a.status);
    EXPECT_EQ(a.status.error_message().rfind("event " + std::to_string(bad) + ":", 0), 0u) << a.status.error_message();
  }
  EXPECT_EQ(stream_length(stub(), "s"), -1);
}

}  // namespace
}  // namespace redcar::grpctest
