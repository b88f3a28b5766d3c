// What the gRPC front end's tests share: a harness that opens a real Engine
// (on the in-memory disk, or on a fresh folder of the real disk) and serves
// it with GrpcServer on 127.0.0.1 at a free port; a fixture built on it; and
// helpers that make CloudEvents and requests and run calls through the
// generated redcar.v1.Events stub.
//
// Every call carries a deadline (kRpcTimeout unless a test gives its own),
// so a lost answer fails the test instead of hanging it. Streaming calls are
// read on the test's thread with the blocking API; the deadline bounds each
// of those reads too.
#pragma once

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/api/engine.h"
#include "engine/io/mem_disk.h"
#include "frontends/grpc/grpc_server.h"
#include "redcar/v1/events.grpc.pb.h"
#include "tests/unit/engine_test_util.h"

namespace redcar::grpctest {

namespace v1 = ::redcar::v1;
namespace ce = ::io::cloudevents::v1;
using test::TempDir;

inline constexpr std::chrono::seconds kRpcTimeout{30};

struct ServerSetup {
  bool real_disk = false;  // a TempDir on the real disk instead of io::MemFs
  unsigned shards = 2;
  uint64_t segment_bytes = 8ull << 20;
  size_t hot_cache_bytes = 1u << 20;  // small: long reads come back from the log
  grpcfe::GrpcOptions grpc = small_limits();

  // The fixture's limit on requests: small, so tests can cross it cheaply.
  static grpcfe::GrpcOptions small_limits() {
    grpcfe::GrpcOptions o;
    o.max_request_bytes = 256u << 10;
    return o;
  }
};

// An engine and a GrpcServer over it, on 127.0.0.1 and a port the kernel
// picked. stop() (also run by the destructor) stops the server, then the
// engine, and removes the folder (or drops the in-memory disk).
class Harness {
 public:
  Harness() = default;
  ~Harness() { stop(); }
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  ::testing::AssertionResult start(ServerSetup setup) {
    setup_ = std::move(setup);
    if (setup_.real_disk) {
      dir_ = std::make_unique<TempDir>();
    } else {
      fs_ = std::make_unique<io::MemFs>();
    }
    return open();
  }

  // Stops the server and the engine and opens both again on the same data
  // (the server on a new port).
  ::testing::AssertionResult restart() {
    if (server_) server_->stop();
    server_.reset();
    if (engine_) engine_->stop();
    engine_.reset();
    return open();
  }

  void stop_server(uint32_t grace_ms = 1000) {
    if (server_) server_->stop(grace_ms);
  }

  void stop() {
    if (server_) {
      server_->stop();
      server_.reset();
    }
    if (engine_) {
      engine_->stop();
      engine_.reset();
    }
    fs_.reset();
    dir_.reset();
  }

  Engine& engine() { return *engine_; }
  // The in-memory disk (not with real_disk), for faults.
  io::MemFs& fs() { return *fs_; }
  uint16_t port() const { return server_->port(); }
  std::string target() const { return "127.0.0.1:" + std::to_string(port()); }

  // A new channel (its own connection) to the server.
  std::shared_ptr<grpc::Channel> channel(std::shared_ptr<grpc::ChannelCredentials> creds = nullptr,
                                         const grpc::ChannelArguments& args = {}) const {
    if (!creds) creds = grpc::InsecureChannelCredentials();
    return grpc::CreateCustomChannel(target(), creds, args);
  }
  std::unique_ptr<v1::Events::Stub> stub() const { return v1::Events::NewStub(channel()); }

