// Bad input on every call of the native API: names that are empty, too long
// or hold control characters; requests over the server's max_request_bytes
// (INVALID_ARGUMENT, with a message) and far over it (the transport's
// RESOURCE_EXHAUSTED); enum values the API does not know; bytes that are no
// message at all. Each is refused with its code, the server goes on serving,
// and nothing of a refused request becomes visible.
#include <grpcpp/generic/generic_stub.h>

#include "frontends/grpc/append_stream.h"
#include "tests/grpc/grpc_stream_clients.h"

namespace redcar::grpctest {
namespace {

using Kind = v1::ExpectedVersion;
using Pos = v1::Position;
using Code = grpc::StatusCode;

const std::vector<std::pair<std::string, std::string>>& bad_names() {
  static const std::vector<std::pair<std::string, std::string>> names = {
      {"empty", ""},
      {"1025 bytes", std::string(limits::kMaxNameBytes + 1, 'n')},
      {"a newline", "a\nb"},
      {"a NUL", std::string("a\0b", 3)},
      {"an escape", "a\x1b[0m"},
      {"DEL", "a\x7f"},
  };
  return names;
}

class BadInputTest : public GrpcTest {
 protected:
  // The outcome of every call with `stream` as its stream name, then of the
  // group calls with `group` as the group. A Subscribe or Consume call that
  // is accepted (it says caught_up, or joined) counts as OK and is ended.
  std::vector<std::pair<std::string, grpc::Status>> every_call(const std::string& stream, const std::string& group) {
    std::vector<std::pair<std::string, grpc::Status>> out;
    out.push_back({"Append", append(stub(), stream, text_events(1)).status});
    {
      grpc::ClientContext ctx;
      set_deadline(&ctx);
      v1::AppendStreamResponse resp;
      auto w = stub().AppendStream(&ctx, &resp);
      w->Write(append_request(stream, text_events(1)));
      w->WritesDone();
      out.push_back({"AppendStream", w->Finish()});
    }
    out.push_back({"Read", read(stub(), read_request(stream)).status});
    {
      Subscriber sub(stub(), subscribe_stream(stream));
      sub.wait_caught_up_or_end();
      bool accepted = !sub.caught_up_after().empty();
      out.push_back({"Subscribe", accepted ? grpc::Status::OK : sub.status()});
    }
    out.push_back({"DescribeStream", describe_stream(stub(), stream).status});
    v1::TrimRequest t;
    t.set_stream(stream);
    t.set_max_count(1);
    out.push_back({"Trim", unary<v1::TrimResponse>(
                               [&](grpc::ClientContext* c, const v1::TrimRequest& r, v1::TrimResponse* o) {
                                 return stub().Trim(c, r, o);
                               },
                               t)
                               .status});
    v1::DeleteStreamRequest d;
    d.set_stream(stream);
    out.push_back({"DeleteStream",
                   unary<v1::DeleteStreamResponse>([&](grpc::ClientContext* c, const v1::DeleteStreamRequest& r,
                                                       v1::DeleteStreamResponse* o) { return stub().DeleteStream(c, r, o); },
                                                   d)
                       .status});
    for (auto& r : group_calls(stream, group)) out.push_back(std::move(r));
    return out;
  }

  std::vector<std::pair<std::string, grpc::Status>> group_calls(const std::string& stream, const std::string& group) {
    std::vector<std::pair<std::string, grpc::Status>> out;
    v1::CreateGroupRequest cg;
    cg.set_stream(stream);
    cg.set_group(group);
    cg.set_create_stream(true);
    out.push_back({"CreateGroup",
                   unary<v1::CreateGroupResponse>([&](grpc::ClientContext* c, const v1::CreateGroupRequest& r,
                                                      v1::CreateGroupResponse* o) { return stub().CreateGroup(c, r, o); },
                                                  cg)
                       .status});
    v1::DeleteGroupRequest dg;
    dg.set_stream(stream);
    dg.set_group(group);
    out.push_back({"DeleteGroup",
                   unary<v1::DeleteGroupResponse>([&](grpc::ClientContext* c, const v1::DeleteGroupRequest& r,
                                                      v1::DeleteGroupResponse* o) { return stub().DeleteGroup(c, r, o); },
                                                  dg)
                       .status});
    {
      Member m(stub());
      bool joined = m.join_and_wait(Member::JoinArgs{stream, group, "w", true, {}, 0}).has_value();
      if (!joined) m.wait_end();
      out.push_back({"Consume", joined ? grpc::Status::OK : m.status()});
    }
    return out;
  }

