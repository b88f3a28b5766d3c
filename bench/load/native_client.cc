// redcar.v1.Events calls with the grpc++ callback API (native_client.h).
#include "native_client.h"

#include <atomic>
#include <cstdio>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "clock.h"
#include "grpc_channels.h"
#include "redcar/v1/events.grpc.pb.h"

#include <grpcpp/generic/generic_stub.h>

namespace redcar::load {
namespace {

namespace v1 = redcar::v1;
using io::cloudevents::v1::CloudEvent;

constexpr int kConnectTimeoutMs = 10'000;
constexpr int kCaughtUpTimeoutMs = 30'000;
constexpr int kStopTimeoutMs = 5'000;
constexpr int kPrefillConcurrency = 16;
constexpr int kPrefillBatch = 100;
constexpr size_t kIdHexDigits = 16;

uint64_t next_random(uint64_t& s) {
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  return s * 2685821657736338717ull;
}

void write_hex(char* out, uint64_t v) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < kIdHexDigits; ++i) out[kIdHexDigits - 1 - i] = digits[(v >> (4 * i)) & 15];
}

// Events of a request, made once per slot and given fresh ids (and send
// times) before each send, so that sending allocates nothing new.
class EventBatch {
 public:
  EventBatch(const std::string& id_prefix, int batch, int value_bytes, const std::string& ids = "all") {
    for (int i = 0; i < batch; ++i) {
      CloudEvent* e = req_.add_events();
      if (ids == "all" || (ids == "first" && i == 0)) e->set_id(id_prefix + std::string(kIdHexDigits, '0'));
      e->set_source("redcar-bench");
      e->set_spec_version("1.0");
      e->set_type("bench");
      e->set_binary_data(std::string(static_cast<size_t>(value_bytes), 'v'));
    }
  }
  v1::AppendRequest& request() { return req_; }
  // Ids first_id, first_id + 1, ...; the send time into each event's data.
  void stamp(uint64_t first_id, int64_t send_ns, bool with_time) {
    for (int i = 0; i < req_.events_size(); ++i) {
      CloudEvent* e = req_.mutable_events(i);
      if (!e->id().empty()) {
        std::string* id = e->mutable_id();
        write_hex(id->data() + id->size() - kIdHexDigits, first_id + static_cast<uint64_t>(i));
      }
      if (with_time) std::memcpy(e->mutable_binary_data()->data(), &send_ns, sizeof send_ns);
    }
  }
  uint64_t payload_bytes() const {
    uint64_t n = 0;
    for (const auto& e : req_.events()) n += e.binary_data().size();
    return n;
  }

 private:
  v1::AppendRequest req_;
};

class NativeClient;

// One live subscriber of publish-to-delivery.
class Subscriber final : public grpc::ClientReadReactor<v1::SubscribeResponse> {
 public:
  Subscriber(NativeClient* owner, v1::Events::Stub* stub, const std::string& stream);
  void start();
  void cancel() { ctx_.TryCancel(); }
  bool caught_up() const { return caught_up_.load(); }
  bool finished() const { return finished_.load(); }

  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  NativeClient* owner_;
  v1::Events::Stub* stub_;
  grpc::ClientContext ctx_;
  v1::SubscribeRequest req_;
  v1::SubscribeResponse resp_;
  uint64_t next_number_ = 0;
  std::atomic<bool> caught_up_{false};
  std::atomic<bool> finished_{false};
};

struct AppendSlot {
  std::optional<grpc::ClientContext> ctx;
  std::optional<EventBatch> batch;
  v1::AppendResponse resp;
  v1::Events::Stub* stub = nullptr;
  uint64_t rng = 0;
  std::string error;
  std::atomic<bool> in_flight{false};
};

class NativeClient final : public Client {
 public:
  enum class Kind { kAppend, kAppendStream, kPublish, kRead };

