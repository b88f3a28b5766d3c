// Clients of the native API's long-lived calls, for tests: a Subscribe call
// and a Consume member, each read by a thread of its own into what the test
// inspects, so that every wait has a timeout and a test can stop reading
// (pause) without blocking itself. Both cancel their call when destroyed.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "tests/grpc/grpc_test_util.h"

namespace redcar::grpctest {

inline constexpr std::chrono::milliseconds kWaitTimeout{20000};
inline constexpr std::chrono::milliseconds kStreamDeadline{180000};

// One Subscribe call.
class Subscriber {
 public:
  Subscriber(v1::Events::Stub& stub, const v1::SubscribeRequest& req,
             std::chrono::milliseconds deadline = kStreamDeadline) {
    set_deadline(&ctx_, deadline);
    reader_ = stub.Subscribe(&ctx_, req);
    thread_ = std::thread([this] { run(); });
  }
  ~Subscriber() {
    cancel();
    thread_.join();
  }
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  // Stops reading the call after the message being read, if any.
  void pause() {
    std::lock_guard lk(mu_);
    paused_ = true;
  }
  void resume() {
    {
      std::lock_guard lk(mu_);
      paused_ = false;
    }
    cv_.notify_all();
  }
  void cancel() {
    {
      std::lock_guard lk(mu_);
      cancelled_ = true;
    }
    cv_.notify_all();
    ctx_.TryCancel();
  }

  template <typename P>
  bool wait(P pred, std::chrono::milliseconds timeout = kWaitTimeout) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, timeout, [&] { return pred(); });
  }
  bool wait_events(size_t n, std::chrono::milliseconds timeout = kWaitTimeout) {
    return wait([&] { return events_.size() >= n; }, timeout);
  }
  bool wait_stream_events(const std::string& stream, size_t n, std::chrono::milliseconds timeout = kWaitTimeout) {
    return wait([&] { return per_stream_[stream].size() >= n; }, timeout);
  }
  bool wait_caught_up(std::chrono::milliseconds timeout = kWaitTimeout) {
    return wait([&] { return !caught_up_after_.empty(); }, timeout);
  }
  bool wait_end(std::chrono::milliseconds timeout = kWaitTimeout) {
    return wait([&] { return ended_; }, timeout);
  }
  bool wait_caught_up_or_end(std::chrono::milliseconds timeout = kWaitTimeout) {
    return wait([&] { return !caught_up_after_.empty() || ended_; }, timeout);
  }

  size_t count() {
    std::lock_guard lk(mu_);
    return events_.size();
  }
  std::vector<v1::RecordedEvent> events() {
    std::lock_guard lk(mu_);
    return events_;
  }
  std::vector<uint64_t> numbers() {
    std::lock_guard lk(mu_);
    return numbers_of(events_);
  }
  std::map<std::string, std::vector<uint64_t>> per_stream() {
    std::lock_guard lk(mu_);
    return per_stream_;
  }
  // For each message that said caught_up: how many events had arrived with
  // it and before it.
  std::vector<size_t> caught_up_after() {
    std::lock_guard lk(mu_);
    return caught_up_after_;
  }
  size_t messages() {
    std::lock_guard lk(mu_);
    return messages_;
  }
  bool ended() {
    std::lock_guard lk(mu_);
    return ended_;
  }
  grpc::Status status() {
    std::lock_guard lk(mu_);
    return status_;
  }

 private:
  void run() {
    v1::SubscribeResponse m;
    for (;;) {
      {
        std::unique_lock lk(mu_);
        cv_.wait(lk, [&] { return !paused_ || cancelled_; });
      }
      if (!reader_->Read(&m)) break;
      {
        std::lock_guard lk(mu_);
        messages_++;
        for (auto& e : *m.mutable_events()) {
          per_stream_[e.stream()].push_back(e.number());
          events_.push_back(std::move(e));
        }
        if (m.caught_up()) caught_up_after_.push_back(events_.size());
      }
      cv_.notify_all();
    }
    grpc::Status st = reader_->Finish();
    {
      std::lock_guard lk(mu_);
      ended_ = true;
      status_ = st;
    }
    cv_.notify_all();
  }

  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool paused_ = false;
  bool cancelled_ = false;
  bool ended_ = false;
  grpc::Status status_;
  size_t messages_ = 0;
  std::vector<v1::RecordedEvent> events_;
  std::map<std::string, std::vector<uint64_t>> per_stream_;
  std::vector<size_t> caught_up_after_;
  std::thread thread_;
};

inline v1::SubscribeRequest subscribe_stream(const std::string& stream, v1::Position from = {},
                                             std::optional<uint64_t> to = std::nullopt) {
  v1::SubscribeRequest r;
  r.set_stream(stream);
  *r.mutable_from() = from;
  if (to) r.set_to(*to);
  return r;
}

inline v1::SubscribeRequest subscribe_prefix(const std::string& prefix, v1::Position from = {}) {
  v1::SubscribeRequest r;
  r.set_prefix(prefix);
  *r.mutable_from() = from;
  return r;
}

inline v1::SubscribeRequest subscribe_all(v1::Position from = {}) {
  v1::SubscribeRequest r;
  r.set_all(true);
  *r.mutable_from() = from;
  return r;
}

