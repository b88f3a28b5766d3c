// The native API's server-streaming reads. Read pages through a range of one
// stream, a page written before the next is read. Subscribe follows one
// stream, a prefix or every stream: the engine delivers a batch, it is
// written, and only then is the next asked for, so a slow reader costs one
// batch of memory; past that the engine reads back from the log. Messages
// are kept under kMaxMessageBytes (an event larger than that goes alone),
// so a client with grpc's default 4 MiB receive limit can read anything
// that limit allows.
#pragma once

#include "frontends/grpc/grpc_server.h"
#include "redcar/v1/events.grpc.pb.h"

namespace redcar::grpcfe {

class EncodedEvents;

inline constexpr size_t kMaxMessageBytes = 1u << 20;

// Both are served raw (serialized messages). Read's pages are written
// straight from the log's bytes; Subscribe's responses are assembled from
// encodings shared between subscribers (encoded_events.h), one cache per
// shard, each used on its shard's thread.
grpc::ServerWriteReactor<grpc::ByteBuffer>* start_read(ServiceContext& ctx, grpc::CallbackServerContext* call,
                                                       const grpc::ByteBuffer* raw);
grpc::ServerWriteReactor<grpc::ByteBuffer>* start_subscribe(ServiceContext& ctx,
                                                            std::vector<std::unique_ptr<EncodedEvents>>& encoded,
                                                            grpc::CallbackServerContext* call, const grpc::ByteBuffer* raw);

}  // namespace redcar::grpcfe