  explicit NativeClient(const Options& o) : o_(o) {
    kind_ = o.workload == "native-append-stream" ? Kind::kAppendStream
            : o.workload == "publish-to-delivery" ? Kind::kPublish
            : o.workload == "catch-up-read"       ? Kind::kRead
                                                  : Kind::kAppend;
    std::random_device rd;
    nonce_ = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(now_ns());
    char hex[kIdHexDigits + 1] = {};
    write_hex(hex, nonce_);
    id_prefix_ = std::string(hex) + "-";
  }

  int slots() const override { return o_.clients; }

  std::string setup(Sink& sink) override {
    sink_ = &sink;
    if (std::string e = make_channels(o_, kConnectTimeoutMs, &channels_); !e.empty()) return e;
    for (auto& ch : channels_) {
      stubs_.push_back(v1::Events::NewStub(ch));
      generic_stubs_.push_back(std::make_unique<grpc::GenericStub>(ch));
    }
    for (int i = 0; i < o_.clients; ++i) {
      auto s = std::make_unique<AppendSlot>();
      s->stub = stub_for(static_cast<uint64_t>(i));
      s->rng = 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(i + 1);
      if (kind_ != Kind::kRead) s->batch.emplace(id_prefix_, o_.batch, o_.value_bytes, o_.event_ids);
      slots_.push_back(std::move(s));
    }
    if (kind_ == Kind::kPublish) return start_subscribers();
    if (kind_ == Kind::kRead) return prepare_read();
    return {};
  }

  void issue(int slot, int64_t start_ns) override {
    switch (kind_) {
      case Kind::kAppend:
      case Kind::kPublish:
        return append(slot, start_ns);
      case Kind::kAppendStream:
        return append_stream(slot, start_ns);
      case Kind::kRead:
        return read(slot);
    }
  }

