// Events.Read: ranges by number (from, to, max_count), backwards, paging
// through more than a message's worth of events (each page within what a
// client with grpc's default receive limit accepts), NOT_FOUND for a stream
// that does not exist, INVALID_ARGUMENT for a range that ends before it
// starts, and the error of a read that fails on the disk.
#include "frontends/grpc/event_readers.h"
#include "tests/grpc/grpc_test_util.h"

namespace redcar::grpctest {
namespace {

class ReadTest : public GrpcTest {};

std::vector<uint64_t> descending(uint64_t hi, uint64_t lo) {
  std::vector<uint64_t> out;
  for (uint64_t n = hi + 1; n-- > lo;) out.push_back(n);
  return out;
}

TEST_F(ReadTest, Ranges) {
  ASSERT_TRUE(fill(stub(), "s", 50));
  struct Case {
    uint64_t from;
    std::optional<uint64_t> to;
    uint64_t max_count;
    bool backwards;
    std::vector<uint64_t> want;
  };
  const std::vector<Case> cases = {
      {0, std::nullopt, 0, false, range_of(0, 50)},
      {10, std::nullopt, 0, false, range_of(10, 50)},
      {10, 19, 0, false, range_of(10, 20)},
      {10, 10, 0, false, {10}},
      {45, 1000, 0, false, range_of(45, 50)},
      {50, std::nullopt, 0, false, {}},
      {1000, std::nullopt, 0, false, {}},
      {5, std::nullopt, 7, false, range_of(5, 12)},
      {5, 8, 7, false, range_of(5, 9)},
      {0, std::nullopt, 0, true, descending(49, 0)},
      {10, 19, 0, true, descending(19, 10)},
      {10, std::nullopt, 3, true, {49, 48, 47}},
      {10, 30, 4, true, {30, 29, 28, 27}},
      {0, 0, 0, true, {0}},
      {0, 2, 10, true, {2, 1, 0}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("from " + std::to_string(c.from) + " to " + (c.to ? std::to_string(*c.to) : "-") + " max " +
                 std::to_string(c.max_count) + (c.backwards ? " backwards" : ""));
    auto r = read(stub(), read_request("s", c.from, c.to, c.max_count, c.backwards));
    ASSERT_TRUE(r.status.ok()) << describe(r.status);
    EXPECT_EQ(numbers_of(r.events), c.want);
    for (auto& e : r.events) {
      EXPECT_EQ(e.event().text_data().substr(0, e.event().text_data().find(':')), std::to_string(e.number()));
    }
  }
}

TEST_F(ReadTest, RecordedEventsCarryStreamIdsAndTimes) {
  auto before = std::chrono::system_clock::now();
  ASSERT_TRUE(fill(stub(), "s", 3));
  auto r = read(stub(), read_request("s"));
  ASSERT_TRUE(r.status.ok()) << describe(r.status);
  ASSERT_EQ(r.events.size(), 3u);
  std::string last_id;
  for (auto& e : r.events) {
    EXPECT_EQ(e.stream(), "s");
    // "ms-seq", increasing.
    ASSERT_NE(e.redis_id().find('-'), std::string::npos) << e.redis_id();
    auto ms = std::stoull(e.redis_id().substr(0, e.redis_id().find('-')));
    EXPECT_GE(ms, static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            before.time_since_epoch()).count()));
    if (!last_id.empty()) {
      EXPECT_NE(e.redis_id(), last_id);
    }
    last_id = e.redis_id();
    EXPECT_GE(e.recorded_time().seconds(),
              std::chrono::duration_cast<std::chrono::seconds>(before.time_since_epoch()).count());
  }
}

TEST_F(ReadTest, PagesThroughMoreThanAMessage) {
  // 10,000 events of 1 KiB: ten times what one message may carry and more
  // than the client's default 4 MiB receive limit, read back with a small
  // hot cache, so most of it comes from the log.
  const size_t n = 10000;
  ASSERT_TRUE(fill(stub(), "big", n, 1024, 100));
  auto r = read(stub(), read_request("big"));
  ASSERT_TRUE(r.status.ok()) << describe(r.status);
  ASSERT_EQ(r.events.size(), n);
  EXPECT_EQ(test::sequence_errors(numbers_of(r.events), 0, n), "");
  EXPECT_GT(r.messages, n * 1024 / grpcfe::kMaxMessageBytes) << "pages larger than a message should be";
  for (size_t i = 0; i < n; i += 997) {
    const auto& t = r.events[i].event().text_data();
    EXPECT_EQ(t.size(), 1024u);
    EXPECT_EQ(t.substr(0, t.find(':')), std::to_string(i));
  }

  auto back = read(stub(), read_request("big", 0, std::nullopt, 0, true));
  ASSERT_TRUE(back.status.ok()) << describe(back.status);
  EXPECT_EQ(numbers_of(back.events), descending(n - 1, 0));

  // A range inside, with a count that ends mid-page.
  auto mid = read(stub(), read_request("big", 1234, 8765, 5000));
  ASSERT_TRUE(mid.status.ok()) << describe(mid.status);
  EXPECT_EQ(numbers_of(mid.events), range_of(1234, 6234));
  auto mid_back = read(stub(), read_request("big", 1234, 8765, 5000, true));
  ASSERT_TRUE(mid_back.status.ok()) << describe(mid_back.status);
  EXPECT_EQ(numbers_of(mid_back.events), descending(8765, 3766));
}

TEST_F(ReadTest, EachPageFitsTheDefaultReceiveLimit) {
  // 30 events of 200 KiB, 6 MiB in all: a client with grpc's default 4 MiB
  // receive limit reads them, and so does one that accepts little more than
  // kMaxMessageBytes, since a page holds only what fits in that.
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(append(stub(), "wide", {text_event(std::string(200u << 10, 'a' + i % 26))}).ok());
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(grpcfe::kMaxMessageBytes + (64u << 10));
  auto tight = v1::Events::NewStub(h_.channel(nullptr, args));
  for (auto* s : {&stub(), tight.get()}) {
    for (bool backwards : {false, true}) {
      SCOPED_TRACE(std::string(s == tight.get() ? "tight client" : "default client") + (backwards ? ", backwards" : ""));
      auto r = read(*s, read_request("wide", 0, std::nullopt, 0, backwards));
      ASSERT_TRUE(r.status.ok()) << describe(r.status);
      EXPECT_EQ(numbers_of(r.events), backwards ? descending(29, 0) : range_of(0, 30));
      EXPECT_GE(r.messages, 6u);
      for (auto& e : r.events) EXPECT_EQ(e.event().text_data(), std::string(200u << 10, 'a' + e.number() % 26));
    }
  }
  // Small events first, large ones after: the pages size themselves by what
  // they hold, not by what came before.
  ASSERT_TRUE(fill(stub(), "mixed", 2000, 10, 500));
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(append(stub(), "mixed", {text_event(std::string(200u << 10, 'z'))}).ok());
  }
  auto m = read(*tight, read_request("mixed"));
  ASSERT_TRUE(m.status.ok()) << describe(m.status);
  EXPECT_EQ(numbers_of(m.events), range_of(0, 2030));
}

