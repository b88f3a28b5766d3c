// The etcd and native clients through the driver, against an in-process
// gRPC server that keeps streams and keys in memory: every workload runs
// clean, counts what it moved, and errors from the server are counted.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "driver.h"
#include "etcd/etcdserverpb/rpc.grpc.pb.h"
#include "etcd_client.h"
#include "native_client.h"
#include "options.h"
#include "redcar/v1/events.grpc.pb.h"

namespace redcar::load {
namespace {

namespace v1 = redcar::v1;

class FakeEvents final : public v1::Events::Service {
 public:
  bool fail_appends = false;

  grpc::Status Append(grpc::ServerContext*, const v1::AppendRequest* req, v1::AppendResponse* resp) override {
    if (fail_appends) return {grpc::StatusCode::RESOURCE_EXHAUSTED, "disk full"};
    append(*req, resp);
    return grpc::Status::OK;
  }
  grpc::Status AppendStream(grpc::ServerContext*, grpc::ServerReader<v1::AppendRequest>* reader,
                            v1::AppendStreamResponse* resp) override {
    v1::AppendRequest req;
    while (reader->Read(&req)) {
      append(req, resp->add_results());
      resp->set_appends(resp->appends() + 1);
      resp->set_events(resp->events() + static_cast<uint64_t>(req.events_size()));
    }
    return grpc::Status::OK;
  }
  grpc::Status Read(grpc::ServerContext*, const v1::ReadRequest* req,
                    grpc::ServerWriter<v1::ReadResponse>* writer) override {
    std::vector<v1::RecordedEvent> events;
    {
      std::lock_guard lock(mu_);
      const auto& s = streams_[req->stream()];
      const uint64_t to = req->has_to() ? req->to() : UINT64_MAX;
      for (uint64_t n = req->from(); n < s.size() && n <= to; ++n) events.push_back(s[n]);
    }
    v1::ReadResponse page;
    for (auto& e : events) {
      *page.add_events() = e;
      if (page.events_size() == 64) {
        writer->Write(page);
        page.Clear();
      }
    }
    if (page.events_size() > 0) writer->Write(page);
    return grpc::Status::OK;
  }
  grpc::Status Subscribe(grpc::ServerContext* ctx, const v1::SubscribeRequest* req,
                         grpc::ServerWriter<v1::SubscribeResponse>* writer) override {
    uint64_t next = 0;
    {
      std::lock_guard lock(mu_);
      next = streams_[req->stream()].size();
    }
    v1::SubscribeResponse first;
    first.set_caught_up(true);
    writer->Write(first);
    while (!ctx->IsCancelled()) {
      v1::SubscribeResponse page;
      {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(20));
        const auto& s = streams_[req->stream()];
        for (; next < s.size(); ++next) *page.add_events() = s[next];
      }
      if (page.events_size() > 0 && !writer->Write(page)) break;
    }
    return grpc::Status::OK;
  }
  grpc::Status DescribeStream(grpc::ServerContext*, const v1::DescribeStreamRequest* req,
                              v1::DescribeStreamResponse* resp) override {
    std::lock_guard lock(mu_);
    auto it = streams_.find(req->stream());
    if (it == streams_.end()) return {grpc::StatusCode::NOT_FOUND, "no such stream"};
    resp->set_stream(req->stream());
    resp->set_length(it->second.size());
    resp->set_next_number(it->second.size());
    return grpc::Status::OK;
  }

 private:
  void append(const v1::AppendRequest& req, v1::AppendResponse* resp) {
    std::lock_guard lock(mu_);
    auto& s = streams_[req.stream()];
    resp->set_stream(req.stream());
    resp->set_first_number(s.size());
    for (const auto& e : req.events()) {
      v1::RecordedEvent r;
      r.set_stream(req.stream());
      r.set_number(s.size());
      *r.mutable_event() = e;
      s.push_back(std::move(r));
    }
    resp->set_last_number(s.size() - 1);
    cv_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::vector<v1::RecordedEvent>> streams_;
};

class FakeKV final : public etcdserverpb::KV::Service {
 public:
  grpc::Status Put(grpc::ServerContext*, const etcdserverpb::PutRequest* req, etcdserverpb::PutResponse*) override {
    std::lock_guard lock(mu_);
    kv_[req->key()] = req->value();
    return grpc::Status::OK;
  }
  grpc::Status Range(grpc::ServerContext*, const etcdserverpb::RangeRequest* req,
                     etcdserverpb::RangeResponse* resp) override {
    std::lock_guard lock(mu_);
    auto it = kv_.find(req->key());
    if (it != kv_.end()) {
      auto* kv = resp->add_kvs();
      kv->set_key(it->first);
      kv->set_value(it->second);
    }
    return grpc::Status::OK;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> kv_;
};

class GrpcClients : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(&events_);
    b.RegisterService(&kv_);
    server_ = b.BuildAndStart();
    ASSERT_NE(port_, 0);
  }
  void TearDown() override { server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1)); }

  Options options(const std::vector<std::string>& flags) {
    std::vector<std::string> args = {"redcar-bench", "--addr", "127.0.0.1:" + std::to_string(port_), "-q"};
    args.insert(args.end(), flags.begin(), flags.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    Options o;
    EXPECT_EQ(parse_options(static_cast<int>(argv.size()), argv.data(), &o), -1);
    return o;
  }

  RunResult run(const Options& o, std::unique_ptr<Client> client, std::vector<ExtraLatency>* extra = nullptr) {
    Driver driver({.warmup_s = 0, .ops = o.ops, .max_errors = 0, .drain_s = 5, .progress = false});
    EXPECT_EQ(client->setup(driver), "");
    RunResult r = driver.run(*client);
    if (extra) *extra = client->extra_latencies();
    extra_snapshots_.clear();
    for (const auto& x : client->extra_latencies()) extra_snapshots_.push_back(x.histogram->snapshot());
    return r;
  }

  int port_ = 0;
  FakeEvents events_;
  FakeKV kv_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<Histogram> extra_snapshots_;
};