  void drain(int timeout_ms) override {
    if (kind_ != Kind::kPublish) return;
    const uint64_t expected = appended_events_.load() * static_cast<uint64_t>(subscribers_.size());
    const int64_t deadline = now_ns() + int64_t{timeout_ms} * 1'000'000;
    while (delivered_.load() < expected && now_ns() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    const uint64_t got = delivered_.load();
    if (got < expected) {
      sink_->error(std::to_string(expected - got) + " of " + std::to_string(expected) +
                   " deliveries missing " + std::to_string(timeout_ms / 1000) + " s after the last append");
    }
  }

  void stop() override {
    stopping_.store(true);
    for (auto& s : slots_) {
      if (s->in_flight.load() && s->ctx) s->ctx->TryCancel();
    }
    for (auto& sub : subscribers_) sub->cancel();
    // Normally all is idle here; after an aborted run, give the cancelled
    // calls a while to come back and leave the rest to the exit.
    const int64_t deadline = now_ns() + int64_t{kStopTimeoutMs} * 1'000'000;
    auto idle = [&] {
      for (auto& s : slots_) {
        if (s->in_flight.load()) return false;
      }
      for (auto& sub : subscribers_) {
        if (!sub->finished()) return false;
      }
      return calls_in_flight_.load() == 0;
    };
    while (!idle() && now_ns() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (!idle()) std::fprintf(stderr, "redcar-bench: calls still outstanding at exit\n");
  }

  std::vector<ExtraLatency> extra_latencies() const override {
    if (kind_ != Kind::kPublish) return {};
    return {{"delivery", &delivery_}};
  }

  std::vector<std::pair<std::string, std::string>> facts() const override { return facts_; }

  // Called by subscribers.
  void delivered(const v1::RecordedEvent& e, uint64_t* next_number) {
    const int64_t t = now_ns();
    if (e.number() != *next_number) {
      sink_->error(e.number() > *next_number ? "subscriber: a gap in event numbers"
                                             : "subscriber: an event delivered twice");
    }
    *next_number = e.number() + 1;
    const std::string& data = e.event().binary_data();
    if (data.size() < sizeof(int64_t)) {
      sink_->error("subscriber: an event without its send time");
    } else {
      int64_t sent = 0;
      std::memcpy(&sent, data.data(), sizeof sent);
      if (sink_->measured(sent)) delivery_.record(static_cast<uint64_t>(std::max<int64_t>(0, t - sent)));
    }
    delivered_.fetch_add(1, std::memory_order_relaxed);
  }
  void subscriber_ended(const grpc::Status& st) {
    if (!stopping_.load()) sink_->error("Subscribe ended: " + status_text(st));
  }
  void calls_started() { calls_in_flight_.fetch_add(1); }
  void calls_ended() { calls_in_flight_.fetch_sub(1); }
  Sink* sink() { return sink_; }
  const Options& options() const { return o_; }
  uint64_t take_ids(uint64_t n) { return next_id_.fetch_add(n); }

 private:
  class StreamCall;
  class ReadCall;

  v1::Events::Stub* stub_for(uint64_t i) { return stubs_[i % stubs_.size()].get(); }

  std::string stream_for(AppendSlot& s) {
    if (kind_ == Kind::kPublish) return publish_stream_;
    const uint64_t n = o_.streams > 1 ? next_random(s.rng) % static_cast<uint64_t>(o_.streams) : 0;
    return o_.prefix + "stream-" + std::to_string(n);
  }

  void append(int slot, int64_t start_ns) {
    AppendSlot& s = *slots_[static_cast<size_t>(slot)];
    s.ctx.emplace();
    s.in_flight.store(true);
    s.batch->stamp(take_ids(static_cast<uint64_t>(o_.batch)), start_ns, kind_ == Kind::kPublish);
    s.batch->request().set_stream(stream_for(s));
    s.stub->async()->Append(&*s.ctx, &s.batch->request(), &s.resp,
                            [this, slot](grpc::Status st) { append_done(slot, st); });
  }

  void append_done(int slot, const grpc::Status& st) {
    AppendSlot& s = *slots_[static_cast<size_t>(slot)];
    OpResult r;
    r.events = static_cast<uint64_t>(o_.batch);
    if (!st.ok()) {
      s.error = "Append: " + status_text(st);
    } else if (s.resp.duplicate()) {
      s.error = "Append: answered as a duplicate";
    } else if (s.resp.last_number() - s.resp.first_number() + 1 != static_cast<uint64_t>(o_.batch)) {
      s.error = "Append: numbers " + std::to_string(s.resp.first_number()) + ".." +
                std::to_string(s.resp.last_number()) + " for " + std::to_string(o_.batch) + " events";
    } else {
      s.error.clear();
      r.bytes = s.batch->payload_bytes();
      appended_events_.fetch_add(r.events, std::memory_order_relaxed);
    }
    if (!s.error.empty()) {
      r.ok = false;
      r.events = 0;
      r.error = s.error;
    }
    s.in_flight.store(false);
    sink_->done(slot, r);
  }

  void append_stream(int slot, int64_t start_ns);
  void read(int slot);

  std::string start_subscribers() {
    publish_stream_ = o_.prefix + "p2d-" + id_prefix_.substr(0, kIdHexDigits);
    for (int i = 0; i < o_.subscribers; ++i) {
      subscribers_.push_back(std::make_unique<Subscriber>(this, stub_for(static_cast<uint64_t>(i)), publish_stream_));
    }
    for (auto& sub : subscribers_) sub->start();
    const int64_t deadline = now_ns() + int64_t{kCaughtUpTimeoutMs} * 1'000'000;
    for (auto& sub : subscribers_) {
      while (!sub->caught_up() && !sub->finished() && now_ns() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      if (!sub->caught_up()) return "a subscriber did not catch up on " + publish_stream_;
    }
    facts_.emplace_back("stream", publish_stream_ + ", " + std::to_string(o_.subscribers) + " live subscriber(s)");
    return {};
  }

  std::string prepare_read() {
    read_stream_ = o_.prefix + "catchup";
    auto describe = [&](v1::DescribeStreamResponse* resp) -> grpc::Status {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
      v1::DescribeStreamRequest req;
      req.set_stream(read_stream_);
      return stubs_[0]->DescribeStream(&ctx, req, resp);
    };
    v1::DescribeStreamResponse d;
    grpc::Status st = describe(&d);
    if (!st.ok() && st.error_code() != grpc::StatusCode::NOT_FOUND) return "DescribeStream: " + status_text(st);
    const uint64_t have = st.ok() ? d.length() : 0;
    if (have < o_.prefill) {
      const uint64_t missing = o_.prefill - have;
      const uint64_t calls = (missing + kPrefillBatch - 1) / kPrefillBatch;
      std::string e = run_parallel(calls, kPrefillConcurrency, [&](uint64_t i, auto done) {
        struct Call {
          Call(const std::string& p, int n, int bytes) : batch(p, n, bytes) {}
          grpc::ClientContext ctx;
          EventBatch batch;
          v1::AppendResponse resp;
        };
        const uint64_t n = std::min<uint64_t>(kPrefillBatch, missing - i * kPrefillBatch);
        auto* c = new Call(id_prefix_, static_cast<int>(n), o_.value_bytes);
        c->batch.stamp(take_ids(n), 0, false);
        c->batch.request().set_stream(read_stream_);
        stub_for(i)->async()->Append(&c->ctx, &c->batch.request(), &c->resp, [c, done](grpc::Status s) {
          done(s.ok() ? std::string() : "prefill Append: " + status_text(s));
          delete c;
        });
      });
      if (!e.empty()) return e;
      st = describe(&d);
      if (!st.ok()) return "DescribeStream: " + status_text(st);
    }
    if (d.length() < static_cast<uint64_t>(o_.read_count)) {
      return read_stream_ + " holds " + std::to_string(d.length()) + " events, fewer than --read-count";
    }
    read_first_ = d.first_number();
    read_ranges_ = d.length() / static_cast<uint64_t>(o_.read_count);
    facts_.emplace_back("stream", read_stream_ + ": " + std::to_string(d.length()) + " events, " +
                                      std::to_string(d.bytes()) + " bytes (" +
                                      std::to_string(have >= o_.prefill ? 0 : o_.prefill - have) + " written now)");
    return {};
  }

  const Options o_;
  Kind kind_;
  uint64_t nonce_ = 0;
  std::string id_prefix_;
  std::atomic<uint64_t> next_id_{0};
  Sink* sink_ = nullptr;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<v1::Events::Stub>> stubs_;
  std::vector<std::unique_ptr<grpc::GenericStub>> generic_stubs_;  // Read, raw
  std::vector<std::unique_ptr<AppendSlot>> slots_;
  std::atomic<int> calls_in_flight_{0};
  std::atomic<bool> stopping_{false};

  std::string publish_stream_;
  std::vector<std::unique_ptr<Subscriber>> subscribers_;
  AtomicHistogram delivery_;
  std::atomic<uint64_t> appended_events_{0};
  std::atomic<uint64_t> delivered_{0};

  std::string read_stream_;
  uint64_t read_first_ = 0;
  uint64_t read_ranges_ = 1;
  std::atomic<uint64_t> next_range_{0};

  std::vector<std::pair<std::string, std::string>> facts_;
};

// One AppendStream call: --appends-per-call writes of the slot's batch, each
// with fresh ids, then the close and the answer.
class NativeClient::StreamCall final : public grpc::ClientWriteReactor<v1::AppendRequest> {
 public:
  StreamCall(NativeClient* owner, int slot, AppendSlot* s, int64_t start_ns)
      : owner_(owner), slot_(slot), s_(s), start_ns_(start_ns) {}

  void start(const std::string& stream) {
    s_->batch->request().set_stream(stream);
    stamp();
    owner_->calls_started();
    s_->stub->async()->AppendStream(&ctx_, &resp_, this);
    StartWrite(&s_->batch->request());
    StartCall();
  }
  void OnWriteDone(bool ok) override {
    if (!ok) return;  // the call failed; OnDone says why
    if (++written_ < owner_->options().appends_per_call) {
      stamp();
      StartWrite(&s_->batch->request());
    } else {
      StartWritesDone();
    }
  }
  void OnDone(const grpc::Status& st) override {
    const Options& o = owner_->options();
    const auto appends = static_cast<uint64_t>(o.appends_per_call);
    OpResult r;
    r.events = appends * static_cast<uint64_t>(o.batch);
    r.bytes = appends * s_->batch->payload_bytes();
    if (!st.ok()) {
      s_->error = "AppendStream: " + status_text(st);
    } else if (resp_.appends() != appends || resp_.events() != r.events) {
      s_->error = "AppendStream: " + std::to_string(resp_.appends()) + " appends of " +
                  std::to_string(resp_.events()) + " events acknowledged, " + std::to_string(appends) + " sent";
    }
    if (!s_->error.empty()) {
      r.ok = false;
      r.events = 0;
      r.bytes = 0;
      r.error = s_->error;
    }
    NativeClient* owner = owner_;
    const int slot = slot_;
    AppendSlot* s = s_;
    s->in_flight.store(false);
    owner->sink()->done(slot, r);
    // The context holds the channel: it must go before the client may, or
    // the channel's last reference would drop on grpc's own completion
    // thread, which then tears down the queue it is polling.
    delete this;
    owner->calls_ended();
  }

 private:
  void stamp() { s_->batch->stamp(owner_->take_ids(static_cast<uint64_t>(owner_->options().batch)), start_ns_, false); }

  NativeClient* owner_;
  int slot_;
  AppendSlot* s_;
  int64_t start_ns_;
  int written_ = 0;
  grpc::ClientContext ctx_;
  v1::AppendStreamResponse resp_;
};

void NativeClient::append_stream(int slot, int64_t start_ns) {
  AppendSlot& s = *slots_[static_cast<size_t>(slot)];
  s.error.clear();
  s.ctx.reset();
  s.in_flight.store(true);
  auto* call = new StreamCall(this, slot, &s, start_ns);
  call->start(stream_for(s));
}

// Protobuf's wire format read in place: a field's number and wire type, and
// its value (varint) or its bytes (length-delimited), without copying.
class WireFields {
 public:
  WireFields(const uint8_t* p, size_t n) : p_(p), end_(p + n) {}
  // False at the end, or (with bad()) on a malformed field.
  bool next(uint32_t* field, uint64_t* value, const uint8_t** bytes, size_t* len) {
    if (p_ == end_) return false;
    uint64_t tag;
    if (!varint(&tag)) return fail();
    *field = static_cast<uint32_t>(tag >> 3);
    switch (tag & 7) {
      case 0: return varint(value) || fail();
      case 1: return skip(8);
      case 5: return skip(4);
      case 2: {
        uint64_t n;
        if (!varint(&n) || n > static_cast<uint64_t>(end_ - p_)) return fail();
        *bytes = p_;
        *len = static_cast<size_t>(n);
        p_ += n;
        return true;
      }
      default: return fail();
    }
  }
  bool bad() const { return bad_; }

 private:
  bool varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64 && p_ < end_; shift += 7) {
      uint8_t b = *p_++;
      *v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  bool skip(size_t n) {
    if (n > static_cast<size_t>(end_ - p_)) return fail();
    p_ += n;
    return true;
  }
  bool fail() {
    bad_ = true;
    return false;
  }
  const uint8_t* p_;
  const uint8_t* end_;
  bool bad_ = false;
};

// One Read call of a range, counted event by event as its pages arrive. The
// pages are walked in their wire form (each event's number checked, its
// data's size counted) rather than parsed: a full parse copies every
// event's data into a string, and with pages of 1,000 events of 16 KB that
// held this client at a whole core below the server's rate (the catch-up
// row measured the client). Read is server-streaming; a generic call sends
// its one request and half-closes, which is the same on the wire.
class NativeClient::ReadCall final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  ReadCall(NativeClient* owner, int slot, uint64_t from, uint64_t count)
      : owner_(owner), slot_(slot), from_(from), count_(count) {}

  void start(grpc::GenericStub* stub, const std::string& stream) {
    v1::ReadRequest req;
    req.set_stream(stream);
    req.set_from(from_);
    req.set_to(from_ + count_ - 1);
    req.set_max_count(count_);
    bool own = false;
    grpc::SerializationTraits<v1::ReadRequest>::Serialize(req, &req_, &own);
    owner_->calls_started();
    stub->PrepareBidiStreamingCall(&ctx_, "/redcar.v1.Events/Read", grpc::StubOptions(), this);
    StartWriteLast(&req_, grpc::WriteOptions());
    StartRead(&resp_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    grpc::Slice page;
    if (!resp_.DumpToSingleSlice(&page).ok()) {
      if (error_.empty()) error_ = "Read: a page that cannot be read";
    } else {
      count_page(page.begin(), page.size());
    }
    StartRead(&resp_);
  }
  void OnDone(const grpc::Status& st) override {
    OpResult r;
    r.events = events_;
    r.bytes = bytes_;
    if (!st.ok()) {
      error_ = "Read: " + status_text(st);
    } else if (error_.empty() && events_ != count_) {
      error_ = "Read: " + std::to_string(events_) + " events, expected " + std::to_string(count_);
    }
    if (!error_.empty()) {
      r.ok = false;
      r.error = error_;
    }
    NativeClient* owner = owner_;
    owner->sink()->done(slot_, r);
    delete this;
    owner->calls_ended();
  }

 private:
  // ReadResponse: events = 1 (RecordedEvent: number = 2, event = 3);
  // CloudEvent: binary_data = 6, text_data = 7.
  void count_page(const uint8_t* p, size_t n) {
    WireFields page(p, n);
    uint32_t field;
    uint64_t value;
    const uint8_t* bytes = nullptr;
    size_t len = 0;
    while (page.next(&field, &value, &bytes, &len)) {
      if (field != 1) continue;
      WireFields event(bytes, len);
      uint64_t number = 0, data = 0;  // proto3 leaves zeros out
      const uint8_t* inner = nullptr;
      size_t inner_len = 0;
      while (event.next(&field, &value, &inner, &inner_len)) {
        if (field == 2) number = value;
        if (field != 3) continue;
        WireFields ce(inner, inner_len);
        const uint8_t* d = nullptr;
        size_t dn = 0;
        while (ce.next(&field, &value, &d, &dn)) {
          if (field == 6 || field == 7) data = dn;
        }
        if (ce.bad()) return fail("Read: a malformed event");
      }
      if (event.bad()) return fail("Read: a malformed event");
      if (number != from_ + events_) return fail("Read: events out of order");
      ++events_;
      bytes_ += data;
    }
    if (page.bad()) fail("Read: a malformed page");
  }
  void fail(const char* why) {
    if (error_.empty()) error_ = why;
  }

  NativeClient* owner_;
  int slot_;
  uint64_t from_, count_;
  uint64_t events_ = 0, bytes_ = 0;
  std::string error_;
  grpc::ClientContext ctx_;
  grpc::ByteBuffer req_;
  grpc::ByteBuffer resp_;
};

void NativeClient::read(int slot) {
  const uint64_t range = next_range_.fetch_add(1, std::memory_order_relaxed) % read_ranges_;
  const auto count = static_cast<uint64_t>(o_.read_count);
  auto* call = new ReadCall(this, slot, read_first_ + range * count, count);
  call->start(generic_stubs_[static_cast<uint64_t>(slot) % generic_stubs_.size()].get(), read_stream_);
}

Subscriber::Subscriber(NativeClient* owner, v1::Events::Stub* stub, const std::string& stream)
    : owner_(owner), stub_(stub) {
  req_.set_stream(stream);
  req_.mutable_from()->set_kind(v1::Position::END);
}

void Subscriber::start() {
  stub_->async()->Subscribe(&ctx_, &req_, this);
  StartRead(&resp_);
  StartCall();
}

void Subscriber::OnReadDone(bool ok) {
  if (!ok) return;
  for (const auto& e : resp_.events()) owner_->delivered(e, &next_number_);
  if (resp_.caught_up()) caught_up_.store(true);
  StartRead(&resp_);
}

void Subscriber::OnDone(const grpc::Status& status) {
  owner_->subscriber_ended(status);
  finished_.store(true);
}

}  // namespace

std::unique_ptr<Client> make_native_client(const Options& options) { return std::make_unique<NativeClient>(options); }

}  // namespace redcar::load
