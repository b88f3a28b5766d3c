// etcd v3 KV calls with the grpc++ callback API (etcd_client.h).
#include "etcd_client.h"

#include <atomic>
#include <optional>
#include <thread>

#include "etcd/etcdserverpb/rpc.grpc.pb.h"
#include "grpc_channels.h"

namespace redcar::load {
namespace {

constexpr int kConnectTimeoutMs = 10'000;
constexpr int kPrefillConcurrency = 64;

uint64_t next_random(uint64_t& s) {
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  return s * 2685821657736338717ull;
}

struct Slot {
  std::optional<grpc::ClientContext> ctx;
  etcdserverpb::PutRequest put;
  etcdserverpb::PutResponse put_resp;
  etcdserverpb::RangeRequest range;
  etcdserverpb::RangeResponse range_resp;
  etcdserverpb::KV::Stub* stub = nullptr;
  uint64_t rng = 0;
  bool is_read = false;
  std::string error;
  std::atomic<bool> in_flight{false};
};

class EtcdClient final : public Client {
 public:
  explicit EtcdClient(const Options& o) : o_(o), value_(static_cast<size_t>(o.value_bytes), 'v') {}

  int slots() const override { return o_.clients; }

  std::string setup(Sink& sink) override {
    sink_ = &sink;
    if (std::string e = make_channels(o_, kConnectTimeoutMs, &channels_); !e.empty()) return e;
    for (auto& ch : channels_) stubs_.push_back(etcdserverpb::KV::NewStub(ch));
    slots_.reserve(static_cast<size_t>(o_.clients));
    for (int i = 0; i < o_.clients; ++i) {
      auto s = std::make_unique<Slot>();
      s->stub = stubs_[static_cast<size_t>(i) % stubs_.size()].get();
      s->rng = 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(i + 1);
      s->put.set_value(value_);
      slots_.push_back(std::move(s));
    }
    read_share_ = o_.workload == "etcd-range" ? 1.0 : o_.workload == "etcd-mixed" ? o_.mix : 0.0;
    if (o_.prefill > 0) {
      std::string e = run_parallel(o_.prefill, kPrefillConcurrency, [this](uint64_t i, auto done) {
        struct Call {
          grpc::ClientContext ctx;
          etcdserverpb::PutRequest req;
          etcdserverpb::PutResponse resp;
        };
        auto* c = new Call;
        c->req.set_key(key_name(i));
        c->req.set_value(value_);
        stubs_[i % stubs_.size()]->async()->Put(&c->ctx, &c->req, &c->resp, [c, done](grpc::Status st) {
          done(st.ok() ? std::string() : "prefill Put: " + status_text(st));
          delete c;
        });
      });
      if (!e.empty()) return e;
      facts_.emplace_back("prefill", std::to_string(o_.prefill) + " keys written");
    }
    return {};
  }

  void issue(int slot, int64_t /*start_ns*/) override {
    Slot& s = *slots_[static_cast<size_t>(slot)];
    s.ctx.emplace();
    s.in_flight.store(true);
    const uint64_t r = next_random(s.rng);
    s.is_read = read_share_ >= 1.0 || (read_share_ > 0 && static_cast<double>(r >> 11) * 0x1.0p-53 < read_share_);
    const uint64_t key = next_random(s.rng) % o_.keys;
    if (s.is_read) {
      set_key(s.range.mutable_key(), key);
      s.stub->async()->Range(&*s.ctx, &s.range, &s.range_resp,
                             [this, slot](grpc::Status st) { finish(slot, st); });
    } else {
      set_key(s.put.mutable_key(), key);
      s.stub->async()->Put(&*s.ctx, &s.put, &s.put_resp, [this, slot](grpc::Status st) { finish(slot, st); });
    }
  }

  void stop() override {
    // Normally nothing is in flight here; after an aborted run, cancel what
    // is and wait for it to come back.
    for (auto& s : slots_) {
      if (s->in_flight.load() && s->ctx) s->ctx->TryCancel();
    }
    for (auto& s : slots_) {
      while (s->in_flight.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  std::vector<std::pair<std::string, std::string>> facts() const override { return facts_; }

 private:
  std::string key_name(uint64_t n) const { return o_.prefix + "key-" + std::to_string(n); }
  void set_key(std::string* out, uint64_t n) const {
    out->assign(o_.prefix);
    out->append("key-");
    out->append(std::to_string(n));
  }

  void finish(int slot, const grpc::Status& st) {
    Slot& s = *slots_[static_cast<size_t>(slot)];
    OpResult r;
    if (!st.ok()) {
      s.error = (s.is_read ? "Range: " : "Put: ") + status_text(st);
      r.ok = false;
      r.error = s.error;
    } else if (s.is_read) {
      if (s.range_resp.kvs_size() != 1) {
        s.error = "Range: " + std::to_string(s.range_resp.kvs_size()) + " keys, expected 1";
        r.ok = false;
        r.error = s.error;
      } else {
        r.bytes = s.range_resp.kvs(0).value().size();
      }
    } else {
      r.bytes = value_.size();
    }
    s.in_flight.store(false);
    sink_->done(slot, r);
  }

  const Options o_;
  const std::string value_;
  double read_share_ = 0;
  Sink* sink_ = nullptr;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<etcdserverpb::KV::Stub>> stubs_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<std::pair<std::string, std::string>> facts_;
};

}  // namespace

std::unique_ptr<Client> make_etcd_client(const Options& options) { return std::make_unique<EtcdClient>(options); }

}  // namespace redcar::load
