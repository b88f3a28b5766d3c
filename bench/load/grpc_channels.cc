// Channels, status text and the bounded parallel runner (grpc_channels.h).
#include "grpc_channels.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace redcar::load {

std::string make_channels(const Options& o, int timeout_ms, std::vector<std::shared_ptr<grpc::Channel>>* out) {
  for (int i = 0; i < o.channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("redcar-bench.channel", i);
    // No retries: a failed call is an error to count, not one to hide. The
    // minimal filter stack (no deadline or size filters, which these calls
    // do not use) takes ~10% off the client's CPU per call.
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    args.SetInt(GRPC_ARG_MINIMAL_STACK, 1);
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    out->push_back(grpc::CreateCustomChannel(o.addr, grpc::InsecureChannelCredentials(), args));
  }
  const auto deadline = std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (auto& ch : *out) {
    if (!ch->WaitForConnected(deadline)) return "cannot connect to " + o.addr + " (gRPC)";
  }
  return {};
}

std::string status_text(const grpc::Status& s) {
  static const char* const names[] = {"OK",
                                      "CANCELLED",
                                      "UNKNOWN",
                                      "INVALID_ARGUMENT",
                                      "DEADLINE_EXCEEDED",
                                      "NOT_FOUND",
                                      "ALREADY_EXISTS",
                                      "PERMISSION_DENIED",
                                      "RESOURCE_EXHAUSTED",
                                      "FAILED_PRECONDITION",
                                      "ABORTED",
                                      "OUT_OF_RANGE",
                                      "UNIMPLEMENTED",
                                      "INTERNAL",
                                      "UNAVAILABLE",
                                      "DATA_LOSS",
                                      "UNAUTHENTICATED"};
  const int code = static_cast<int>(s.error_code());
  std::string name = code >= 0 && code <= 16 ? names[code] : "code " + std::to_string(code);
  if (s.error_message().empty()) return name;
  return name + ": " + s.error_message();
}

std::string run_parallel(uint64_t count, int concurrency, const ParallelCall& call) {
  // Each lane runs calls one after another until none is left; the state
  // lives as long as the last completion that holds it.
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    uint64_t lanes_done = 0;
    std::string first_error;
    std::atomic<uint64_t> next{0};
    std::function<void()> start_next;
  };
  if (count == 0) return {};
  const uint64_t lanes = std::min<uint64_t>(count, static_cast<uint64_t>(std::max(1, concurrency)));
  auto st = std::make_shared<State>();
  std::weak_ptr<State> weak = st;
  st->start_next = [weak, count, lanes, &call]() {
    std::shared_ptr<State> s = weak.lock();
    if (!s) return;
    const uint64_t i = s->next.fetch_add(1);
    if (i >= count) {
      std::lock_guard lock(s->mu);
      if (++s->lanes_done == lanes) s->cv.notify_all();
      return;
    }
    call(i, [s](std::string err) {
      if (!err.empty()) {
        std::lock_guard lock(s->mu);
        if (s->first_error.empty()) s->first_error = std::move(err);
      }
      s->start_next();
    });
  };
  for (uint64_t l = 0; l < lanes; ++l) st->start_next();
  std::unique_lock lock(st->mu);
  st->cv.wait(lock, [&] { return st->lanes_done == lanes; });
  return st->first_error;
}

}  // namespace redcar::load
