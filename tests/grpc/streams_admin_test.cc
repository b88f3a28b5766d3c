// The native API's stream administration: ListStreams (prefix, limit,
// sorted), DescribeStream (length, numbers, bytes, groups), Trim by each rule
// (and NOT_FOUND for a stream that does not exist), DeleteStream.
#include <thread>

#include "tests/grpc/grpc_stream_clients.h"

namespace redcar::grpctest {
namespace {

class StreamsAdminTest : public GrpcTest {
 protected:
  Answer<v1::ListStreamsResponse> list(const std::string& prefix, uint32_t limit = 0) {
    v1::ListStreamsRequest req;
    req.set_prefix(prefix);
    req.set_limit(limit);
    return unary<v1::ListStreamsResponse>(
        [&](grpc::ClientContext* c, const v1::ListStreamsRequest& r, v1::ListStreamsResponse* o) {
          return stub().ListStreams(c, r, o);
        },
        req);
  }
  std::vector<std::string> names(const std::string& prefix, uint32_t limit = 0) {
    auto a = list(prefix, limit);
    EXPECT_TRUE(a.ok()) << describe(a.status);
    return {a.resp.streams().begin(), a.resp.streams().end()};
  }
  Answer<v1::TrimResponse> trim(const v1::TrimRequest& req) {
    return unary<v1::TrimResponse>(
        [&](grpc::ClientContext* c, const v1::TrimRequest& r, v1::TrimResponse* o) { return stub().Trim(c, r, o); },
        req);
  }
  Answer<v1::DeleteStreamResponse> delete_stream(const std::string& stream) {
    v1::DeleteStreamRequest req;
    req.set_stream(stream);
    return unary<v1::DeleteStreamResponse>(
        [&](grpc::ClientContext* c, const v1::DeleteStreamRequest& r, v1::DeleteStreamResponse* o) {
          return stub().DeleteStream(c, r, o);
        },
        req);
  }
  static v1::TrimRequest trim_request(const std::string& stream) {
    v1::TrimRequest t;
    t.set_stream(stream);
    return t;
  }
  // The numbers a stream holds now.
  std::vector<uint64_t> kept(const std::string& stream) {
    auto r = read(stub(), read_request(stream));
    EXPECT_TRUE(r.status.ok()) << describe(r.status);
    return numbers_of(r.events);
  }
};

TEST_F(StreamsAdminTest, ListStreams) {
  EXPECT_TRUE(names("").empty());
  for (auto s : {"b/1", "a/2", "c", "a/10", "a/1", "ab"}) ASSERT_TRUE(fill(stub(), s, 1));
  EXPECT_EQ(names(""), (std::vector<std::string>{"a/1", "a/10", "a/2", "ab", "b/1", "c"}));
  EXPECT_EQ(names("a/"), (std::vector<std::string>{"a/1", "a/10", "a/2"}));
  EXPECT_EQ(names("a"), (std::vector<std::string>{"a/1", "a/10", "a/2", "ab"}));
  EXPECT_EQ(names("", 2), (std::vector<std::string>{"a/1", "a/10"}));
  EXPECT_EQ(names("a/", 1), (std::vector<std::string>{"a/1"}));
  EXPECT_EQ(names("a/", 10), (std::vector<std::string>{"a/1", "a/10", "a/2"}));
  EXPECT_TRUE(names("zz").empty());
  EXPECT_EQ(names("c"), std::vector<std::string>{"c"});
  // A deleted stream is not listed.
  ASSERT_TRUE(delete_stream("a/10").ok());
  EXPECT_EQ(names("a/"), (std::vector<std::string>{"a/1", "a/2"}));
}

TEST_F(StreamsAdminTest, DescribeStream) {
  auto before = std::chrono::system_clock::now();
  ASSERT_TRUE(fill(stub(), "s", 10, 100));
  auto d = describe_stream(stub(), "s");
  ASSERT_TRUE(d.ok()) << describe(d.status);
  EXPECT_EQ(d.resp.stream(), "s");
  EXPECT_EQ(d.resp.length(), 10u);
  EXPECT_EQ(d.resp.first_number(), 0u);
  EXPECT_EQ(d.resp.next_number(), 10u);
  EXPECT_GE(d.resp.bytes(), 10u * 100);
  EXPECT_GE(d.resp.created().seconds(), std::chrono::duration_cast<std::chrono::seconds>(before.time_since_epoch()).count());
  auto all = read(stub(), read_request("s"));
  ASSERT_EQ(all.events.size(), 10u);
  EXPECT_EQ(d.resp.last_redis_id(), all.events.back().redis_id());
  EXPECT_EQ(d.resp.groups_size(), 0);

  // With a group whose member has received four events.
  Member m(stub());
  ASSERT_TRUE(m.join_and_wait(Member::JoinArgs{"s", "g", "w", true, {}, 0}));
  ASSERT_TRUE(m.receive(4));
  ASSERT_TRUE(m.wait_delivered(4));
  ASSERT_TRUE(m.barrier());
  d = describe_stream(stub(), "s");
  ASSERT_TRUE(d.ok()) << describe(d.status);
  ASSERT_EQ(d.resp.groups_size(), 1);
  const auto& g = d.resp.groups(0);
  EXPECT_EQ(g.name(), "g");
  EXPECT_EQ(g.pending(), 4u);
  EXPECT_EQ(g.consumers(), 1u);
  ASSERT_TRUE(g.has_lag());
  EXPECT_EQ(g.lag(), 6u);
  EXPECT_EQ(g.last_delivered_redis_id(), all.events[3].redis_id());

  auto missing = describe_stream(stub(), "nothing");
  EXPECT_EQ(missing.code(), grpc::StatusCode::NOT_FOUND) << describe(missing.status);
}

TEST_F(StreamsAdminTest, TrimByCountAndByNumber) {
  ASSERT_TRUE(fill(stub(), "s", 100));
  auto t = trim_request("s");
  t.set_max_count(30);
  auto a = trim(t);
  ASSERT_TRUE(a.ok()) << describe(a.status);
  EXPECT_EQ(a.resp.removed(), 70u);
  EXPECT_EQ(kept("s"), range_of(70, 100));
  auto d = describe_stream(stub(), "s");
  ASSERT_TRUE(d.ok()) << describe(d.status);
  EXPECT_EQ(d.resp.length(), 30u);
  EXPECT_EQ(d.resp.first_number(), 70u);
  EXPECT_EQ(d.resp.next_number(), 100u);

  // Keeping more than there is removes nothing.
  t.set_max_count(1000);
  a = trim(t);
  ASSERT_TRUE(a.ok()) << describe(a.status);
  EXPECT_EQ(a.resp.removed(), 0u);

  t = trim_request("s");
  t.set_before_number(80);
  a = trim(t);
  ASSERT_TRUE(a.ok()) << describe(a.status);
  EXPECT_EQ(a.resp.removed(), 10u);
  EXPECT_EQ(kept("s"), range_of(80, 100));
  // Below what is kept already: nothing.
  t.set_before_number(50);
  a = trim(t);
  ASSERT_TRUE(a.ok()) << describe(a.status);
  EXPECT_EQ(a.resp.removed(), 0u);

  // Trimmed events are gone from reads at once, and numbers go on.
  auto r = read(stub(), read_request("s", 0, 85));
  ASSERT_TRUE(r.status.ok()) << describe(r.status);
  EXPECT_EQ(numbers_of(r.events), range_of(80, 86));
  auto next = append(stub(), "s", text_events(1));
  ASSERT_TRUE(next.ok()) << describe(next.status);
  EXPECT_EQ(next.resp.first_number(), 100u);
  Subscriber sub(stub(), subscribe_stream("s"));
  ASSERT_TRUE(sub.wait_events(21));
  ASSERT_TRUE(sub.wait_caught_up());
  EXPECT_EQ(sub.numbers(), range_of(80, 101));

  t = trim_request("s");
  t.set_max_count(0);
  a = trim(t);
  ASSERT_TRUE(a.ok()) << describe(a.status);
  EXPECT_EQ(a.resp.removed(), 21u);
  EXPECT_TRUE(kept("s").empty());
  EXPECT_EQ(stream_length(stub(), "s"), 0);
}

TEST_F(StreamsAdminTest, TrimByBytes) {
  // Bytes are trimmed in whole index blocks: the rule may keep up to a
  // block of events (kIndexStride) more than it asks, never fewer.
  ASSERT_TRUE(fill(stub(), "s", 128, 200));
  auto d = describe_stream(stub(), "s");
  ASSERT_TRUE(d.ok()) << describe(d.status);
  uint64_t per_event = d.resp.bytes() / 128;
  ASSERT_GT(per_event, 0u);
  auto t = trim_request("s");
  t.set_max_bytes(per_event * 40);
  auto a = trim(t);
  ASSERT_TRUE(a.ok()) << describe(a.status);
  uint64_t kept_count = 128 - a.resp.removed();
  EXPECT_GE(kept_count, 40u);
  EXPECT_LE(kept_count, 40u + limits::kIndexStride);
  EXPECT_EQ(kept("s"), range_of(a.resp.removed(), 128));
  d = describe_stream(stub(), "s");
  ASSERT_TRUE(d.ok()) << describe(d.status);
  EXPECT_EQ(d.resp.length(), kept_count);
  EXPECT_EQ(d.resp.first_number(), a.resp.removed());
}

TEST_F(StreamsAdminTest, TrimByAge) {
  // Two batches a second apart; the age asked for falls between them, with
  // half a second's margin on either side. Time has to pass: a sleep.
  ASSERT_TRUE(fill(stub(), "s", 64));
  auto old_written = std::chrono::system_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  auto new_from = std::chrono::system_clock::now();
  ASSERT_TRUE(fill(stub(), "s", 64));
  auto between = old_written + (new_from - old_written) / 2;
  auto t = trim_request("s");
  t.set_max_age_ms(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now() - between).count()));
  auto a = trim(t);
  ASSERT_TRUE(a.ok()) << describe(a.status);
  EXPECT_LE(a.resp.removed(), 64u) << "a new event was trimmed";
  EXPECT_GE(a.resp.removed(), 64u - limits::kIndexStride);
  auto k = kept("s");
  EXPECT_EQ(k, range_of(a.resp.removed(), 128));

