#include "frontends/grpc/etcd_maintenance_service.h"

#include "frontends/grpc/etcd_convert.h"

namespace redcar::grpcfe::etcd {

grpc::ServerUnaryReactor* MaintenanceService::Status(grpc::CallbackServerContext* call, const pb::StatusRequest*,
                                                     pb::StatusResponse* resp) {
  auto* r = call->DefaultReactor();
  ctx_.engine.kv_status([this, r, resp](Result<KvStatus> kv) {
    if (!kv) return r->Finish(to_grpc(kv.status()));
    int64_t rev = kv->revision;
    ctx_.engine.storage_stats([this, r, resp, rev](Result<StorageStats> st) {
      if (!st) return r->Finish(to_grpc(st.status()));
      fill_header(ctx_.options, rev, resp->mutable_header());
      resp->set_version(kEtcdApiVersion);
      resp->set_dbsize(static_cast<int64_t>(st->allocated_bytes));
      resp->set_dbsizeinuse(static_cast<int64_t>(st->used_bytes));
      resp->set_leader(ctx_.options.member_id);
      resp->set_raftindex(static_cast<uint64_t>(rev));
      resp->set_raftappliedindex(static_cast<uint64_t>(rev));
      resp->set_raftterm(1);
      r->Finish(grpc::Status::OK);
    });
  });
  return r;
}

grpc::ServerUnaryReactor* MaintenanceService::Alarm(grpc::CallbackServerContext* call, const pb::AlarmRequest* req,
                                                    pb::AlarmResponse* resp) {
  auto* r = call->DefaultReactor();
  if (req->action() != pb::AlarmRequest::GET) {
    r->Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "redcar raises no alarms to activate or deactivate"));
    return r;
  }
  // A full disk refuses appends with RESOURCE_EXHAUSTED on each call rather
  // than as a standing alarm: there is none to list.
  ctx_.engine.kv_status([this, r, resp](Result<KvStatus> kv) {
    if (!kv) return r->Finish(to_grpc(kv.status()));
    fill_header(ctx_.options, kv->revision, resp->mutable_header());
    r->Finish(grpc::Status::OK);
  });
  return r;
}

grpc::ServerUnaryReactor* ClusterService::MemberList(grpc::CallbackServerContext* call, const pb::MemberListRequest*,
                                                     pb::MemberListResponse* resp) {
  auto* r = call->DefaultReactor();
  ctx_.engine.kv_status([this, r, resp](Result<KvStatus> kv) {
    if (!kv) return r->Finish(to_grpc(kv.status()));
    fill_header(ctx_.options, kv->revision, resp->mutable_header());
    auto* m = resp->add_members();
    m->set_id(ctx_.options.member_id);
    m->set_name("redcar");
    if (!ctx_.options.advertise_url.empty()) {
      m->add_clienturls(ctx_.options.advertise_url);
      m->add_peerurls(ctx_.options.advertise_url);
    }
    r->Finish(grpc::Status::OK);
  });
  return r;
}

}  // namespace redcar::grpcfe::etcd
