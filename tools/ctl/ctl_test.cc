// Unit tests of redcar-ctl's pure parts: endpoints, durations, stream
// targets, etcd prefix ranges, UTF-8 and base64, event lines, backoff.
#include <gtest/gtest.h>

#include "tools/ctl/backoff.h"
#include "tools/ctl/endpoint.h"
#include "tools/ctl/etcd_verbs.h"
#include "tools/ctl/event_verbs.h"
#include "tools/ctl/output.h"
#include "tools/ctl/stream_target.h"

namespace redcar::ctl {
namespace {

TEST(Endpoint, Forms) {
  Endpoint e;
  std::string err;
  ASSERT_TRUE(parse_endpoint("http://127.0.0.1:8519", &e, &err));
  EXPECT_EQ("127.0.0.1:8519", e.target);
  EXPECT_FALSE(e.tls);
  ASSERT_TRUE(parse_endpoint("https://db.example:9000/", &e, &err));
  EXPECT_EQ("db.example:9000", e.target);
  EXPECT_TRUE(e.tls);
  ASSERT_TRUE(parse_endpoint("localhost:1234", &e, &err));
  EXPECT_EQ("localhost:1234", e.target);
  ASSERT_TRUE(parse_endpoint("http://10.0.0.1", &e, &err));
  EXPECT_EQ("10.0.0.1:8519", e.target);
  ASSERT_TRUE(parse_endpoint("[::1]:7000", &e, &err));
  EXPECT_EQ("[::1]:7000", e.target);
  ASSERT_TRUE(parse_endpoint("[::1]", &e, &err));
  EXPECT_EQ("[::1]:8519", e.target);
}

TEST(Endpoint, Refused) {
  Endpoint e;
  std::string err;
  for (const char* bad : {"", "ftp://h:1", "h:0", "h:70000", "h:x", "http://h:1/path", ":80", "http://"}) {
    EXPECT_FALSE(parse_endpoint(bad, &e, &err)) << bad;
    EXPECT_FALSE(err.empty());
  }
}

TEST(Duration, Units) {
  int64_t ms = 0;
  ASSERT_TRUE(parse_duration_ms("500ms", &ms));
  EXPECT_EQ(500, ms);
  ASSERT_TRUE(parse_duration_ms("5s", &ms));
  EXPECT_EQ(5000, ms);
  ASSERT_TRUE(parse_duration_ms("1.5", &ms));
  EXPECT_EQ(1500, ms);
  ASSERT_TRUE(parse_duration_ms("2m", &ms));
  EXPECT_EQ(120000, ms);
  ASSERT_TRUE(parse_duration_ms("1h", &ms));
  EXPECT_EQ(3600000, ms);
  for (const char* bad : {"", "s", "-1s", "0", "abc", "5x", "nan"}) EXPECT_FALSE(parse_duration_ms(bad, &ms)) << bad;
}

TEST(StreamTarget, Forms) {
  StreamTarget t;
  std::string err;
  ASSERT_TRUE(parse_stream_target("orders", true, &t, &err));
  EXPECT_EQ("orders", t.stream);
  EXPECT_FALSE(t.from);
  EXPECT_FALSE(t.to);
  ASSERT_TRUE(parse_stream_target("orders:10", true, &t, &err));
  EXPECT_EQ(10u, *t.from);
  EXPECT_FALSE(t.to);
  ASSERT_TRUE(parse_stream_target("orders:10:20", true, &t, &err));
  EXPECT_EQ(10u, *t.from);
  EXPECT_EQ(20u, *t.to);
  // Colons inside the name stay in the name.
  ASSERT_TRUE(parse_stream_target("a:b:5", true, &t, &err));
  EXPECT_EQ("a:b", t.stream);
  EXPECT_EQ(5u, *t.from);
  ASSERT_TRUE(parse_stream_target("tenant:x", true, &t, &err));
  EXPECT_EQ("tenant:x", t.stream);
  ASSERT_TRUE(parse_stream_target("*", true, &t, &err));
  EXPECT_TRUE(t.all);
  // Without TO, the last number is FROM.
  ASSERT_TRUE(parse_stream_target("s:3:4", false, &t, &err));
  EXPECT_EQ("s:3", t.stream);
  EXPECT_EQ(4u, *t.from);
  EXPECT_FALSE(parse_stream_target(":5", true, &t, &err));
  EXPECT_FALSE(parse_stream_target("s:9:3", true, &t, &err));
  EXPECT_FALSE(parse_stream_target("", true, &t, &err));
}

TEST(Etcd, PrefixRangeEnd) {
  EXPECT_EQ("b", prefix_range_end("a"));
  EXPECT_EQ("pre0", prefix_range_end("pre/"));
  EXPECT_EQ("b", prefix_range_end(std::string("a\xff", 2)));
  EXPECT_EQ(std::string(1, '\0'), prefix_range_end(""));
  EXPECT_EQ(std::string(1, '\0'), prefix_range_end("\xff\xff"));
}

TEST(Output, Utf8) {
  EXPECT_TRUE(is_utf8(""));
  EXPECT_TRUE(is_utf8("plain"));
  EXPECT_TRUE(is_utf8("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x9a\x83"));
  EXPECT_FALSE(is_utf8("\xff"));
  EXPECT_FALSE(is_utf8("\xc3"));              // cut short
  EXPECT_FALSE(is_utf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(is_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(is_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
}

TEST(Output, Base64) {
  EXPECT_EQ("", base64(""));
  EXPECT_EQ("Zg==", base64("f"));
  EXPECT_EQ("Zm8=", base64("fo"));
  EXPECT_EQ("Zm9v", base64("foo"));
  EXPECT_EQ("AP8=", base64(std::string("\x00\xff", 2)));
}

TEST(Output, EventLineAndJson) {
  v1::RecordedEvent e;
  e.set_stream("orders");
  e.set_number(7);
  *e.mutable_event() = make_event("created", "{\"id\":1}", "id-1", "/shop", "application/json");
  EXPECT_EQ("orders:7 created {\"id\":1}", event_line(e));
  auto j = event_json(e);
  EXPECT_EQ("orders", j["stream"]);
  EXPECT_EQ(7, j["number"]);
  EXPECT_EQ("id-1", j["id"]);
  EXPECT_EQ("/shop", j["source"]);
  EXPECT_EQ("application/json", j["attributes"]["datacontenttype"]);
  EXPECT_EQ("{\"id\":1}", j["data"]);

  *e.mutable_event() = make_event("t", "two\nlines", "", "", "");
  EXPECT_EQ("orders:7 t \"two\\nlines\"", event_line(e));
  *e.mutable_event() = make_event("t", std::string("\x00\xff", 2), "", "", "");
  EXPECT_TRUE(e.event().has_binary_data());
  EXPECT_EQ("orders:7 t base64:AP8=", event_line(e));
  EXPECT_EQ("AP8=", event_json(e)["data_base64"]);

  io::cloudevents::v1::CloudEvent entry;
  entry.set_type("redis.stream.entry");
  (*entry.mutable_attributes())["qty"].set_ce_string("1");
  (*entry.mutable_attributes())["item"].set_ce_string("book");
  *e.mutable_event() = entry;
  EXPECT_EQ("orders:7 redis.stream.entry item=book qty=1", event_line(e));
}

TEST(Expected, Forms) {
  v1::ExpectedVersion v;
  ASSERT_TRUE(parse_expected("no-stream", &v));
  EXPECT_EQ(v1::ExpectedVersion::NO_STREAM, v.kind());
  ASSERT_TRUE(parse_expected("exists", &v));
  EXPECT_EQ(v1::ExpectedVersion::STREAM_EXISTS, v.kind());
  ASSERT_TRUE(parse_expected("any", &v));
  EXPECT_EQ(v1::ExpectedVersion::ANY, v.kind());
  ASSERT_TRUE(parse_expected("41", &v));
  EXPECT_EQ(v1::ExpectedVersion::EXACT, v.kind());
  EXPECT_EQ(41u, v.last_number());
  EXPECT_FALSE(parse_expected("-1", &v));
  EXPECT_FALSE(parse_expected("later", &v));
}

TEST(Backoff, DoublesToTheCapWithJitter) {
  Backoff b;
  int64_t ceiling = Backoff::kInitialMs;
  for (int i = 0; i < 12; ++i) {
    int64_t wait = b.next().count();
    EXPECT_GE(wait, ceiling / 2);
    EXPECT_LE(wait, ceiling);
    ceiling = std::min(Backoff::kMaxMs, ceiling * 2);
  }
  b.reset();
  EXPECT_LE(b.next().count(), Backoff::kInitialMs);
}

}  // namespace
}  // namespace redcar::ctl