 private:
  ::testing::AssertionResult open() {
    EngineOptions eo;
    eo.shards = setup_.shards;
    eo.segment_bytes = setup_.segment_bytes;
    eo.hot_cache_bytes = setup_.hot_cache_bytes;
    if (dir_) {
      eo.data_dir = dir_->path() + "/data";
    } else {
      eo.data_dir = "/data";
      eo.mem_fs = fs_.get();
    }
    auto e = Engine::open(eo);
    if (!e) return ::testing::AssertionFailure() << "Engine::open: " << e.status().to_string();
    engine_ = std::move(*e);
    grpcfe::GrpcOptions go = setup_.grpc;
    go.address = "127.0.0.1:0";
    server_ = std::make_unique<grpcfe::GrpcServer>(*engine_, go);
    if (auto st = server_->start(); !st) {
      return ::testing::AssertionFailure() << "GrpcServer::start: " << st.to_string();
    }
    if (server_->port() == 0) return ::testing::AssertionFailure() << "GrpcServer bound no port";
    return ::testing::AssertionSuccess();
  }

  ServerSetup setup_;
  std::unique_ptr<io::MemFs> fs_;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<grpcfe::GrpcServer> server_;
};

// --- calls ---

inline void set_deadline(grpc::ClientContext* ctx, std::chrono::milliseconds timeout = kRpcTimeout) {
  ctx->set_deadline(std::chrono::system_clock::now() + timeout);
}

inline std::string trailer(const grpc::ClientContext& ctx, const std::string& key) {
  auto md = ctx.GetServerTrailingMetadata();
  auto it = md.find(key);
  if (it == md.end()) return "(absent)";
  return std::string(it->second.data(), it->second.size());
}

// A unary call's outcome: status, answer, and the trailing metadata.
template <typename Resp>
struct Answer {
  grpc::Status status;
  Resp resp;
  std::map<std::string, std::string> trailers;
  bool ok() const { return status.ok(); }
  grpc::StatusCode code() const { return status.error_code(); }
  std::string trailer(const std::string& key) const {
    auto it = trailers.find(key);
    return it == trailers.end() ? "(absent)" : it->second;
  }
};

template <typename Resp, typename Req, typename Method>
Answer<Resp> unary(Method method, const Req& req) {
  grpc::ClientContext ctx;
  set_deadline(&ctx);
  Answer<Resp> a;
  a.status = method(&ctx, req, &a.resp);
  for (auto& [k, v] : ctx.GetServerTrailingMetadata()) {
    a.trailers[std::string(k.data(), k.size())] = std::string(v.data(), v.size());
  }
  return a;
}

inline std::string describe(const grpc::Status& s) {
  return "code " + std::to_string(static_cast<int>(s.error_code())) + ": " + s.error_message();
}

// --- CloudEvents and requests ---

inline ce::CloudEvent text_event(std::string text, std::string type = "test.event", std::string id = "") {
  ce::CloudEvent e;
  e.set_type(std::move(type));
  e.set_spec_version("1.0");
  e.set_source("/tests");
  e.set_id(std::move(id));
  e.set_text_data(std::move(text));
  return e;
}

// `n` events whose text is prefix + their index.
inline std::vector<ce::CloudEvent> text_events(size_t n, const std::string& prefix = "e") {
  std::vector<ce::CloudEvent> out;
  for (size_t i = 0; i < n; ++i) out.push_back(text_event(prefix + std::to_string(i)));
  return out;
}

inline v1::ExpectedVersion expected(v1::ExpectedVersion::Kind kind, uint64_t last = 0) {
  v1::ExpectedVersion v;
  v.set_kind(kind);
  v.set_last_number(last);
  return v;
}

inline v1::AppendRequest append_request(const std::string& stream, std::vector<ce::CloudEvent> events,
                                        std::optional<v1::ExpectedVersion> ev = std::nullopt) {
  v1::AppendRequest r;
  r.set_stream(stream);
  for (auto& e : events) *r.add_events() = std::move(e);
  if (ev) *r.mutable_expected() = *ev;
  return r;
}

inline Answer<v1::AppendResponse> append(v1::Events::Stub& stub, const v1::AppendRequest& req) {
  return unary<v1::AppendResponse>(
      [&](grpc::ClientContext* c, const v1::AppendRequest& r, v1::AppendResponse* o) { return stub.Append(c, r, o); },
      req);
}

inline Answer<v1::AppendResponse> append(v1::Events::Stub& stub, const std::string& stream,
                                         std::vector<ce::CloudEvent> events,
                                         std::optional<v1::ExpectedVersion> ev = std::nullopt) {
  return append(stub, append_request(stream, std::move(events), ev));
}

// Appends `n` events of `size_bytes` of text each, `per_call` to a call.
inline ::testing::AssertionResult fill(v1::Events::Stub& stub, const std::string& stream, size_t n,
                                       size_t size_bytes = 16, size_t per_call = 100) {
  for (size_t done = 0; done < n;) {
    std::vector<ce::CloudEvent> batch;
    for (size_t i = 0; i < per_call && done + i < n; ++i) {
      std::string text = std::to_string(done + i) + ":";
      text.resize(std::max(size_bytes, text.size()), 'x');
      batch.push_back(text_event(std::move(text)));
    }
    size_t k = batch.size();
    auto a = append(stub, stream, std::move(batch));
    if (!a.ok()) return ::testing::AssertionFailure() << "append to " << stream << ": " << describe(a.status);
    done += k;
  }
  return ::testing::AssertionSuccess();
}

struct ReadOutcome {
  grpc::Status status;
  std::vector<v1::RecordedEvent> events;
  size_t messages = 0;
};

inline ReadOutcome read(v1::Events::Stub& stub, const v1::ReadRequest& req) {
  grpc::ClientContext ctx;
  set_deadline(&ctx);
  ReadOutcome out;
  auto reader = stub.Read(&ctx, req);
  v1::ReadResponse resp;
  while (reader->Read(&resp)) {
    out.messages++;
    for (auto& e : *resp.mutable_events()) out.events.push_back(std::move(e));
  }
  out.status = reader->Finish();
  return out;
}

inline v1::ReadRequest read_request(const std::string& stream, uint64_t from = 0, std::optional<uint64_t> to = {},
                                    uint64_t max_count = 0, bool backwards = false) {
  v1::ReadRequest r;
  r.set_stream(stream);
  r.set_from(from);
  if (to) r.set_to(*to);
  r.set_max_count(max_count);
  r.set_backwards(backwards);
  return r;
}

inline std::vector<uint64_t> numbers_of(const std::vector<v1::RecordedEvent>& evs) {
  std::vector<uint64_t> out;
  for (auto& e : evs) out.push_back(e.number());
  return out;
}

inline std::vector<uint64_t> range_of(uint64_t from, uint64_t to_exclusive) { return test::range_of(from, to_exclusive); }

inline Answer<v1::DescribeStreamResponse> describe_stream(v1::Events::Stub& stub, const std::string& stream) {
  v1::DescribeStreamRequest req;
  req.set_stream(stream);
  return unary<v1::DescribeStreamResponse>(
      [&](grpc::ClientContext* c, const v1::DescribeStreamRequest& r, v1::DescribeStreamResponse* o) {
        return stub.DescribeStream(c, r, o);
      },
      req);
}

// The number of events a stream keeps, -1 when it does not exist (or the
// call failed, which the test then reports).
inline int64_t stream_length(v1::Events::Stub& stub, const std::string& stream) {
  auto d = describe_stream(stub, stream);
  if (d.code() == grpc::StatusCode::NOT_FOUND) return -1;
  EXPECT_TRUE(d.ok()) << describe(d.status);
  return d.ok() ? static_cast<int64_t>(d.resp.length()) : -1;
}

inline v1::Position position(v1::Position::Kind kind, uint64_t number = 0) {
  v1::Position p;
  p.set_kind(kind);
  p.set_number(number);
  return p;
}

// --- the fixture ---

class GrpcTest : public ::testing::Test {
 protected:
  // Tests that need another server override this.
  virtual ServerSetup setup() { return {}; }

  void SetUp() override {
    ASSERT_TRUE(h_.start(setup()));
    stub_ = h_.stub();
  }
  void TearDown() override {
    stub_.reset();
    h_.stop();
  }

  v1::Events::Stub& stub() { return *stub_; }

  Harness h_;
  std::unique_ptr<v1::Events::Stub> stub_;
};

}  // namespace redcar::grpctest
