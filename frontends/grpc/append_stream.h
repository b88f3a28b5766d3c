// AppendStream: many appends on one client-streaming call. Up to
// kMaxAppendsInFlight appends are in the engine at once (a request is read
// only while fewer are), each handed to its stream's shard in the order
// received, so appends to one stream keep their order. The call is answered
// once the client has closed its side and every append is durable; the
// first failure ends it with that failure's status, after the appends
// already in flight have finished, and "redcar-appended" says how many
// requests were applied.
#pragma once

#include <mutex>

#include "frontends/grpc/event_requests.h"
#include "redcar/v1/events.grpc.pb.h"

namespace redcar::grpcfe {

inline constexpr size_t kMaxAppendsInFlight = 16;
inline constexpr const char* kAppendedKey = "redcar-appended";

class AppendStreamReactor final : public grpc::ServerReadReactor<::redcar::v1::AppendRequest> {
 public:
  AppendStreamReactor(ServiceContext& ctx, grpc::CallbackServerContext* call, ::redcar::v1::AppendStreamResponse* resp);

  void OnReadDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  void completed(size_t index, Result<AppendResult> r, std::string stream);
  // With mu_ held: starts the next read or finishes, whichever is due. The
  // grpc call is made after the lock is dropped.
  enum class Next { kNothing, kRead, kFinish };
  Next next_locked();
  void act(Next n);

  ServiceContext& ctx_;
  grpc::CallbackServerContext* call_;
  ::redcar::v1::AppendStreamResponse* resp_;
  ::redcar::v1::AppendRequest req_;
  std::mutex mu_;
  size_t in_flight_ = 0;
  size_t received_ = 0;
  size_t applied_ = 0;
  bool reading_ = false;
  bool client_done_ = false;
  bool finished_ = false;
  // The earliest failed request: its index, status, and for a wrong
  // expected version its stream's actual version, sent as trailing metadata
  // when the call ends (by then no later failure can replace it).
  struct Failure {
    size_t index;
    grpc::Status status;
    std::optional<int64_t> actual_version;
  };
  std::optional<Failure> failure_;
  std::vector<std::optional<::redcar::v1::AppendResponse>> results_;
};

}  // namespace redcar::grpcfe