// One member of a consumer group: a Consume call. Deliveries are gathered
// in the order they arrived; every other answer (joined, acked, nacked,
// claimed) is queued for next_reply().
class Member {
 public:
  explicit Member(v1::Events::Stub& stub, std::chrono::milliseconds deadline = kStreamDeadline) {
    set_deadline(&ctx_, deadline);
    stream_ = stub.Consume(&ctx_);
    thread_ = std::thread([this] { run(); });
  }
  ~Member() {
    cancel();
    thread_.join();
  }
  Member(const Member&) = delete;
  Member& operator=(const Member&) = delete;

  struct JoinArgs {
    std::string stream;
    std::string group;
    std::string consumer;
    bool create_group = true;
    v1::Position from;
    uint32_t ack_timeout_ms = 0;
  };

  bool send(const v1::ConsumeRequest& r) {
    std::lock_guard lk(write_mu_);
    return stream_->Write(r);
  }
  bool join(const JoinArgs& a) {
    v1::ConsumeRequest r;
    auto* j = r.mutable_join();
    j->set_stream(a.stream);
    j->set_group(a.group);
    j->set_consumer(a.consumer);
    j->set_create_group(a.create_group);
    *j->mutable_from() = a.from;
    j->set_ack_timeout_ms(a.ack_timeout_ms);
    return send(r);
  }
  bool receive(uint32_t n) {
    v1::ConsumeRequest r;
    r.mutable_receive()->set_count(n);
    granted_ += n;
    return send(r);
  }
  bool ack(const std::vector<uint64_t>& numbers) {
    v1::ConsumeRequest r;
    for (auto n : numbers) r.mutable_ack()->add_numbers(n);
    r.mutable_ack();
    return send(r);
  }
  bool nack(const std::vector<uint64_t>& numbers) {
    v1::ConsumeRequest r;
    for (auto n : numbers) r.mutable_nack()->add_numbers(n);
    r.mutable_nack();
    return send(r);
  }
  bool claim(uint32_t min_idle_ms, uint32_t count = 0) {
    v1::ConsumeRequest r;
    r.mutable_claim()->set_min_idle_ms(min_idle_ms);
    r.mutable_claim()->set_count(count);
    return send(r);
  }
  // Closes the client's side: the member leaves.
  void done() {
    std::lock_guard lk(write_mu_);
    stream_->WritesDone();
  }
  void cancel() { ctx_.TryCancel(); }

  // The next answer that is not a delivery, or nothing within the timeout
  // (or once the call has ended and every answer was taken).
  std::optional<v1::ConsumeResponse> next_reply(std::chrono::milliseconds timeout = kWaitTimeout) {
    std::unique_lock lk(mu_);
    if (!cv_.wait_for(lk, timeout, [&] { return !replies_.empty() || ended_; })) return std::nullopt;
    if (replies_.empty()) return std::nullopt;
    auto r = std::move(replies_.front());
    replies_.pop_front();
    return r;
  }
  // Joins and waits for the answer; the Joined message, or nothing.
  std::optional<v1::ConsumeResponse::Joined> join_and_wait(const JoinArgs& a) {
    if (!join(a)) return std::nullopt;
    auto r = next_reply();
    if (!r || !r->has_joined()) return std::nullopt;
    return r->joined();
  }
  // A round trip (an ack of nothing): what the server sent before its
  // answer has arrived once this returns true.
  bool barrier() {
    if (!ack({})) return false;
    auto r = next_reply();
    return r && r->has_acked() && r->acked().count() == 0;
  }

  bool wait_delivered(size_t n, std::chrono::milliseconds timeout = kWaitTimeout) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, timeout, [&] { return delivered_.size() >= n; });
  }
  bool wait_end(std::chrono::milliseconds timeout = kWaitTimeout) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, timeout, [&] { return ended_; });
  }
  std::vector<v1::GroupEvent> delivered() {
    std::lock_guard lk(mu_);
    return delivered_;
  }
  std::vector<uint64_t> delivered_numbers() {
    std::lock_guard lk(mu_);
    std::vector<uint64_t> out;
    for (auto& g : delivered_) out.push_back(g.event().number());
    return out;
  }
  size_t delivered_count() {
    std::lock_guard lk(mu_);
    return delivered_.size();
  }
  // The credit granted so far.
  uint64_t granted() const { return granted_; }
  grpc::Status status() {
    std::lock_guard lk(mu_);
    return status_;
  }
  bool ended() {
    std::lock_guard lk(mu_);
    return ended_;
  }

 private:
  void run() {
    v1::ConsumeResponse m;
    while (stream_->Read(&m)) {
      {
        std::lock_guard lk(mu_);
        if (m.has_delivery()) {
          for (auto& g : m.delivery().events()) delivered_.push_back(g);
        } else {
          replies_.push_back(m);
        }
      }
      cv_.notify_all();
    }
    grpc::Status st = stream_->Finish();
    {
      std::lock_guard lk(mu_);
      ended_ = true;
      status_ = st;
    }
    cv_.notify_all();
  }

  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::ConsumeRequest, v1::ConsumeResponse>> stream_;
  std::mutex write_mu_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<v1::ConsumeResponse> replies_;
  std::vector<v1::GroupEvent> delivered_;
  std::atomic<uint64_t> granted_{0};
  bool ended_ = false;
  grpc::Status status_;
  std::thread thread_;
};

}  // namespace redcar::grpctest
