// etcdserverpb.Maintenance (Status, and Alarm's GET) and Cluster
// (MemberList): what etcdctl's `endpoint status`, `alarm list` and `member
// list` ask. redcar is a cluster of one: it is its own leader, its raft
// index is the key-value revision, and its database size is the log's.
// The other methods of both services answer UNIMPLEMENTED.
#pragma once

#include "etcd/etcdserverpb/rpc.grpc.pb.h"
#include "frontends/grpc/grpc_server.h"

namespace redcar::grpcfe::etcd {

// The etcd API version redcar speaks, as Status reports it.
inline constexpr const char* kEtcdApiVersion = "3.4.0";

class MaintenanceService final : public ::etcdserverpb::Maintenance::CallbackService {
 public:
  explicit MaintenanceService(ServiceContext& ctx) : ctx_(ctx) {}
  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* call, const ::etcdserverpb::StatusRequest* req,
                                   ::etcdserverpb::StatusResponse* resp) override;
  grpc::ServerUnaryReactor* Alarm(grpc::CallbackServerContext* call, const ::etcdserverpb::AlarmRequest* req,
                                  ::etcdserverpb::AlarmResponse* resp) override;

 private:
  ServiceContext& ctx_;
};

class ClusterService final : public ::etcdserverpb::Cluster::CallbackService {
 public:
  explicit ClusterService(ServiceContext& ctx) : ctx_(ctx) {}
  grpc::ServerUnaryReactor* MemberList(grpc::CallbackServerContext* call, const ::etcdserverpb::MemberListRequest* req,
                                       ::etcdserverpb::MemberListResponse* resp) override;

 private:
  ServiceContext& ctx_;
};

}  // namespace redcar::grpcfe::etcd
