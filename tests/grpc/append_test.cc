// Events.Append: a batch gets consecutive numbers; expected versions (no
// stream, exact, stream exists) pass or fail with FAILED_PRECONDITION and the
// actual version in the trailing metadata, writing nothing; a retried append
// (same first CloudEvent id) writes nothing and answers with the original
// numbers.
#include "tests/grpc/grpc_test_util.h"

namespace redcar::grpctest {
namespace {

using Kind = v1::ExpectedVersion;

class AppendTest : public GrpcTest {};

TEST_F(AppendTest, BatchGetsNumbersFromZero) {
  auto a = append(stub(), "orders", text_events(5));
  ASSERT_TRUE(a.ok()) << describe(a.status);
  EXPECT_EQ(a.resp.stream(), "orders");
  EXPECT_EQ(a.resp.first_number(), 0u);
  EXPECT_EQ(a.resp.last_number(), 4u);
  EXPECT_FALSE(a.resp.duplicate());

  auto b = append(stub(), "orders", text_events(3, "more"));
  ASSERT_TRUE(b.ok()) << describe(b.status);
  EXPECT_EQ(b.resp.first_number(), 5u);
  EXPECT_EQ(b.resp.last_number(), 7u);

  auto r = read(stub(), read_request("orders"));
  ASSERT_TRUE(r.status.ok()) << describe(r.status);
  EXPECT_EQ(numbers_of(r.events), range_of(0, 8));
  ASSERT_EQ(r.events.size(), 8u);
  EXPECT_EQ(r.events[0].event().text_data(), "e0");
  EXPECT_EQ(r.events[4].event().text_data(), "e4");
  EXPECT_EQ(r.events[5].event().text_data(), "more0");
  for (auto& e : r.events) EXPECT_EQ(e.stream(), "orders");
}

TEST_F(AppendTest, ExpectedVersionsThatHold) {
  auto a = append(stub(), "s", text_events(2), expected(Kind::NO_STREAM));
  ASSERT_TRUE(a.ok()) << describe(a.status);
  EXPECT_EQ(a.resp.last_number(), 1u);

  auto b = append(stub(), "s", text_events(1), expected(Kind::EXACT, 1));
  ASSERT_TRUE(b.ok()) << describe(b.status);
  EXPECT_EQ(b.resp.first_number(), 2u);

  auto c = append(stub(), "s", text_events(1), expected(Kind::STREAM_EXISTS));
  ASSERT_TRUE(c.ok()) << describe(c.status);
  EXPECT_EQ(c.resp.first_number(), 3u);

  auto d = append(stub(), "s", text_events(1), expected(Kind::ANY));
  ASSERT_TRUE(d.ok()) << describe(d.status);
  EXPECT_EQ(d.resp.first_number(), 4u);
  EXPECT_EQ(stream_length(stub(), "s"), 5);
}

TEST_F(AppendTest, ConflictsWriteNothingAndSayTheActualVersion) {
  // No events yet: the actual version is -1.
  auto exists = append(stub(), "s", text_events(1), expected(Kind::STREAM_EXISTS));
  EXPECT_EQ(exists.code(), grpc::StatusCode::FAILED_PRECONDITION) << describe(exists.status);
  EXPECT_EQ(exists.trailer("redcar-actual-version"), "-1");
  auto exact = append(stub(), "s", text_events(1), expected(Kind::EXACT, 0));
  EXPECT_EQ(exact.code(), grpc::StatusCode::FAILED_PRECONDITION) << describe(exact.status);
  EXPECT_EQ(exact.trailer("redcar-actual-version"), "-1");
  EXPECT_EQ(stream_length(stub(), "s"), -1) << "a failed append created the stream";

  ASSERT_TRUE(append(stub(), "s", text_events(3)).ok());
  auto no_stream = append(stub(), "s", text_events(2), expected(Kind::NO_STREAM));
  EXPECT_EQ(no_stream.code(), grpc::StatusCode::FAILED_PRECONDITION) << describe(no_stream.status);
  EXPECT_EQ(no_stream.trailer("redcar-actual-version"), "2");
  EXPECT_FALSE(no_stream.status.error_message().empty());

  auto stale = append(stub(), "s", text_events(2), expected(Kind::EXACT, 1));
  EXPECT_EQ(stale.code(), grpc::StatusCode::FAILED_PRECONDITION) << describe(stale.status);
  EXPECT_EQ(stale.trailer("redcar-actual-version"), "2");
  auto ahead = append(stub(), "s", text_events(2), expected(Kind::EXACT, 7));
  EXPECT_EQ(ahead.code(), grpc::StatusCode::FAILED_PRECONDITION) << describe(ahead.status);
  EXPECT_EQ(ahead.trailer("redcar-actual-version"), "2");

  // Nothing of the refused batches was written; the stream goes on at 3.
  auto r = read(stub(), read_request("s"));
  ASSERT_TRUE(r.status.ok()) << describe(r.status);
  EXPECT_EQ(numbers_of(r.events), range_of(0, 3));
  auto next = append(stub(), "s", text_events(1), expected(Kind::EXACT, 2));
  ASSERT_TRUE(next.ok()) << describe(next.status);
  EXPECT_EQ(next.resp.first_number(), 3u);
  // A success carries no actual version.
  EXPECT_EQ(next.trailer("redcar-actual-version"), "(absent)");
}

TEST_F(AppendTest, RetryWithTheSameFirstIdIsADuplicate) {
  std::vector<ce::CloudEvent> batch = {text_event("a", "t", "id-1"), text_event("b", "t", "id-2"),
                                       text_event("c", "t", "id-3")};
  ASSERT_TRUE(append(stub(), "s", text_events(2)).ok());
  auto first = append(stub(), "s", batch);
  ASSERT_TRUE(first.ok()) << describe(first.status);
  EXPECT_EQ(first.resp.first_number(), 2u);
  EXPECT_EQ(first.resp.last_number(), 4u);
  EXPECT_FALSE(first.resp.duplicate());
  ASSERT_TRUE(append(stub(), "s", text_events(1, "later")).ok());

  auto retry = append(stub(), "s", batch);
  ASSERT_TRUE(retry.ok()) << describe(retry.status);
  EXPECT_TRUE(retry.resp.duplicate());
  EXPECT_EQ(retry.resp.first_number(), 2u);
  EXPECT_EQ(retry.resp.last_number(), 4u);

  auto r = read(stub(), read_request("s"));
  ASSERT_TRUE(r.status.ok()) << describe(r.status);
  EXPECT_EQ(numbers_of(r.events), range_of(0, 6)) << "the retry wrote something";
  ASSERT_EQ(r.events.size(), 6u);
  EXPECT_EQ(r.events[2].event().id(), "id-1");
  EXPECT_EQ(r.events[4].event().id(), "id-3");
  EXPECT_EQ(r.events[5].event().text_data(), "later0");

  // The id is per stream: the same batch on another stream is new there.
  auto elsewhere = append(stub(), "other", batch);
  ASSERT_TRUE(elsewhere.ok()) << describe(elsewhere.status);
  EXPECT_FALSE(elsewhere.resp.duplicate());
  EXPECT_EQ(elsewhere.resp.first_number(), 0u);
}

TEST_F(AppendTest, RetryWithAnExpectedVersionStillAnswersTheOriginal) {
  // A client that retries an append whose answer it lost: the expected
  // version no longer holds, but the id says it is the same append.
  std::vector<ce::CloudEvent> batch = {text_event("a", "t", "once")};
  auto first = append(stub(), "s", batch, expected(Kind::NO_STREAM));
  ASSERT_TRUE(first.ok()) << describe(first.status);
  auto retry = append(stub(), "s", batch, expected(Kind::NO_STREAM));
  ASSERT_TRUE(retry.ok()) << describe(retry.status);
  EXPECT_TRUE(retry.resp.duplicate());
  EXPECT_EQ(retry.resp.first_number(), 0u);
  EXPECT_EQ(stream_length(stub(), "s"), 1);
}

TEST_F(AppendTest, AnAppendNeedsEvents) {
  auto a = append(stub(), "s", {});
  EXPECT_EQ(a.code(), grpc::StatusCode::INVALID_ARGUMENT) << describe(a.status);
  EXPECT_EQ(stream_length(stub(), "s"), -1);
}

}  // namespace
}  // namespace redcar::grpctest
