// What the native API's requests mean to the engine: an AppendRequest
// checked and turned into events and options, a Position into where a
// subscription or a group starts, and the trailing metadata that carries an
// expected-version failure's actual version. Shared by the unary calls and
// the streaming sessions.
#pragma once

#include <grpcpp/server_context.h>

#include "engine/api/engine.h"
#include "frontends/grpc/grpc_server.h"
#include "redcar/v1/events.pb.h"

namespace redcar::grpcfe {

inline constexpr size_t kMaxGroupNameBytes = 255;
inline constexpr const char* kActualVersionKey = "redcar-actual-version";

struct AppendCall {
  std::string stream;
  std::vector<EventData> events;
  AppendOptions options;
};

// INVALID_ARGUMENT, saying so, when `m` is larger than max_request_bytes.
grpc::Status check_size(const google::protobuf::Message& m, const GrpcOptions& opt);

// Moves the events' strings out of `in` (see decode_cloudevent).
grpc::Status decode_append(::redcar::v1::AppendRequest& in, const GrpcOptions& opt, AppendCall* out);
void encode_append(const std::string& stream, const AppendResult& r, ::redcar::v1::AppendResponse* out);

// The status an append failure becomes, with the actual version in the
// trailing metadata when the expected version did not match.
grpc::Status append_failure(const Status& s, grpc::CallbackServerContext* call);

grpc::Status check_position(const ::redcar::v1::Position& p);
SubscribeOptions subscribe_options(const ::redcar::v1::Position& p);

// Where a group made at `p` starts: the ID it has delivered up to ("$" for
// the end) and how many events that is, found by reading the stream.
// kOutOfRange for a number past the stream's next one.
struct GroupStart {
  StreamId last;
  std::optional<uint64_t> entries_read;
};
void group_start(Engine& engine, const std::string& stream, const ::redcar::v1::Position& p,
                 Callback<GroupStart> cb);

}  // namespace redcar::grpcfe
