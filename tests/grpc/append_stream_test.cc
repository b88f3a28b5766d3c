// Events.AppendStream: many appends on one call, answered in order with
// their numbers and counts; the first failing append ends the call with its
// status, "redcar-appended" saying how many were applied (and, for a wrong
// expected version, "redcar-actual-version" the version of that append's
// stream); far more appends than kMaxAppendsInFlight on one call.
#include "frontends/grpc/append_stream.h"
#include "tests/grpc/grpc_test_util.h"

namespace redcar::grpctest {
namespace {

using Kind = v1::ExpectedVersion;

struct StreamOutcome {
  grpc::Status status;
  v1::AppendStreamResponse resp;
  std::multimap<std::string, std::string> trailers;
  size_t written = 0;  // requests the client got onto the call before it broke

  std::vector<std::string> values(const std::string& key) const {
    std::vector<std::string> out;
    auto [lo, hi] = trailers.equal_range(key);
    for (auto it = lo; it != hi; ++it) out.push_back(it->second);
    return out;
  }
};

StreamOutcome append_stream(v1::Events::Stub& stub, const std::vector<v1::AppendRequest>& reqs) {
  grpc::ClientContext ctx;
  set_deadline(&ctx);
  StreamOutcome out;
  auto w = stub.AppendStream(&ctx, &out.resp);
  for (auto& r : reqs) {
    if (!w->Write(r)) break;  // the server ended the call
    out.written++;
  }
  w->WritesDone();
  out.status = w->Finish();
  for (auto& [k, v] : ctx.GetServerTrailingMetadata()) {
    out.trailers.emplace(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
  }
  return out;
}

TEST(AppendStreamLimits, InFlightLimitIsSmall) {
  // The flow test below sends many times this.
  static_assert(grpcfe::kMaxAppendsInFlight <= 64);
}

class AppendStreamTest : public GrpcTest {};

TEST_F(AppendStreamTest, ManyAppendsAnsweredInOrder) {
  const std::vector<std::string> streams = {"a", "b", "c"};
  std::vector<v1::AppendRequest> reqs;
  uint64_t total = 0;
  for (int i = 0; i < 60; ++i) {
    size_t n = 1 + i % 4;
    total += n;
    reqs.push_back(append_request(streams[i % 3], text_events(n, "r" + std::to_string(i) + "-")));
  }
  auto out = append_stream(stub(), reqs);
  ASSERT_TRUE(out.status.ok()) << describe(out.status);
  EXPECT_EQ(out.resp.appends(), 60u);
  EXPECT_EQ(out.resp.events(), total);
  ASSERT_EQ(out.resp.results_size(), 60);
  std::map<std::string, uint64_t> next;
  for (int i = 0; i < 60; ++i) {
    const auto& r = out.resp.results(i);
    uint64_t n = 1 + i % 4;
    EXPECT_EQ(r.stream(), streams[i % 3]) << "result " << i;
    EXPECT_EQ(r.first_number(), next[r.stream()]) << "result " << i;
    EXPECT_EQ(r.last_number(), next[r.stream()] + n - 1) << "result " << i;
    EXPECT_FALSE(r.duplicate());
    next[r.stream()] += n;
  }
  EXPECT_EQ(out.values("redcar-appended"), std::vector<std::string>{"60"});
  // Each stream holds its appends in the order sent.
  for (auto& s : streams) {
    auto rd = read(stub(), read_request(s));
    ASSERT_TRUE(rd.status.ok()) << describe(rd.status);
    ASSERT_EQ(rd.events.size(), next[s]);
    size_t k = 0;
    for (int i = 0; i < 60; ++i) {
      if (streams[i % 3] != s) continue;
      for (int j = 0; j < 1 + i % 4; ++j, ++k) {
        EXPECT_EQ(rd.events[k].event().text_data(), "r" + std::to_string(i) + "-" + std::to_string(j));
      }
    }
  }
}

TEST_F(AppendStreamTest, NoAppendsIsAnEmptyAnswer) {
  auto out = append_stream(stub(), {});
  ASSERT_TRUE(out.status.ok()) << describe(out.status);
  EXPECT_EQ(out.resp.appends(), 0u);
  EXPECT_EQ(out.resp.events(), 0u);
  EXPECT_EQ(out.resp.results_size(), 0);
}

TEST_F(AppendStreamTest, WrongExpectedVersionEndsTheCall) {
  // Ten appends of two events to one stream, each expecting the one before;
  // the sixth expects a wrong version, so it and every one after it fail.
  std::vector<v1::AppendRequest> reqs;
  for (uint64_t i = 0; i < 10; ++i) {
    auto ev = i == 0 ? expected(Kind::NO_STREAM) : expected(Kind::EXACT, 2 * i - 1 + (i >= 5 ? 100 : 0));
    reqs.push_back(append_request("s", text_events(2, "r" + std::to_string(i) + "-"), ev));
  }
  auto out = append_stream(stub(), reqs);
  EXPECT_EQ(out.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << describe(out.status);
  EXPECT_NE(out.status.error_message().find("append 5"), std::string::npos) << out.status.error_message();
  EXPECT_EQ(out.values("redcar-appended"), std::vector<std::string>{"5"});
  EXPECT_EQ(out.values("redcar-actual-version"), std::vector<std::string>{"9"});
  auto rd = read(stub(), read_request("s"));
  ASSERT_TRUE(rd.status.ok()) << describe(rd.status);
  ASSERT_EQ(numbers_of(rd.events), range_of(0, 10));
  EXPECT_EQ(rd.events[9].event().text_data(), "r4-1");
}

TEST_F(AppendStreamTest, AppliedCountMatchesWhatWasWritten) {
  // A failure in the middle of appends that need no version: appends sent
  // before it are applied; of those after it, the ones already in flight may
  // be applied too. "redcar-appended" counts what was applied, whichever.
  std::vector<v1::AppendRequest> reqs;
  for (int i = 0; i < 200; ++i) {
    auto ev = i == 7 ? std::optional(expected(Kind::EXACT, 1000)) : std::nullopt;
    reqs.push_back(append_request("s", text_events(2, "r" + std::to_string(i) + "-"), ev));
  }
  auto out = append_stream(stub(), reqs);
  EXPECT_EQ(out.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << describe(out.status);
  EXPECT_NE(out.status.error_message().find("append 7"), std::string::npos) << out.status.error_message();
  auto applied = out.values("redcar-appended");
  ASSERT_EQ(applied.size(), 1u);
  uint64_t n = std::stoull(applied[0]);
  EXPECT_GE(n, 7u);
  EXPECT_LE(n, 7u + grpcfe::kMaxAppendsInFlight);
  auto rd = read(stub(), read_request("s"));
  ASSERT_TRUE(rd.status.ok()) << describe(rd.status);
  EXPECT_EQ(rd.events.size(), 2 * n);
  for (int i = 0; i < 7; ++i) EXPECT_EQ(rd.events[2 * i].event().text_data(), "r" + std::to_string(i) + "-0");
}

TEST_F(AppendStreamTest, TheEarliestFailureGivesStatusAndVersion) {
  // Two failing appends to streams on different shards: whichever fails
  // first, the call reports the earlier request, with its own stream's
  // version alone. A big append ahead of the first failure (on its shard)
  // makes the later one likely to fail first; repeated to give the race its
  // chances.
  std::string a, b;
  for (int i = 0; a.empty() || b.empty(); ++i) {
    std::string name = "s" + std::to_string(i);
    (h_.engine().shard_of(name) == 0 ? a : b) = name;
  }
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::string sa = a + "-" + std::to_string(round), sb = b + "-" + std::to_string(round);
    // Keep each stream on the shard picked above.
    for (int i = 0; h_.engine().shard_of(sa) != 0; ++i) sa = a + "-" + std::to_string(round) + "-" + std::to_string(i);
    for (int i = 0; h_.engine().shard_of(sb) != 1; ++i) sb = b + "-" + std::to_string(round) + "-" + std::to_string(i);
    ASSERT_TRUE(append(stub(), sb, text_events(3)).ok());
    std::vector<v1::AppendRequest> reqs;
    reqs.push_back(append_request(sa, text_events(1000, std::string(100, 'x'))));
    reqs.push_back(append_request(sa, text_events(1), expected(Kind::EXACT, 5)));
    reqs.push_back(append_request(sb, text_events(1), expected(Kind::NO_STREAM)));
    auto out = append_stream(stub(), reqs);
    EXPECT_EQ(out.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << describe(out.status);
    EXPECT_NE(out.status.error_message().find("append 1"), std::string::npos) << out.status.error_message();
    EXPECT_EQ(out.values("redcar-actual-version"), std::vector<std::string>{"999"});
    EXPECT_EQ(out.values("redcar-appended"), std::vector<std::string>{"1"});
    if (HasFailure()) break;
  }
}

TEST_F(AppendStreamTest, AnInvalidRequestEndsTheCall) {
  std::vector<v1::AppendRequest> reqs;
  for (int i = 0; i < 5; ++i) reqs.push_back(append_request("s", text_events(1)));
  auto bad = text_events(1);
  bad[0].clear_type();
  reqs.push_back(append_request("s", bad));
  for (int i = 0; i < 5; ++i) reqs.push_back(append_request("s", text_events(1)));
  auto out = append_stream(stub(), reqs);
  EXPECT_EQ(out.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << describe(out.status);
  EXPECT_NE(out.status.error_message().find("append 5"), std::string::npos) << out.status.error_message();
  EXPECT_NE(out.status.error_message().find("event 0"), std::string::npos) << out.status.error_message();
  EXPECT_EQ(out.values("redcar-appended"), std::vector<std::string>{"5"});
  EXPECT_EQ(stream_length(stub(), "s"), 5);
}

TEST_F(AppendStreamTest, FarMoreAppendsThanInFlight) {
  const size_t n = 40 * grpcfe::kMaxAppendsInFlight;
  std::vector<v1::AppendRequest> reqs;
  for (size_t i = 0; i < n; ++i) reqs.push_back(append_request(i % 2 ? "odd" : "even", text_events(3)));
  auto out = append_stream(stub(), reqs);
  ASSERT_TRUE(out.status.ok()) << describe(out.status);
  EXPECT_EQ(out.written, n);
  EXPECT_EQ(out.resp.appends(), n);
  EXPECT_EQ(out.resp.events(), 3 * n);
  ASSERT_EQ(static_cast<size_t>(out.resp.results_size()), n);
  for (size_t i = 0; i < n; ++i) {
    EXPECT_EQ(out.resp.results(i).first_number(), 3 * (i / 2)) << "result " << i;
  }
  EXPECT_EQ(stream_length(stub(), "odd"), static_cast<int64_t>(3 * n / 2));
  EXPECT_EQ(stream_length(stub(), "even"), static_cast<int64_t>(3 * n / 2));
}

TEST_F(AppendStreamTest, ARetriedAppendIsADuplicate) {
  std::vector<v1::AppendRequest> reqs = {
      append_request("s", {text_event("a", "t", "id-a")}),
      append_request("s", {text_event("b", "t", "id-b")}),
      append_request("s", {text_event("a", "t", "id-a")}),
  };
  auto out = append_stream(stub(), reqs);
  ASSERT_TRUE(out.status.ok()) << describe(out.status);
  ASSERT_EQ(out.resp.results_size(), 3);
  EXPECT_FALSE(out.resp.results(1).duplicate());
  EXPECT_TRUE(out.resp.results(2).duplicate());
  EXPECT_EQ(out.resp.results(2).first_number(), 0u);
  EXPECT_EQ(stream_length(stub(), "s"), 2);
}

}  // namespace
}  // namespace redcar::grpctest