  // An age far beyond what is kept removes nothing; one out of range is refused.
  t.set_max_age_ms(3600000);
  a = trim(t);
  ASSERT_TRUE(a.ok()) << describe(a.status);
  EXPECT_EQ(a.resp.removed(), 0u);
  t.set_max_age_ms(UINT64_MAX);
  a = trim(t);
  EXPECT_EQ(a.code(), grpc::StatusCode::OUT_OF_RANGE) << describe(a.status);
  EXPECT_EQ(kept("s"), k);
}

TEST_F(StreamsAdminTest, TrimRefuses) {
  auto t = trim_request("nothing");
  t.set_max_count(1);
  auto a = trim(t);
  EXPECT_EQ(a.code(), grpc::StatusCode::NOT_FOUND) << describe(a.status);
  EXPECT_EQ(stream_length(stub(), "nothing"), -1) << "a trim created the stream";
  for (auto rule : {&v1::TrimRequest::set_max_age_ms, &v1::TrimRequest::set_max_bytes,
                    &v1::TrimRequest::set_before_number}) {
    auto u = trim_request("nothing");
    (u.*rule)(1);
    auto b = trim(u);
    EXPECT_EQ(b.code(), grpc::StatusCode::NOT_FOUND) << describe(b.status);
  }
  ASSERT_TRUE(fill(stub(), "s", 5));
  auto no_rule = trim(trim_request("s"));
  EXPECT_EQ(no_rule.code(), grpc::StatusCode::INVALID_ARGUMENT) << describe(no_rule.status);
  EXPECT_EQ(kept("s"), range_of(0, 5));
}