TEST_F(ReadTest, AReadThatFailsOnTheDiskEndsWithTheError) {
  // 8 MiB of events, most of them only in the log. After the first page,
  // every read of the disk fails: the call ends with the error after whole
  // pages of the events before it, in order, never with OK.
  const size_t n = 8192;
  ASSERT_TRUE(fill(stub(), "big", n, 1024, 128));
  for (bool fail_at_once : {false, true}) {
    SCOPED_TRACE(fail_at_once ? "failing from the start" : "failing after the first page");
    io::MemFs::Faults f;
    f.fail_reads_errno = EIO;
    if (fail_at_once) h_.fs().set_faults(f);
    grpc::ClientContext ctx;
    set_deadline(&ctx);
    auto reader = stub().Read(&ctx, read_request("big"));
    v1::ReadResponse resp;
    std::vector<uint64_t> got;
    while (reader->Read(&resp)) {
      h_.fs().set_faults(f);
      for (auto& e : resp.events()) got.push_back(e.number());
    }
    grpc::Status st = reader->Finish();
    h_.fs().set_faults({});
    EXPECT_FALSE(st.ok()) << "read " << got.size() << " of " << n << " events and ended OK";
    EXPECT_LT(got.size(), n);
    EXPECT_EQ(got, range_of(0, got.size()));
    if (fail_at_once) {
      EXPECT_TRUE(got.empty());
    }
  }
  // The disk is well again, and so is the read.
  auto r = read(stub(), read_request("big"));
  ASSERT_TRUE(r.status.ok()) << describe(r.status);
  EXPECT_EQ(numbers_of(r.events), range_of(0, n));
}

TEST_F(ReadTest, MissingStreamIsNotFound) {
  auto r = read(stub(), read_request("nothing-here"));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::NOT_FOUND) << describe(r.status);
  EXPECT_NE(r.status.error_message().find("nothing-here"), std::string::npos) << r.status.error_message();
  EXPECT_TRUE(r.events.empty());
}

TEST_F(ReadTest, ToBelowFromIsInvalid) {
  ASSERT_TRUE(fill(stub(), "s", 10));
  auto r = read(stub(), read_request("s", 5, 4));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << describe(r.status);
  EXPECT_TRUE(r.events.empty());
  auto b = read(stub(), read_request("s", 5, 4, 0, true));
  EXPECT_EQ(b.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << describe(b.status);
}

TEST_F(ReadTest, AStreamEmptiedByATrimReadsEmpty) {
  ASSERT_TRUE(fill(stub(), "s", 10));
  v1::TrimRequest t;
  t.set_stream("s");
  t.set_before_number(10);
  auto tr = unary<v1::TrimResponse>(
      [&](grpc::ClientContext* c, const v1::TrimRequest& q, v1::TrimResponse* o) { return stub().Trim(c, q, o); }, t);
  ASSERT_TRUE(tr.ok()) << describe(tr.status);
  auto r = read(stub(), read_request("s"));
  ASSERT_TRUE(r.status.ok()) << describe(r.status);
  EXPECT_TRUE(r.events.empty());
}

}  // namespace
}  // namespace redcar::grpctest