  std::vector<std::string> all_streams() {
    v1::ListStreamsRequest req;
    auto a = unary<v1::ListStreamsResponse>(
        [&](grpc::ClientContext* c, const v1::ListStreamsRequest& r, v1::ListStreamsResponse* o) {
          return stub().ListStreams(c, r, o);
        },
        req);
    EXPECT_TRUE(a.ok()) << describe(a.status);
    return {a.resp.streams().begin(), a.resp.streams().end()};
  }
};

TEST_F(BadInputTest, BadStreamNamesEverywhere) {
  for (auto& [what, name] : bad_names()) {
    for (auto& [call, st] : every_call(name, "g")) {
      EXPECT_EQ(st.error_code(), Code::INVALID_ARGUMENT) << what << ", " << call << ": " << describe(st);
      EXPECT_NE(st.error_message().find("stream"), std::string::npos) << what << ", " << call << ": " << describe(st);
    }
  }
  EXPECT_TRUE(all_streams().empty());
}

TEST_F(BadInputTest, BadGroupNames) {
  ASSERT_TRUE(fill(stub(), "s", 1));
  std::vector<std::pair<std::string, std::string>> names = bad_names();
  names.push_back({"256 bytes", std::string(grpcfe::kMaxGroupNameBytes + 1, 'g')});
  for (auto& [what, name] : names) {
    for (auto& [call, st] : group_calls("s", name)) {
      EXPECT_EQ(st.error_code(), Code::INVALID_ARGUMENT) << what << ", " << call << ": " << describe(st);
      EXPECT_NE(st.error_message().find("group"), std::string::npos) << what << ", " << call << ": " << describe(st);
    }
  }
  auto d = describe_stream(stub(), "s");
  ASSERT_TRUE(d.ok()) << describe(d.status);
  EXPECT_EQ(d.resp.groups_size(), 0);
}

TEST_F(BadInputTest, NamesAtTheLimitsAreFine) {
  const std::string longest(limits::kMaxNameBytes, 'n');
  const std::string longest_group(grpcfe::kMaxGroupNameBytes, 'g');
  for (auto& [call, st] : every_call(longest, longest_group)) {
    EXPECT_TRUE(st.ok()) << call << ": " << describe(st);
  }
  // Unicode and spaces are names too.
  for (const std::string name : {"ünïcødé stream", "with space", "/slashes/and:colons", "\xe2\x9c\x93"}) {
    auto a = append(stub(), name, text_events(1));
    EXPECT_TRUE(a.ok()) << name << ": " << describe(a.status);
    auto r = read(stub(), read_request(name));
    EXPECT_TRUE(r.status.ok()) << name << ": " << describe(r.status);
    ASSERT_EQ(r.events.size(), 1u) << name;
    EXPECT_EQ(r.events[0].stream(), name);
  }
}

TEST_F(BadInputTest, RequestsOverTheSizeLimit) {
  const size_t limit = setup().grpc.max_request_bytes;
  // Just over the limit: the server refuses it, saying so.
  auto over = append(stub(), "s", {text_event(std::string(limit, 'x'))});
  EXPECT_EQ(over.code(), Code::INVALID_ARGUMENT) << describe(over.status);
  EXPECT_NE(over.status.error_message().find(std::to_string(limit)), std::string::npos) << over.status.error_message();
  // Many events adding up over it.
  auto many = append(stub(), "s", text_events(limit / 32, std::string(16, 'y')));
  EXPECT_EQ(many.code(), Code::INVALID_ARGUMENT) << describe(many.status);
  // Far over: the transport refuses it before it is read.
  auto far = append(stub(), "s", {text_event(std::string(limit + grpcfe::kTransportSlackBytes + (64u << 10), 'z'))});
  EXPECT_EQ(far.code(), Code::RESOURCE_EXHAUSTED) << describe(far.status);
  // The same in an AppendStream after good appends: the call ends with it,
  // the good ones applied.
  {
    grpc::ClientContext ctx;
    set_deadline(&ctx);
    v1::AppendStreamResponse resp;
    auto w = stub().AppendStream(&ctx, &resp);
    EXPECT_TRUE(w->Write(append_request("t", text_events(2))));
    w->Write(append_request("t", {text_event(std::string(limit, 'x'))}));
    w->Write(append_request("t", text_events(2)));
    w->WritesDone();
    auto st = w->Finish();
    EXPECT_EQ(st.error_code(), Code::INVALID_ARGUMENT) << describe(st);
    EXPECT_NE(st.error_message().find("append 1"), std::string::npos) << st.error_message();
    EXPECT_EQ(trailer(ctx, grpcfe::kAppendedKey), "1");
  }
  // A huge prefix (to list, to subscribe to), a huge consume request.
  v1::ListStreamsRequest lr;
  lr.set_prefix(std::string(limit + 1, 'p'));
  auto l = unary<v1::ListStreamsResponse>(
      [&](grpc::ClientContext* c, const v1::ListStreamsRequest& r, v1::ListStreamsResponse* o) {
        return stub().ListStreams(c, r, o);
      },
      lr);
  EXPECT_EQ(l.code(), Code::INVALID_ARGUMENT) << describe(l.status);
  {
    Subscriber sub(stub(), subscribe_prefix(std::string(limit + 1, 'p')));
    ASSERT_TRUE(sub.wait_end(std::chrono::seconds(5))) << "a subscription over the size limit was taken";
    EXPECT_EQ(sub.status().error_code(), Code::INVALID_ARGUMENT) << describe(sub.status());
  }
  {
    ASSERT_TRUE(fill(stub(), "c", 1));
    Member m(stub());
    ASSERT_TRUE(m.join_and_wait(Member::JoinArgs{"c", "g", "w", true, {}, 0}));
    std::vector<uint64_t> lots(limit + 1, 7);
    m.ack(lots);
    ASSERT_TRUE(m.wait_end());
    EXPECT_EQ(m.status().error_code(), Code::INVALID_ARGUMENT) << describe(m.status());
  }
  // Requests made large by a field the server does not know: every call
  // measures what arrived, not what it reads of it.
  {
    std::string big(limit + 1, 'u');
    auto pad = [&](google::protobuf::Message& m) {
      m.GetReflection()->MutableUnknownFields(&m)->AddLengthDelimited(999, big);
    };
    v1::DescribeStreamRequest dr;
    dr.set_stream("c");
    pad(dr);
    EXPECT_EQ(unary<v1::DescribeStreamResponse>(
                  [&](grpc::ClientContext* c, const v1::DescribeStreamRequest& r, v1::DescribeStreamResponse* o) {
                    return stub().DescribeStream(c, r, o);
                  },
                  dr)
                  .code(),
              Code::INVALID_ARGUMENT);
    v1::TrimRequest tr;
    tr.set_stream("c");
    tr.set_max_count(0);
    pad(tr);
    EXPECT_EQ(unary<v1::TrimResponse>(
                  [&](grpc::ClientContext* c, const v1::TrimRequest& r, v1::TrimResponse* o) {
                    return stub().Trim(c, r, o);
                  },
                  tr)
                  .code(),
              Code::INVALID_ARGUMENT);
    v1::DeleteStreamRequest del;
    del.set_stream("c");
    pad(del);
    EXPECT_EQ(unary<v1::DeleteStreamResponse>(
                  [&](grpc::ClientContext* c, const v1::DeleteStreamRequest& r, v1::DeleteStreamResponse* o) {
                    return stub().DeleteStream(c, r, o);
                  },
                  del)
                  .code(),
              Code::INVALID_ARGUMENT);
    v1::CreateGroupRequest cg;
    cg.set_stream("c");
    cg.set_group("big");
    pad(cg);
    EXPECT_EQ(unary<v1::CreateGroupResponse>(
                  [&](grpc::ClientContext* c, const v1::CreateGroupRequest& r, v1::CreateGroupResponse* o) {
                    return stub().CreateGroup(c, r, o);
                  },
                  cg)
                  .code(),
              Code::INVALID_ARGUMENT);
    v1::DeleteGroupRequest dg;
    dg.set_stream("c");
    dg.set_group("g");
    pad(dg);
    EXPECT_EQ(unary<v1::DeleteGroupResponse>(
                  [&](grpc::ClientContext* c, const v1::DeleteGroupRequest& r, v1::DeleteGroupResponse* o) {
                    return stub().DeleteGroup(c, r, o);
                  },
                  dg)
                  .code(),
              Code::INVALID_ARGUMENT);
    auto rr = read_request("c");
    pad(rr);
    EXPECT_EQ(read(stub(), rr).status.error_code(), Code::INVALID_ARGUMENT);
    EXPECT_EQ(stream_length(stub(), "c"), 1) << "a refused trim or delete took effect";
    auto d = describe_stream(stub(), "c");
    ASSERT_TRUE(d.ok()) << describe(d.status);
    ASSERT_EQ(d.resp.groups_size(), 1);
    EXPECT_EQ(d.resp.groups(0).name(), "g");
  }
  // Nothing of the refused ones was written; the server still serves.
  EXPECT_EQ(stream_length(stub(), "s"), -1);
  EXPECT_EQ(stream_length(stub(), "t"), 2);
  auto ok = append(stub(), "s", {text_event(std::string(limit / 2, 'x'))});
  EXPECT_TRUE(ok.ok()) << describe(ok.status);
}

TEST_F(BadInputTest, UnknownEnumValues) {
  ASSERT_TRUE(fill(stub(), "s", 2));
  auto a = append(stub(), "s", text_events(1), expected(static_cast<Kind::Kind>(7)));
  EXPECT_EQ(a.code(), Code::INVALID_ARGUMENT) << describe(a.status);
  EXPECT_NE(a.status.error_message().find("7"), std::string::npos) << a.status.error_message();
  auto n = append(stub(), "new", text_events(1), expected(static_cast<Kind::Kind>(-1)));
  EXPECT_EQ(n.code(), Code::INVALID_ARGUMENT) << describe(n.status);
  {
    grpc::ClientContext ctx;
    set_deadline(&ctx);
    v1::AppendStreamResponse resp;
    auto w = stub().AppendStream(&ctx, &resp);
    w->Write(append_request("s", text_events(1), expected(static_cast<Kind::Kind>(7))));
    w->WritesDone();
    auto st = w->Finish();
    EXPECT_EQ(st.error_code(), Code::INVALID_ARGUMENT) << describe(st);
  }
  v1::CreateGroupRequest cg;
  cg.set_stream("s");
  cg.set_group("g");
  cg.mutable_from()->set_kind(static_cast<Pos::Kind>(9));
  auto c = unary<v1::CreateGroupResponse>(
      [&](grpc::ClientContext* ctx, const v1::CreateGroupRequest& r, v1::CreateGroupResponse* o) {
        return stub().CreateGroup(ctx, r, o);
      },
      cg);
  EXPECT_EQ(c.code(), Code::INVALID_ARGUMENT) << describe(c.status);
  {
    Subscriber s(stub(), subscribe_stream("s", position(static_cast<Pos::Kind>(9))));
    ASSERT_TRUE(s.wait_end());
    EXPECT_EQ(s.status().error_code(), Code::INVALID_ARGUMENT) << describe(s.status());
  }
  {
    Member m(stub());
    m.join(Member::JoinArgs{"s", "g", "w", true, position(static_cast<Pos::Kind>(9)), 0});
    ASSERT_TRUE(m.wait_end());
    EXPECT_EQ(m.status().error_code(), Code::INVALID_ARGUMENT) << describe(m.status());
  }
  EXPECT_EQ(stream_length(stub(), "s"), 2);
  EXPECT_EQ(stream_length(stub(), "new"), -1);
  auto d = describe_stream(stub(), "s");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.resp.groups_size(), 0);
}

TEST_F(BadInputTest, TooManyEventsInOneAppend) {
  // Past limits::kMaxEventsPerAppend, on a server whose size limit lets
  // such a request through.
  Harness big;
  ServerSetup setup;
  setup.grpc.max_request_bytes = 8u << 20;
  ASSERT_TRUE(big.start(setup));
  auto s = big.stub();
  std::vector<ce::CloudEvent> evs(limits::kMaxEventsPerAppend + 1);
  for (auto& e : evs) e.set_type("t");
  auto a = append(*s, "s", evs);
  EXPECT_EQ(a.code(), Code::OUT_OF_RANGE) << describe(a.status);
  EXPECT_EQ(stream_length(*s, "s"), -1);
}

TEST_F(BadInputTest, BytesThatAreNoMessage) {
  grpc::GenericStub generic(h_.channel());
  // grpc++'s callback API answers a request it cannot parse as it does an
  // unknown method (UNIMPLEMENTED); the service never sees it. Read and
  // Subscribe are raw methods that parse their own requests, and refuse
  // such bytes as INVALID_ARGUMENT.
  const std::pair<std::string, Code> methods[] = {{"/redcar.v1.Events/Append", Code::UNIMPLEMENTED},
                                                   {"/redcar.v1.Events/Read", Code::INVALID_ARGUMENT},
                                                   {"/redcar.v1.Events/CreateGroup", Code::UNIMPLEMENTED},
                                                   {"/redcar.v1.Events/Nothing", Code::UNIMPLEMENTED}};
  for (const auto& [method, code] : methods) {
    grpc::ClientContext ctx;
    set_deadline(&ctx);
    grpc::Slice garbage(std::string("\xff\xff\xff\xff\x0f garbage", 13));
    grpc::ByteBuffer req(&garbage, 1), resp;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    grpc::Status st;
    generic.UnaryCall(&ctx, method, grpc::StubOptions(), &req, &resp, [&](grpc::Status s) {
      std::lock_guard lk(mu);
      st = s;
      done = true;
      cv.notify_all();
    });
    std::unique_lock lk(mu);
    ASSERT_TRUE(cv.wait_for(lk, kRpcTimeout, [&] { return done; })) << method;
    EXPECT_EQ(st.error_code(), code) << method << ": " << describe(st);
  }
  EXPECT_TRUE(all_streams().empty());
  EXPECT_TRUE(append(stub(), "s", text_events(1)).ok());
}

}  // namespace
}  // namespace redcar::grpctest