TEST_F(StreamsAdminTest, DeleteStream) {
  ASSERT_TRUE(fill(stub(), "s", 5));
  ASSERT_TRUE(fill(stub(), "keep", 2));
  auto d = delete_stream("s");
  ASSERT_TRUE(d.ok()) << describe(d.status);
  EXPECT_TRUE(d.resp.existed());
  auto again = delete_stream("s");
  ASSERT_TRUE(again.ok()) << describe(again.status);
  EXPECT_FALSE(again.resp.existed());
  EXPECT_EQ(read(stub(), read_request("s")).status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(describe_stream(stub(), "s").code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(names(""), std::vector<std::string>{"keep"});
  EXPECT_EQ(kept("keep"), range_of(0, 2));
  // A stream of the same name starts again from 0.
  auto a = append(stub(), "s", text_events(2, "new"));
  ASSERT_TRUE(a.ok()) << describe(a.status);
  EXPECT_EQ(a.resp.first_number(), 0u);
  auto r = read(stub(), read_request("s"));
  ASSERT_TRUE(r.status.ok()) << describe(r.status);
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].event().text_data(), "new0");
  auto never = delete_stream("never-was");
  ASSERT_TRUE(never.ok()) << describe(never.status);
  EXPECT_FALSE(never.resp.existed());
}

}  // namespace
}  // namespace redcar::grpctest
