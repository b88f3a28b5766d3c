// redcar.v1.Events, the native event API (proto/redcar/v1/events.proto).
// The unary calls are here; the streaming ones are sessions of their own:
// AppendStream (append_stream.h), Read and Subscribe (event_readers.h),
// Consume (consume_session.h).
#pragma once

#include "frontends/grpc/grpc_server.h"
#include "redcar/v1/events.grpc.pb.h"

namespace redcar::grpcfe {

class ConsumerRegistry;

class EncodedEvents;

// Read and Subscribe are raw methods (see event_readers.h); the others are typed.
class EventService final : public ::redcar::v1::Events::WithRawCallbackMethod_Read<
                               ::redcar::v1::Events::WithRawCallbackMethod_Subscribe<::redcar::v1::Events::CallbackService>> {
 public:
  explicit EventService(ServiceContext& ctx);
  ~EventService() override;

  grpc::ServerUnaryReactor* Append(grpc::CallbackServerContext* call, const ::redcar::v1::AppendRequest* req,
                                   ::redcar::v1::AppendResponse* resp) override;
  grpc::ServerReadReactor<::redcar::v1::AppendRequest>* AppendStream(
      grpc::CallbackServerContext* call, ::redcar::v1::AppendStreamResponse* resp) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* Read(grpc::CallbackServerContext* call,
                                                   const grpc::ByteBuffer* req) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* Subscribe(grpc::CallbackServerContext* call,
                                                        const grpc::ByteBuffer* req) override;
  grpc::ServerUnaryReactor* ListStreams(grpc::CallbackServerContext* call, const ::redcar::v1::ListStreamsRequest* req,
                                        ::redcar::v1::ListStreamsResponse* resp) override;
  grpc::ServerUnaryReactor* DescribeStream(grpc::CallbackServerContext* call,
                                           const ::redcar::v1::DescribeStreamRequest* req,
                                           ::redcar::v1::DescribeStreamResponse* resp) override;
  grpc::ServerUnaryReactor* Trim(grpc::CallbackServerContext* call, const ::redcar::v1::TrimRequest* req,
                                 ::redcar::v1::TrimResponse* resp) override;
  grpc::ServerUnaryReactor* DeleteStream(grpc::CallbackServerContext* call,
                                         const ::redcar::v1::DeleteStreamRequest* req,
                                         ::redcar::v1::DeleteStreamResponse* resp) override;
  grpc::ServerUnaryReactor* CreateGroup(grpc::CallbackServerContext* call, const ::redcar::v1::CreateGroupRequest* req,
                                        ::redcar::v1::CreateGroupResponse* resp) override;
  grpc::ServerUnaryReactor* DeleteGroup(grpc::CallbackServerContext* call, const ::redcar::v1::DeleteGroupRequest* req,
                                        ::redcar::v1::DeleteGroupResponse* resp) override;
  grpc::ServerBidiReactor<::redcar::v1::ConsumeRequest, ::redcar::v1::ConsumeResponse>* Consume(
      grpc::CallbackServerContext* call) override;

 private:
  ServiceContext& ctx_;
  std::shared_ptr<ConsumerRegistry> consumers_;
  std::vector<std::unique_ptr<EncodedEvents>> encoded_;  // one per shard
};

}  // namespace redcar::grpcfe
