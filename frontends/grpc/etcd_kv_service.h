// etcdserverpb.KV: Range, Put, DeleteRange, Txn and Compact over the
// engine's key-value view (which lives on one shard). Each call runs as one
// engine transaction and is answered from its completion, on the shard's
// thread; puts and deletes are answered once durable.
#pragma once

#include "etcd/etcdserverpb/rpc.grpc.pb.h"
#include "frontends/grpc/grpc_server.h"

namespace redcar::grpcfe::etcd {

class KvService final : public ::etcdserverpb::KV::CallbackService {
 public:
  explicit KvService(ServiceContext& ctx) : ctx_(ctx) {}

  grpc::ServerUnaryReactor* Range(grpc::CallbackServerContext* call, const ::etcdserverpb::RangeRequest* req,
                                  ::etcdserverpb::RangeResponse* resp) override;
  grpc::ServerUnaryReactor* Put(grpc::CallbackServerContext* call, const ::etcdserverpb::PutRequest* req,
                                ::etcdserverpb::PutResponse* resp) override;
  grpc::ServerUnaryReactor* DeleteRange(grpc::CallbackServerContext* call,
                                        const ::etcdserverpb::DeleteRangeRequest* req,
                                        ::etcdserverpb::DeleteRangeResponse* resp) override;
  grpc::ServerUnaryReactor* Txn(grpc::CallbackServerContext* call, const ::etcdserverpb::TxnRequest* req,
                                ::etcdserverpb::TxnResponse* resp) override;
  grpc::ServerUnaryReactor* Compact(grpc::CallbackServerContext* call, const ::etcdserverpb::CompactionRequest* req,
                                    ::etcdserverpb::CompactionResponse* resp) override;

 private:
  ServiceContext& ctx_;
};

}  // namespace redcar::grpcfe::etcd