TEST_F(GrpcClients, EtcdWorkloads) {
  for (const char* w : {"etcd-put", "etcd-range", "etcd-mixed"}) {
    Options o = options({"--target", "redcar-etcd", "-w", w, "-c", "8", "--ops", "500", "--keys", "50"});
    o.addr = "127.0.0.1:" + std::to_string(port_);
    const RunResult r = run(o, make_etcd_client(o));
    EXPECT_EQ(r.ops, 500u) << w;
    EXPECT_EQ(r.errors, 0u) << w;
    EXPECT_EQ(r.bytes, 500u * 100u) << w;
  }
}

TEST_F(GrpcClients, NativeAppendCountsEvents) {
  const Options o = options({"-w", "native-append", "-c", "4", "-b", "10", "-d", "20", "--ops", "100", "--streams", "3"});
  const RunResult r = run(o, make_native_client(o));
  EXPECT_EQ(r.errors, 0u);
  EXPECT_EQ(r.ops, 100u);
  EXPECT_EQ(r.events, 1000u);
  EXPECT_EQ(r.bytes, 20000u);
}

TEST_F(GrpcClients, NativeAppendStream) {
  const Options o =
      options({"-w", "native-append-stream", "-c", "3", "-b", "5", "--appends-per-call", "4", "--ops", "30"});
  const RunResult r = run(o, make_native_client(o));
  EXPECT_EQ(r.errors, 0u);
  EXPECT_EQ(r.ops, 30u);
  EXPECT_EQ(r.events, 30u * 4u * 5u);
}

TEST_F(GrpcClients, PublishToDeliveryReachesEverySubscriber) {
  const Options o = options({"-w", "publish-to-delivery", "-c", "2", "-b", "3", "--subscribers", "4", "--ops", "50"});
  const RunResult r = run(o, make_native_client(o));
  EXPECT_EQ(r.errors, 0u) << (r.error_counts.empty() ? "" : r.error_counts.begin()->first);
  EXPECT_EQ(r.events, 150u);
  ASSERT_EQ(extra_snapshots_.size(), 1u);
  EXPECT_EQ(extra_snapshots_[0].count(), 150u * 4u);
}

TEST_F(GrpcClients, CatchUpReadFillsTheStreamOnceAndReadsRanges) {
  Options o = options({"-w", "catch-up-read", "-c", "2", "--prefill", "1000", "--read-count", "100", "--ops", "25"});
  RunResult r = run(o, make_native_client(o));
  EXPECT_EQ(r.errors, 0u) << (r.error_counts.empty() ? "" : r.error_counts.begin()->first);
  EXPECT_EQ(r.events, 2500u);
  EXPECT_EQ(r.bytes, 250000u);
  // A second run finds the stream written and reads it as it is.
  r = run(o, make_native_client(o));
  EXPECT_EQ(r.errors, 0u);
  EXPECT_EQ(r.events, 2500u);
}

TEST_F(GrpcClients, ServerErrorsAreCountedWithTheirStatus) {
  events_.fail_appends = true;
  const Options o = options({"-w", "native-append", "-c", "2", "--ops", "10"});
  const RunResult r = run(o, make_native_client(o));
  EXPECT_EQ(r.errors, 10u);
  EXPECT_EQ(r.error_counts.begin()->first, "Append: RESOURCE_EXHAUSTED: disk full");
  EXPECT_EQ(r.events, 0u);
}

}  // namespace
}  // namespace redcar::load
